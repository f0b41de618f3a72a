"""Network input from pixels: the preprocessing schemes, one owner for Python and the C core.

``preprocess(images, scheme)`` turns uint8 images into float network input: ``"paper"``
(Section III.A: 28x28 padded to 32x32, background -0.1, ink 1.175), ``"raw"`` (0..255) or
``"unit"`` (0..1), ``"raw-32"`` (0..255 padded to 32x32, the paper's network on raw pixels),
and for the other networks of Figure 9 ``"paper-28"`` (the paper's scaling, not padded) and
``"lenet1"`` (LeNet-1's digits, down-sampled to 16x16 and centred in 28x28);
``Preprocessed(images, scheme)`` gives the same values a batch at a time,
keeping only the pixels (a quarter of the memory of float32 input). The fused path reads a
``Preprocessed`` set's pixels and its table (``lut``) directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ..paper import LENET1_DIGIT_SIZE

__all__ = ["PREPROCESSING", "Preprocessed", "preprocess", "shrink_digits"]

#: each scheme -> (its scaling of pixel p: "paper" -0.1 + 1.275 p / 255, "raw" p, "unit"
#: p / 255; whether 28x28 digits are padded to 32x32)
SCHEMES: dict[str, tuple[str, bool]] = {
    "paper": ("paper", True),
    "raw": ("raw", False),
    "unit": ("unit", False),
    "paper-28": ("paper", False),
    "lenet1": ("paper", False),
    "raw-32": ("raw", True),
}
PREPROCESSING = tuple(SCHEMES)
#: the schemes with the paper's scaling (background -0.1, ink 1.175)
PAPER_SCALED = tuple(name for name, (scaling, _) in SCHEMES.items() if scaling == "paper")

#: LeNet-1's digits are 16 pixels where MNIST's are 20 (Section III.C.7)
_LENET1_SCALE = LENET1_DIGIT_SIZE / 20


def preprocess(
    images: np.ndarray, scheme: str = "paper", dtype: DTypeLike = np.float32
) -> np.ndarray:
    """uint8 images -> float network input of shape (N, C, H', W').

    ``images``: uint8 (N, H, W) (grayscale, becomes C = 1) or (N, C, H, W); other dtypes raise
    ``TypeError`` (convert first, e.g. ``np.asarray(x, np.uint8)``). ``dtype``: float32
    (default) or float64. ``scheme`` (one of ``PREPROCESSING``):

    * ``"paper"`` (Section III.A): pixel p -> -0.1 + 1.275 p / 255, so background 0 is -0.1 and
      ink 255 is 1.175; 28x28 images are padded to 32x32 with 2 background pixels (-0.1) on
      each side; other sizes (32x32 CIFAR) are not padded. The paper aims at a mean input of
      roughly 0 and a variance of roughly 1; on MNIST's training set the result has mean 0.028
      and standard deviation 0.35.
    * ``"raw"``: p as a float, 0..255, no padding.
    * ``"unit"``: p / 255, 0..1, no padding.
    * ``"raw-32"``: p as a float, 28x28 images padded to 32x32 with 2 background pixels (0)
      on each side: the paper's 32x32 input on raw pixels (the road from 1998 to today).
    * ``"paper-28"``: the paper's scaling, no padding (the fully connected nets' 28x28 input).
    * ``"lenet1"``: the paper's scaling of the digit shrunk by 16/20 about the image's centre
      (``shrink_digits``): MNIST's 20x20 digits become LeNet-1's 16x16, centred in 28x28.

    ``Preprocessed(images, scheme, dtype)`` gives the same values without making them all at
    once: a training set held that way takes a quarter of the memory.
    """
    return np.asarray(Preprocessed(images, scheme, dtype))


class Preprocessed:
    """uint8 images that become network input as they are read: the values of
    ``preprocess(pixels, scheme, dtype)``, made a batch at a time.

    A training set held this way keeps its pixels (MNIST's 60,000 images: 47 MB) instead of
    their float32 input (246 MB). ``lenet.train`` takes it in place of an array; its fused path
    reads the pixels and scales and pads each image as it gathers a batch, through the same
    table of 256 values (``lut``), so the numbers are the same bits as those of
    ``preprocess``. Indexing with a slice gives another ``Preprocessed`` (no copy); with an
    integer or an array of indices, those images as float input (N, C, H', W');
    ``np.asarray`` gives all of them.

    >>> x = Preprocessed(np.zeros((5, 28, 28), np.uint8))
    >>> x.shape, x[:2].shape, x[[0, 3]].shape, float(x[0].max())
    ((5, 1, 32, 32), (2, 1, 32, 32), (2, 1, 32, 32), -0.1)
    """

    def __init__(
        self,
        images: np.ndarray,
        scheme: str = "paper",
        dtype: DTypeLike = np.float32,
        *,
        shrunk: bool = False,
    ) -> None:
        # shrunk: the pixels of a "lenet1" set are already LeNet-1's (a slice of one, a copy)
        if scheme not in PREPROCESSING:
            raise ValueError(
                f"unknown preprocessing scheme={scheme!r}; choose one of {', '.join(PREPROCESSING)}"
            )
        dt = np.dtype(dtype)
        if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"dtype must be float32 or float64, not {dt}")
        images = np.asarray(images)
        if images.dtype != np.uint8:
            raise TypeError(
                f"images must be uint8 (0..255), not {images.dtype}; convert them first"
            )
        if images.ndim == 3:
            images = images[:, None]
        elif images.ndim != 4:
            raise ValueError(f"images must be (N, H, W) or (N, C, H, W), not shape {images.shape}")
        if scheme == "lenet1" and not shrunk:
            images = shrink_digits(images)
        #: the pixels the input is made of (for "lenet1", the shrunk digits)
        self.pixels: np.ndarray = np.ascontiguousarray(images)
        self.scheme, self.dtype = scheme, dt
        p = np.arange(256, dtype=np.float64)
        scaling, padded = SCHEMES[scheme]
        if scaling == "raw":
            values = p
        elif scaling == "unit":
            values = p / 255.0
        else:  # -0.1 + 1.275 p / 255 as one exact fraction, so each value is correctly rounded
            values = (1275.0 * p - 25500.0) / 255000.0  # (background exactly -0.1, ink 1.175)
        #: the input value of each pixel value 0..255; padding takes lut[0], the background's
        self.lut: np.ndarray = values.astype(dt)
        #: background pixels added on each side (the paper's 28x28 -> 32x32)
        self.pad = 2 if padded and images.shape[2:] == (28, 28) else 0

    @property
    def shape(self) -> tuple[int, int, int, int]:
        n, c, h, w = self.pixels.shape
        return (n, c, h + 2 * self.pad, w + 2 * self.pad)

    @property
    def ndim(self) -> int:
        return 4

    @property
    def nbytes(self) -> int:
        return self.pixels.nbytes

    def __len__(self) -> int:
        return len(self.pixels)

    def __repr__(self) -> str:
        return (
            f"Preprocessed({len(self)} images {self.shape[1:]}, scheme={self.scheme!r}, "
            f"dtype={self.dtype.name})"
        )

    def astype(self, dtype: DTypeLike) -> Preprocessed:
        """The same images, as input of another float dtype (no copy of the pixels)."""
        return Preprocessed(self.pixels, self.scheme, dtype, shrunk=True)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return Preprocessed(self.pixels[index], self.scheme, self.dtype, shrunk=True)
        picked = self.pixels[index]
        if picked.ndim == 3:  # one image
            return self._values(picked[None])[0]
        if picked.ndim != 4:
            raise IndexError(f"index images by a slice, an integer or indices, not {index!r}")
        return self._values(picked)

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        out = self._values(self.pixels)
        return out if dtype is None else out.astype(dtype, copy=False)

    def _values(self, pixels: np.ndarray) -> np.ndarray:
        n, c, h, w = pixels.shape
        pad = self.pad
        out = np.empty((n, c, h + 2 * pad, w + 2 * pad), self.dtype)
        if pad:
            out[...] = self.lut[0]
        # a chunk at a time: no float temporary as large as the whole set
        for lo in range(0, n, 4096):
            out[lo : lo + 4096, :, pad : pad + h, pad : pad + w] = self.lut[pixels[lo : lo + 4096]]
        return out


def _shrink_matrix(size: int, scale: float) -> np.ndarray:
    """(size, size): row i averages the source pixels under output pixel i of an image
    shrunk by ``scale`` about its centre, each weighted by the length it covers (area
    averaging, applied along rows and then columns)."""
    centre = size / 2
    matrix = np.zeros((size, size))
    for i in range(size):
        lo, hi = (i - centre) / scale + centre, (i + 1 - centre) / scale + centre
        for k in range(max(0, int(np.floor(lo))), min(size, int(np.ceil(hi)))):
            matrix[i, k] = max(0.0, min(hi, k + 1) - max(lo, k))
        matrix[i] /= hi - lo  # source pixels outside the image count as background
    return matrix


def shrink_digits(images: np.ndarray) -> np.ndarray:
    """uint8 (N, C, 28, 28) MNIST digits -> LeNet-1's: each image shrunk by 16/20 about its
    centre by area averaging, rounded to uint8 (MNIST's digit, 20 pixels in a 28x28 field,
    becomes 16 pixels in the same field, still centred). Other sizes raise ValueError."""
    if images.shape[2:] != (28, 28):
        raise ValueError(
            f"LeNet-1's preprocessing takes 28x28 MNIST digits, got images of "
            f"{images.shape[2]}x{images.shape[3]}"
        )
    r = _shrink_matrix(28, _LENET1_SCALE)
    out = np.empty_like(images)
    for lo in range(0, len(images), 4096):  # float64 a chunk at a time
        x = images[lo : lo + 4096].astype(np.float64)
        out[lo : lo + 4096] = np.rint(r @ x @ r.T).clip(0, 255)
    return out
