"""lenet.data.mnist: the checks on a whole set (shapes, labels, counts), a corrupt file as an
error and never a fallback, and the real MNIST (from ``../shared/datasets/mnist``, skipped
when absent) and Fashion-MNIST (from Debian's ``/usr/share/datasets/fashion-mnist``, skipped
when absent).

Nothing here reaches the network (the ``dataset_sandbox`` fixture of ``tests/dataset_files.py``
empties the mirror lists and the user cache): a test that downloads starts its own HTTP server
on 127.0.0.1 (``mirror_server``) and points the mirrors at it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from lenet.data import DatasetError, load_fashion_mnist, load_mnist, settings

from conftest import DATASETS as SHARED
from conftest import HAVE_MNIST, MNIST_SKIP_REASON
from conftest import MNIST as REAL_MNIST
from dataset_files import (
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    cache,
    tiny_set,
    use_tiny,
    write_set,
)

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")

pytestmark = pytest.mark.usefixtures("dataset_sandbox")


@pytest.mark.parametrize(
    "case, culprit, words",
    [
        ("label-10", TRAIN_LABELS, "label 10"),
        ("label-255", TEST_LABELS, "label 255"),
        ("more-labels", TRAIN_IMAGES, "labels"),
        ("fewer-test-images", TEST_IMAGES, "labels"),
        ("images-27x28", TRAIN_IMAGES, "28 x 28"),
        ("labels-2d", TEST_LABELS, "1-dimensional"),
        ("labels-in-images-file", TRAIN_IMAGES, "28 x 28"),
        ("int16-images", TEST_IMAGES, "uint8"),
        ("count-differs-from-dataset", TRAIN_IMAGES, "train set has 7"),
    ],
)
def test_dataset_level_checks(tmp_path, monkeypatch, case, culprit, words):
    a = tiny_set(0)
    if case == "label-10":
        a[TRAIN_LABELS][3] = 10
    elif case == "label-255":
        a[TEST_LABELS][0] = 255
    elif case == "more-labels":
        a[TRAIN_LABELS] = np.zeros(7, np.uint8)
    elif case == "fewer-test-images":
        a[TEST_IMAGES] = a[TEST_IMAGES][:3]
    elif case == "images-27x28":
        a[TRAIN_IMAGES] = a[TRAIN_IMAGES][:, :27]
    elif case == "labels-2d":
        a[TEST_LABELS] = a[TEST_LABELS].reshape(2, 2)
    elif case == "labels-in-images-file":
        a[TRAIN_IMAGES] = a[TRAIN_LABELS]
    elif case == "int16-images":
        a[TEST_IMAGES] = a[TEST_IMAGES].astype(np.int16)
    use_tiny(monkeypatch, a, checksums=False)
    if case == "count-differs-from-dataset":
        monkeypatch.setitem(settings.EXPECTED_COUNTS, "mnist", {"train": 7, "test": 4})
    else:
        monkeypatch.setitem(settings.EXPECTED_COUNTS, "mnist", {"train": None, "test": None})
    paths = write_set(tmp_path, a)
    with pytest.raises(DatasetError) as info:
        load_mnist(tmp_path, download=False)
    assert str(paths[culprit]) in str(info.value) and words in str(info.value)


def test_a_corrupt_file_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    good = tiny_set(0)
    use_tiny(monkeypatch, good)
    write_set(cache(), good)
    paths = write_set(tmp_path, good)
    paths[TRAIN_LABELS].write_bytes(paths[TRAIN_LABELS].read_bytes()[:-3])
    with pytest.raises(DatasetError, match=re.escape(str(paths[TRAIN_LABELS]))):
        load_mnist(tmp_path, download=False)


# ------------------------------------------------------------------------------------------
# The real MNIST and Fashion-MNIST
# ------------------------------------------------------------------------------------------

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def real_mnist():
    if not HAVE_MNIST:
        pytest.skip(MNIST_SKIP_REASON)
    return load_mnist(REAL_MNIST, download=False)


def test_real_mnist(real_mnist):
    (x, y), (xt, yt) = real_mnist
    assert x.shape == (60_000, 28, 28) and xt.shape == (10_000, 28, 28)
    assert y.shape == (60_000,) and yt.shape == (10_000,)
    assert x.dtype == y.dtype == xt.dtype == yt.dtype == np.uint8
    assert np.bincount(y, minlength=10).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(yt, minlength=10).tolist() == MNIST_TEST_COUNTS
    assert x.min() == 0 and x.max() == 255
    assert 33.30 < float(x.mean()) < 33.34  # the well-known 0.1307 * 255


def test_real_mnist_via_lenet_data(real_mnist, monkeypatch):
    monkeypatch.setenv("LENET_DATA", str(SHARED))
    (x, y), (xt, yt) = load_mnist(download=False)
    assert np.array_equal(x, real_mnist[0][0]) and np.array_equal(yt, real_mnist[1][1])


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_from_debian(monkeypatch):
    monkeypatch.setitem(settings.SYSTEM_DIRS, "fashion-mnist", [DEBIAN_FASHION])
    (x, y), (xt, yt) = load_fashion_mnist(download=False)
    assert x.shape == (60_000, 28, 28) and xt.shape == (10_000, 28, 28)
    assert x.dtype == yt.dtype == np.uint8
    assert np.bincount(y, minlength=10).tolist() == [6000] * 10
    assert np.bincount(yt, minlength=10).tolist() == [1000] * 10
