"""The paper's distortions (Section III.C): random planar affine maps of the training images.

``distort(images, rng)`` applies random planar affine maps (translation, scaling, squeezing,
horizontal shearing) as in the paper's 0.8 % experiment; ``distort_by(images, draws)`` the
maps that given draws choose; ``affine_transform`` one given map per image; and
``DistortedCopies`` the paper's enlarged training set, a fixed number of distorted copies of
each image. The images are float (N, C, H, W), preprocessed (``lenet.engine.inputs``).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import ArrayLike

_CHUNK_PIXELS = 1 << 16  # pixels warped per vectorised step (cache-sized temporaries)


def _per_image(value: ArrayLike, n: int, what: str) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        a = np.full(n, float(a))
    if a.shape != (n,):
        raise ValueError(f"{what} must be a scalar or have shape ({n},), not {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{what} must be finite")
    return a


def _float_images(images: ArrayLike) -> np.ndarray:
    """images as a float32/float64 (N, C, H, W) array, or a clear error."""
    images = np.asarray(images)
    if images.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(
            f"images must be float32 or float64 (preprocess them first), not {images.dtype}"
        )
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), not shape {images.shape}")
    return images


#: The half-ranges of ``distort``'s random affine maps (the paper gives none): translation in
#: pixels, scale and squeeze as fractions, horizontal shear as x-shift per y-pixel.
DISTORTION_RANGES = {"max_shift": 2.0, "max_scale": 0.15, "max_squeeze": 0.15, "max_shear": 0.3}


def affine_transform(
    images: np.ndarray,
    tx: ArrayLike = 0.0,
    ty: ArrayLike = 0.0,
    scale: ArrayLike = 1.0,
    squeeze: ArrayLike = 1.0,
    shear: ArrayLike = 0.0,
    background: ArrayLike | None = None,
) -> np.ndarray:
    """Warp each image of (N, C, H, W) float images by its own planar affine map.

    Every parameter is a scalar or an (N,) array. With coordinates centred on the image centre
    ((W-1)/2, (H-1)/2), x to the right and y downwards, the content at (x, y) moves to

        x' = scale * squeeze * (x + shear * y) + tx,    y' = scale * y / squeeze + ty

    (horizontal shear, then squeeze, then scale, then translation): tx = 1 moves the content
    one pixel to the right, ty = 1 one pixel down. The output is sampled by inverse mapping
    with bilinear interpolation; pixels whose source lies outside the image (in part) blend in
    ``background``: a scalar, an (N,) array, or ``None`` for each image's own minimum (-0.1
    for images preprocessed with the paper's scheme). Returns a new array of the same shape
    and dtype (float32 or float64); all channels of an image share its map.
    """
    images = _float_images(images)
    n, c, h, w = images.shape
    tx, ty = _per_image(tx, n, "tx"), _per_image(ty, n, "ty")
    scale, squeeze = _per_image(scale, n, "scale"), _per_image(squeeze, n, "squeeze")
    shear = _per_image(shear, n, "shear")
    if np.any(scale <= 0) or np.any(squeeze <= 0):
        raise ValueError("scale and squeeze must be positive")
    out = np.empty_like(images)
    if images.size == 0:
        return out
    if background is None:
        bg = images.reshape(n, -1).min(axis=1).astype(np.float64)
    else:
        bg = _per_image(background, n, "background")
    # Inverse map: source = A (target - centre - t) + centre, A = [[a, b], [0, d]].
    a = 1.0 / (scale * squeeze)
    b = -shear * squeeze / scale
    d = squeeze / scale
    step = max(1, _CHUNK_PIXELS // (c * h * w))
    for i in range(0, n, step):
        j = min(n, i + step)
        out[i:j] = _warp(images[i:j], a[i:j], b[i:j], d[i:j], tx[i:j], ty[i:j], bg[i:j])
    return out


def _warp(
    img: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    d: np.ndarray,
    tx: np.ndarray,
    ty: np.ndarray,
    bg: np.ndarray,
) -> np.ndarray:
    """Bilinear inverse-mapped warp of a chunk (m, C, H, W); coefficients are (m,) float64."""
    m, c, h, w = img.shape
    ft = img.dtype
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    col = (np.arange(w, dtype=np.float64) - cx)[None, None, :]  # (1, 1, W)
    row = (np.arange(h, dtype=np.float64) - cy)[None, :, None]  # (1, H, 1)
    u = (col - tx[:, None, None]).astype(ft)  # (m, 1, W)
    v = (row - ty[:, None, None]).astype(ft)  # (m, H, 1)
    xs = a[:, None, None].astype(ft) * u + b[:, None, None].astype(ft) * v + ft.type(cx)
    ys = d[:, None, None].astype(ft) * v + ft.type(cy)  # (m, H, 1)
    x0 = np.floor(xs)
    y0 = np.floor(ys)
    fx = (xs - x0)[:, None]  # (m, 1, H, W)
    fy = (ys - y0)[:, None]  # (m, 1, H, 1)
    # Indices into the image padded with one background pixel on each side; anything
    # further out is clipped onto that border, so it reads the background.
    wp = w + 2
    ix0 = np.clip(x0, -1, w).astype(np.intp) + 1
    ix1 = np.clip(x0 + 1, -1, w).astype(np.intp) + 1
    iy0 = (np.clip(y0, -1, h).astype(np.intp) + 1) * wp
    iy1 = (np.clip(y0 + 1, -1, h).astype(np.intp) + 1) * wp
    padded = np.empty((m, c, h + 2, wp), dtype=ft)
    padded[...] = bg.astype(ft)[:, None, None, None]
    padded[:, :, 1:-1, 1:-1] = img
    flat = padded.reshape(-1)
    base = (np.arange(m * c, dtype=np.intp) * ((h + 2) * wp)).reshape(m, c, 1, 1)

    def at(iy: np.ndarray, ix: np.ndarray) -> np.ndarray:
        return np.take(flat, base + (iy + ix)[:, None])

    v00, v01 = at(iy0, ix0), at(iy0, ix1)
    top = v00 + fx * (v01 - v00)
    v10, v11 = at(iy1, ix0), at(iy1, ix1)
    bottom = v10 + fx * (v11 - v10)
    return top + fy * (bottom - top)


def distort(
    images: np.ndarray,
    rng: np.random.Generator,
    *,
    max_shift: float = DISTORTION_RANGES["max_shift"],
    max_scale: float = DISTORTION_RANGES["max_scale"],
    max_squeeze: float = DISTORTION_RANGES["max_squeeze"],
    max_shear: float = DISTORTION_RANGES["max_shear"],
    background: ArrayLike | None = None,
) -> np.ndarray:
    """Random planar affine distortions of (N, C, H, W) float images (Section III.C).

    The paper enlarged the training set with distorted copies: "horizontal and vertical
    translation, scaling, squeezing (simultaneous horizontal compression and vertical
    elongation, or the reverse) and horizontal shearing", without giving ranges. Ours
    (``DISTORTION_RANGES``): each image gets its own map (``affine_transform``) about its
    centre with

    * translation tx, ty uniform in [-max_shift, max_shift] pixels,
    * scale uniform in [1 - max_scale, 1 + max_scale],
    * squeeze q uniform in [1 - max_squeeze, 1 + max_squeeze] (x *= q, y /= q),
    * horizontal shear uniform in [-max_shear, max_shear] (x += shear * y).

    The draws are ``u = rng.uniform(-1, 1, size=(N, 5))``, columns tx, ty, scale, squeeze, shear
    (each times its range; ``distort_by(images, u)`` applies given draws), so the same
    generator state gives the same output, and a range of 0 leaves that parameter at its
    identity value. Sampling is bilinear by inverse mapping; pixels from outside the image
    take ``background`` (default: each image's minimum, -0.1 for the paper's preprocessing).
    Returns a new array of the input's shape and dtype. Vectorised over the batch (in chunks
    of 65,536 pixels, 64 images of 32x32, which keeps the temporaries in cache).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"not {type(rng).__name__}"
        )
    ranges = _checked_ranges(max_shift, max_scale, max_squeeze, max_shear)
    images = _float_images(images)
    u = rng.uniform(-1.0, 1.0, size=(images.shape[0], 5))
    return _distorted_by(images, u, ranges, background)


