"""Downloads: a missing file fetched from the first mirror that gives good content.

With ``download=True`` (the default) and no ``root``, the loaders fetch missing files into the
user cache folder from the mirrors in ``settings.MIRRORS[name]``, tried in order, with a
progress bar on stderr (``tqdm``; hidden when stderr is not a terminal). Each download goes to
a temporary file in the cache folder and is moved into place (``os.replace``) only after its
check passed: the SHA-256 of the *decompressed* bytes for the IDX files (``settings.SHA256``:
so recompressed copies are accepted), the publisher's MD5 of the archive for CIFAR-10
(``settings.MD5``; the only sum published for it). Each network operation times out after
``settings.TIMEOUT`` seconds and a whole download after ``settings.MAX_DOWNLOAD_SECONDS``, and
no download may exceed ``settings.MAX_DOWNLOAD_BYTES``. When every mirror fails,
``DatasetNotFoundError`` lists every attempt and why it failed.

The loaders import this module only when a download happens, so that ``import lenet`` does not
load ``urllib.request`` and ``http.client``.
"""

from __future__ import annotations

import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._version import __version__
from . import settings
from .files import DatasetError


class _Rejected(Exception):
    """A downloaded file failed its check (internal)."""


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int | None, desc: str) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # progress bars are a nicety
        return _NoBar()
    return tqdm(
        total=total,
        desc=desc,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        disable=None,
        leave=False,
    )


def _fetch(url: str, out: Any, desc: str) -> None:
    """Stream ``url`` into the open binary file ``out``."""
    request = urllib.request.Request(url, headers={"User-Agent": f"lenet/{__version__}"})
    start = time.monotonic()
    limit, max_seconds = settings.MAX_DOWNLOAD_BYTES, settings.MAX_DOWNLOAD_SECONDS
    with urllib.request.urlopen(request, timeout=settings.TIMEOUT) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.strip().isdigit() else None
        if total is not None and total > limit:
            raise _Rejected(f"announces {total} bytes, more than the limit {limit}")
        bar = _progress(total, desc)
        try:
            got = 0
            while chunk := response.read(1 << 16):
                got += len(chunk)
                if got > limit:
                    raise _Rejected(f"more than {limit} bytes")
                if time.monotonic() - start > max_seconds:
                    raise TimeoutError(f"download took more than {max_seconds} s")
                out.write(chunk)
                bar.update(len(chunk))
        finally:
            bar.close()
        if total is not None and got != total:
            raise _Rejected(f"incomplete: {got} of {total} bytes")


def _describe_error(e: BaseException) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP error {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        return f"cannot connect ({e.reason})"
    if isinstance(e, OSError) and "timed out" in str(e).lower():
        return f"timed out after {settings.TIMEOUT} s ({e})"
    return f"{type(e).__name__}: {e}" if not isinstance(e, _Rejected) else str(e)


def download_file(
    urls: Sequence[str],
    folder: Path,
    filename: str,
    verify: Callable[[Path], str],
    attempts: list[str],
) -> Path | None:
    """Fetch the first URL whose content passes ``verify``; return the file's final path.

    Each attempt writes a temporary file in ``folder``; ``verify(tmp)`` raises on bad content
    and returns the final file name, to which the temporary file is then renamed. Failures are
    appended to ``attempts``; the temporary file never survives.
    """
    if not urls:
        return None
    made = [f for f in (folder, *folder.parents) if not f.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        attempts.append(f"cannot create the cache folder {folder}: {e}")
        return None
    try:
        return _download_into(urls, folder, filename, verify, attempts)
    finally:
        for f in made:  # a failed download leaves no empty cache folder behind
            try:
                f.rmdir()
            except OSError:
                break


def _download_into(
    urls: Sequence[str],
    folder: Path,
    filename: str,
    verify: Callable[[Path], str],
    attempts: list[str],
) -> Path | None:
    for url in urls:
        tmp: Path | None = None
        try:
            fd, tmpname = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".part")
            tmp = Path(tmpname)
            with os.fdopen(fd, "wb") as out:
                _fetch(url, out, filename)
            final = folder / verify(tmp)
            os.replace(tmp, final)
            tmp = None
            return final
        except DatasetError as e:
            attempts.append(f"{url}: rejected: {str(e).split(': ', 1)[-1]}")
        except (
            _Rejected,
            urllib.error.URLError,
            OSError,
            ValueError,
            EOFError,
            http.client.HTTPException,
        ) as e:
            attempts.append(f"{url}: {_describe_error(e)}")
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
    return None
