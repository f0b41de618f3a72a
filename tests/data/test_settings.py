"""lenet.data.settings: the defaults are the real datasets' (counts, checksums, the published
MD5, mirrors, Debian's folder), and each setting has this one owner, which every loader reads
at call time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lenet.data import cifar, download, files, idx, mnist, settings

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
DEFAULT_SYSTEM_DIRS = {k: list(v) for k, v in settings.SYSTEM_DIRS.items()}  # before any patching


def test_default_system_folder_for_fashion_mnist():
    assert DEFAULT_SYSTEM_DIRS == {"fashion-mnist": [DEBIAN_FASHION]}


def test_real_counts_are_the_defaults():
    assert settings.EXPECTED_COUNTS["mnist"] == {"train": 60_000, "test": 10_000}
    assert settings.EXPECTED_COUNTS["fashion-mnist"] == {"train": 60_000, "test": 10_000}
    assert settings.CIFAR10_RECORDS_PER_FILE == 10_000
    assert all(
        len(s) == 64 for n in ("mnist", "fashion-mnist") for s in settings.SHA256[n].values()
    )


def test_cifar_published_md5_and_url():
    assert settings.MD5["cifar-10"]["cifar-10-binary.tar.gz"] == "c32a1d4ab5d03f1284b67883e8d87530"


def test_the_checksums_name_the_files_the_loaders_read():
    for name in ("mnist", "fashion-mnist"):
        assert sorted(settings.SHA256[name]) == sorted(mnist.IDX_FILES)
    assert list(settings.MD5["cifar-10"]) == [cifar.CIFAR10_ARCHIVE]
    assert sorted(settings.MIRRORS) == sorted(files.NAMES)


@pytest.mark.parametrize(
    "name", ["MIRRORS", "SHA256", "MD5", "EXPECTED_COUNTS", "SYSTEM_DIRS", "TIMEOUT"]
)
def test_each_setting_has_one_owner(name):
    """The settings live in lenet.data.settings alone: no module keeps a copy that a change
    to the settings would miss."""
    for module in (files, idx, mnist, cifar, download):
        assert not hasattr(module, name), (module.__name__, name)