def distort_by(
    images: np.ndarray,
    draws: np.ndarray,
    ranges: dict[str, float] = DISTORTION_RANGES,
    background: ArrayLike | None = None,
) -> np.ndarray:
    """The distortions of ``distort`` that the (N, 5) `draws` in [-1, 1] choose (columns tx,
    ty, scale, squeeze, shear, each times its range in `ranges`, keyed as
    ``DISTORTION_RANGES``): a fixed set of distorted copies is a fixed array of draws."""
    ranges = _checked_ranges(**ranges)
    images = _float_images(images)
    u = np.asarray(draws, dtype=np.float64)
    if u.shape != (images.shape[0], 5) or not np.all(np.abs(u) <= 1):
        raise ValueError(
            f"draws must be {images.shape[0]} rows of 5 numbers in [-1, 1] (one row per "
            f"image), got an array of shape {u.shape}"
        )
    return _distorted_by(images, u, ranges, background)


def _distorted_by(
    images: np.ndarray, u: np.ndarray, ranges: dict[str, float], background: ArrayLike | None
) -> np.ndarray:
    """``distort_by`` on images, draws and ranges already checked."""
    return affine_transform(
        images,
        tx=ranges["max_shift"] * u[:, 0],
        ty=ranges["max_shift"] * u[:, 1],
        scale=1.0 + ranges["max_scale"] * u[:, 2],
        squeeze=1.0 + ranges["max_squeeze"] * u[:, 3],
        shear=ranges["max_shear"] * u[:, 4],
        background=background,
    )


