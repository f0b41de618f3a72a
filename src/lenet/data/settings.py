"""What the data tier may be told: where to download from, what the files must hash to, how
many images each set holds, which system folders to search, and the limits on downloads and
files.

Every loader reads these at call time, through this module (``settings.SHA256[...]``), so a
change made here, or a test's monkeypatch, takes effect on the next call:

    >>> from lenet.data import settings
    >>> settings.MIRRORS["mnist"] = ["https://example.org/mnist/"]    # doctest: +SKIP

A checksum set to ``None`` (or absent) is not verified; a count set to ``None`` accepts any
positive count (the tests use both for small files).
"""

from __future__ import annotations

from pathlib import Path

#: Mirrors per dataset, tried in order; a file's URL is mirror + file name (+ ".gz" for IDX).
MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
    "cifar-10": [
        "https://www.cs.toronto.edu/~kriz/",
    ],
}

#: SHA-256 of the decompressed IDX files (so recompressed copies are accepted), by file name.
SHA256: dict[str, dict[str, str | None]] = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",  # noqa: E501
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",  # noqa: E501
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",  # noqa: E501
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",  # noqa: E501
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",  # noqa: E501
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",  # noqa: E501
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",  # noqa: E501
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",  # noqa: E501
    },
}

#: MD5 of the CIFAR-10 archive as published on https://www.cs.toronto.edu/~kriz/cifar.html
#: (the only sum published for it), by file name.
MD5: dict[str, dict[str, str | None]] = {
    "cifar-10": {"cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"},
}

#: Images per split; ``None`` accepts any positive count.
EXPECTED_COUNTS: dict[str, dict[str, int | None]] = {
    "mnist": {"train": 60_000, "test": 10_000},
    "fashion-mnist": {"train": 60_000, "test": 10_000},
}

#: Records in each CIFAR-10 ``.bin`` file; ``None`` accepts any positive count.
CIFAR10_RECORDS_PER_FILE: int | None = 10_000

#: Folders searched after the user cache (system-wide installations).
SYSTEM_DIRS: dict[str, list[Path]] = {
    "fashion-mnist": [Path("/usr/share/datasets/fashion-mnist")],
}

TIMEOUT = 60.0  # seconds per network operation (connect, each read)
MAX_DOWNLOAD_SECONDS = 3600.0  # a whole download
MAX_DOWNLOAD_BYTES = 512 * 2**20  # CIFAR-10's archive is 163 MiB
MAX_IDX_BYTES = 256 * 2**20  # decompressed; MNIST's largest file is 45 MiB
