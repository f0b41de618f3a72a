"""The data: finding the datasets' files, reading and checking them, MNIST, Fashion-MNIST,
CIFAR-10, and the paper's distortions. It knows the engine's preprocessing, and no training.

    >>> from lenet import data
    >>> (x_train, y_train), (x_test, y_test) = data.load_mnist()    # doctest: +SKIP
    >>> x = data.preprocess(x_train, "paper")     # doctest: +SKIP

``x`` is then (60000, 1, 32, 32), from -0.1 to 1.175 (Section III.A). One module per concept:

* ``settings``: what may be changed (mirrors, checksums, counts, folders, limits), read at
  call time;
* ``files``: the folders searched, in order, the messages when files are missing, the errors;
* ``idx``: gzip and IDX reading and checking, and the digests;
* ``download``: fetching a missing file from the mirrors (loaded only when one is needed);
* ``mnist``: MNIST and Fashion-MNIST; ``cifar``: CIFAR-10;
* ``distortions``: Section III.C's random planar affine maps, ``DistortedCopies``.

Every file is validated before use, wherever it came from; a bad one raises ``DatasetError``
naming the file and the problem, never a crash and never a partial load. Missing files raise
``DatasetNotFoundError``, which lists what is missing, every folder searched and every download
attempt.
"""

from ..engine.inputs import PREPROCESSING, Preprocessed, preprocess
from .cifar import load_cifar10
from .distortions import (
    DISTORTION_RANGES,
    DistortedCopies,
    affine_transform,
    distort,
    distort_by,
    distortion_ranges,
)
from .files import DatasetError, DatasetNotFoundError, data_dirs
from .idx import read_idx
from .mnist import load_fashion_mnist, load_mnist

__all__ = [
    "DISTORTION_RANGES",
    "PREPROCESSING",
    "DatasetError",
    "DatasetNotFoundError",
    "DistortedCopies",
    "Preprocessed",
    "affine_transform",
    "data_dirs",
    "distort",
    "distort_by",
    "distortion_ranges",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist",
    "preprocess",
    "read_idx",
]