def distortion_ranges(strength: float) -> dict[str, float]:
    """``DISTORTION_RANGES``, each times `strength` (1: ours; 0.5: half as strong)."""
    return {key: strength * value for key, value in DISTORTION_RANGES.items()}


def _checked_ranges(
    max_shift: float, max_scale: float, max_squeeze: float, max_shear: float
) -> dict[str, float]:
    ranges = {
        "max_shift": max_shift,
        "max_scale": max_scale,
        "max_squeeze": max_squeeze,
        "max_shear": max_shear,
    }
    for key, value in ranges.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{key} must be a real number, not {type(value).__name__}")
        value = float(value)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{key} must be finite and non-negative, got {value}")
        ranges[key] = value
    for key in ("max_scale", "max_squeeze"):
        if ranges[key] >= 1:
            raise ValueError(
                f"{key} must be below 1 (a factor 1 - {key} must stay positive), got {ranges[key]}"
            )
    return ranges


class DistortedCopies:
    """The paper's enlarged training set (Section III.C): `copies` distorted versions of each
    of `n` images, made once, beside the originals (the paper: 9, so 540,000 distortions of
    60,000 images). ``versions(indices, epoch)`` says which version pass `epoch` shows of each
    image: 0 the original, c the c-th copy, an image's copies + 1 versions in turn from a
    random first one, so that every pass shows about one original in copies + 1. A copy's
    distortion is a fixed row of draws (``distort_by``), so it is the same image whenever it
    is shown; the images themselves are made when a pass needs them.
    """

    def __init__(
        self,
        n: int,
        copies: int,
        rng: np.random.Generator,
        ranges: dict[str, float] = DISTORTION_RANGES,
    ) -> None:
        self.copies, self.ranges = copies, _checked_ranges(**ranges)
        self.draws = rng.uniform(-1.0, 1.0, size=(copies, n, 5))
        self.first = rng.integers(0, copies + 1, size=n)

    def versions(self, indices: np.ndarray, epoch: int) -> np.ndarray:
        return (self.first[indices] + epoch) % (self.copies + 1)

    def images(self, x: np.ndarray, indices: np.ndarray, epoch: int) -> np.ndarray:
        """The versions pass `epoch` shows of images ``x[indices]``."""
        out = _float_images(x[indices])  # (fancy indexing made a copy)
        version = self.versions(indices, epoch)
        copied = np.flatnonzero(version)
        if len(copied):
            draws = self.draws[version[copied] - 1, indices[copied]]
            out[copied] = _distorted_by(out[copied], draws, self.ranges, None)
        return out

    def every_version(self, x: np.ndarray) -> np.ndarray:
        """The whole enlarged set, made at once: (copies + 1) N images, the versions pass e
        shows of every image in block e (so block 0 holds about one original in copies + 1).
        Memory: MNIST's 60,000 with 9 copies take 2.5 GB in float32, 2.9 GB at the peak while
        they are made (about a minute)."""
        n = len(x)
        every = np.arange(n)
        first = self.images(x, every[:1], 0)  # the dtype and shape of the images made
        out = np.empty(((self.copies + 1) * n, *first.shape[1:]), first.dtype)
        for e in range(self.copies + 1):
            out[e * n : (e + 1) * n] = self.images(x, every, e)
        return out
