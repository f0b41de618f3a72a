"""The data: finding the datasets' files, reading and checking them (IDX, CIFAR-10), MNIST,
and the paper's distortions. It knows the engine's preprocessing, and no training.
"""

from ..engine.inputs import PREPROCESSING, Preprocessed, preprocess
from .datasets import (
    DISTORTION_RANGES,
    DatasetError,
    DatasetNotFoundError,
    DistortedCopies,
    affine_transform,
    data_dirs,
    distort,
    distort_by,
    distortion_ranges,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
    read_idx,
)

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
