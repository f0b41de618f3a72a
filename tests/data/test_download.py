"""lenet.data.download: missing files fetched from a local mirror, the fallback from mirror to
mirror, bad content refused, every failure reported, and nothing left behind.

Nothing here reaches the network (the ``dataset_sandbox`` fixture of ``tests/dataset_files.py``
empties the mirror lists and the user cache): a test that downloads starts its own HTTP server
on 127.0.0.1 (``mirror_server``) and points the mirrors at it.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lenet.data
from lenet.data import DatasetNotFoundError, load_mnist, settings

from dataset_files import (
    GOOD,
    IDX,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    assert_is_set,
    cache,
    cache_listing,
    closed_port_url,
    serve_set,
    tiny_set,
    use_tiny,
    write_set,
)

pytestmark = pytest.mark.usefixtures("dataset_sandbox")


def test_module_imports_without_tqdm():
    script = (
        "import sys; sys.modules['tqdm'] = None; import lenet.data.download as d; "
        "assert d._progress(10, 'x').__class__.__name__ == '_NoBar'; print('ok')"
    )
    src = str(Path(lenet.data.__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("with_tqdm", [True, False], ids=["tqdm", "no-tqdm"])
def test_download_falls_back_to_the_second_mirror(mirror_server, monkeypatch, with_tqdm):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    serve_set(mirror_server.www / "good", arrays)
    monkeypatch.setitem(
        settings.MIRRORS, "mnist", [mirror_server.url + "missing/", mirror_server.url + "good/"]
    )
    if not with_tqdm:
        monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm fails
    assert_is_set(load_mnist(), arrays)
    assert cache_listing() == sorted(b + ".gz" for b in IDX)
    assert sorted(mirror_server.requests) == sorted(
        [f"/missing/{b}.gz" for b in IDX] + [f"/good/{b}.gz" for b in IDX]
    )
    # second load: from the cache, no more requests, even with download=True
    mirror_server.requests.clear()
    assert_is_set(load_mnist(), arrays)
    assert mirror_server.requests == []


def test_download_fetches_only_missing_files(tmp_path, mirror_server, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    serve_set(mirror_server.www, arrays)
    write_set(tmp_path / "data" / "mnist", arrays, files=(TRAIN_IMAGES, TEST_LABELS))
    monkeypatch.setenv("LENET_DATA", str(tmp_path / "data"))
    monkeypatch.setitem(settings.MIRRORS, "mnist", [mirror_server.url])
    assert_is_set(load_mnist(), arrays)
    assert sorted(mirror_server.requests) == sorted([f"/{TRAIN_LABELS}.gz", f"/{TEST_IMAGES}.gz"])
    assert cache_listing() == sorted([TRAIN_LABELS + ".gz", TEST_IMAGES + ".gz"])


def test_download_of_uncompressed_content_is_stored_plain(mirror_server, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    serve_set(mirror_server.www, arrays, compress=False)
    monkeypatch.setitem(settings.MIRRORS, "mnist", [mirror_server.url])
    assert_is_set(load_mnist(), arrays)
    assert cache_listing() == sorted(IDX)


def test_download_rejects_bad_bytes_and_leaves_nothing(mirror_server, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    bad = {b: a.copy() for b, a in arrays.items()}
    bad[TRAIN_IMAGES][0, 0, 0] ^= 1  # one pixel differs
    serve_set(mirror_server.www / "bad", bad)
    serve_set(mirror_server.www / "good", arrays)
    monkeypatch.setitem(settings.MIRRORS, "mnist", [mirror_server.url + "bad/"])
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist()
    message = str(info.value)
    assert f"{mirror_server.url}bad/{TRAIN_IMAGES}.gz" in message and "SHA-256" in message
    assert info.value.attempts and len(info.value.attempts) == 1
    assert cache_listing() == []  # no partial file, no temporary file
    # bad mirror first, good second: the good files are used, nothing else remains
    monkeypatch.setitem(
        settings.MIRRORS, "mnist", [mirror_server.url + "bad/", mirror_server.url + "good/"]
    )
    assert_is_set(load_mnist(), arrays)
    assert cache_listing() == sorted(b + ".gz" for b in IDX)


def test_download_rejects_invalid_files_when_no_checksum_is_known(mirror_server, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays, checksums=False)
    (mirror_server.www / (TRAIN_IMAGES + ".gz")).write_bytes(gzip.compress(GOOD[:-5]))
    monkeypatch.setitem(settings.MIRRORS, "mnist", [mirror_server.url])
    with pytest.raises(DatasetNotFoundError, match="claims"):
        load_mnist()
    assert cache_listing() == []


def test_every_mirror_failing_lists_every_attempt(mirror_server, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    monkeypatch.setattr(settings, "TIMEOUT", 0.3)
    mirrors = [
        mirror_server.url + "missing/",
        closed_port_url(),
        mirror_server.url + "slow/",
        mirror_server.url + "short/",
        "ftp-nonsense://x/",
    ]
    monkeypatch.setitem(settings.MIRRORS, "mnist", mirrors)
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist()
    err = info.value
    message = str(err)
    assert len(err.attempts) == len(mirrors)
    for mirror, words in zip(
        mirrors, ["404", "cannot connect", "timed out", "incomplete", "unknown url type"]
    ):
        line = next(a for a in err.attempts if a.startswith(mirror))
        assert words in line.lower() and line in message
    assert err.missing == list(IDX)  # nothing could be fetched
    assert "download=False" not in message and "LENET_DATA" in message
    assert not cache().exists() and not cache().parent.exists()  # no empty cache folder left


def test_no_download_when_download_is_false(mirror_server, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    serve_set(mirror_server.www, arrays)
    monkeypatch.setitem(settings.MIRRORS, "mnist", [mirror_server.url])
    with pytest.raises(DatasetNotFoundError):
        load_mnist(download=False)
    assert mirror_server.requests == [] and cache_listing() == []


def test_download_reports_an_unwritable_cache(tmp_path, mirror_server, monkeypatch):
    arrays = tiny_set(0)
    use_tiny(monkeypatch, arrays)
    serve_set(mirror_server.www, arrays)
    monkeypatch.setitem(settings.MIRRORS, "mnist", [mirror_server.url])
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with pytest.raises(DatasetNotFoundError, match="cannot create the cache folder"):
        load_mnist()
