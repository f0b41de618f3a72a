"""lenet.data.distortions: distort, distort_by, affine_transform and DistortedCopies, the
random planar affine maps of Section III.C.

The geometry follows the documented formula (coordinates centred on the image centre, x to
the right, y down): x' = scale * squeeze * (x + shear * y) + tx, y' = scale * y / squeeze + ty.
"""

from __future__ import annotations

import numpy as np
import pytest

from lenet.data import distortions as D
from lenet.engine import inputs

from conftest import DTYPE_IDS, DTYPES


def synthetic_digits(n: int, seed: int = 0) -> np.ndarray:
    """n uint8 28x28 images of thick random strokes inside the central 20x20 box (like MNIST)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), np.uint8)
    rows, cols = np.mgrid[0:28, 0:28]
    for i in range(n):
        for _ in range(3):
            (r0, c0), (r1, c1) = rng.uniform(8, 20, size=(2, 2))
            t = np.clip(
                ((rows - r0) * (r1 - r0) + (cols - c0) * (c1 - c0))
                / max((r1 - r0) ** 2 + (c1 - c0) ** 2, 1e-9),
                0,
                1,
            )
            dist = np.hypot(rows - (r0 + t * (r1 - r0)), cols - (c0 + t * (c1 - c0)))
            images[i] = np.maximum(images[i], (255 * np.clip(2.0 - dist, 0, 1)).astype(np.uint8))
    return images


@pytest.fixture(scope="module")
def digits32():
    return inputs.preprocess(synthetic_digits(24), "paper", np.float32)


@pytest.fixture(params=DTYPES, ids=DTYPE_IDS)
def digits(request, digits32):
    return digits32.astype(request.param)


def point_image(h: int, w: int, points, dtype=np.float64) -> np.ndarray:
    """One (1, 1, h, w) image, 0 everywhere except value 1 at the given (dx, dy) offsets from
    the centre ((w-1)/2, (h-1)/2)."""
    img = np.zeros((1, 1, h, w), dtype)
    for dx, dy in points:
        img[0, 0, int((h - 1) / 2 + dy), int((w - 1) / 2 + dx)] = 1
    return img


# ------------------------------------------------------------------------------------------
# Determinism and the documented draws
# ------------------------------------------------------------------------------------------


def test_same_seed_same_output(digits):
    before = digits.copy()
    a = D.distort(digits, np.random.default_rng(7))
    b = D.distort(digits, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(digits, before)  # input untouched
    assert not np.shares_memory(a, digits)


def test_different_seeds_and_images_differ(digits):
    a = D.distort(digits, np.random.default_rng(1))
    b = D.distort(digits, np.random.default_rng(2))
    assert not np.array_equal(a, b)
    assert all(not np.array_equal(a[i], b[i]) for i in range(len(a)))
    # identical copies in one batch get their own maps
    twins = D.distort(np.repeat(digits[:1], 4, axis=0), np.random.default_rng(3))
    assert all(not np.array_equal(twins[0], twins[i]) for i in range(1, 4))


def test_draws_are_as_documented(digits):
    kwargs = dict(max_shift=1.5, max_scale=0.2, max_squeeze=0.1, max_shear=0.4)
    out = D.distort(digits, np.random.default_rng(11), **kwargs)
    rng = np.random.default_rng(11)
    u = rng.uniform(-1, 1, size=(len(digits), 5))
    expected = D.affine_transform(
        digits,
        tx=1.5 * u[:, 0],
        ty=1.5 * u[:, 1],
        scale=1 + 0.2 * u[:, 2],
        squeeze=1 + 0.1 * u[:, 3],
        shear=0.4 * u[:, 4],
    )
    np.testing.assert_array_equal(out, expected)
    # the generator advanced by exactly those draws
    rng_used = np.random.default_rng(11)
    D.distort(digits, rng_used, **kwargs)
    assert rng_used.uniform() == rng.uniform()


@pytest.mark.parametrize(
    "shape",
    [(5, 1, 32, 32), (3, 3, 32, 32), (4, 2, 7, 9), (2, 1, 1, 1)],
    ids=lambda s: "x".join(map(str, s)),
)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_zero_ranges_are_the_identity(shape, dtype):
    x = np.random.default_rng(0).normal(size=shape).astype(dtype)
    out = D.distort(
        x, np.random.default_rng(0), max_shift=0, max_scale=0, max_squeeze=0, max_shear=0
    )
    assert out.dtype == dtype and out.shape == shape
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(D.affine_transform(x), x)


# ------------------------------------------------------------------------------------------
# Geometry
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tx, ty", [(1, 0), (0, 1), (-2, 3), (5, -4), (-1, -1)])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_integer_translation_moves_the_pattern(tx, ty, dtype):
    x = np.random.default_rng(1).uniform(0, 1, size=(3, 2, 12, 15)).astype(dtype)
    out = D.affine_transform(x, tx=tx, ty=ty, background=-0.5)
    h, w = x.shape[2:]
    ys, xs = slice(max(ty, 0), h + min(ty, 0)), slice(max(tx, 0), w + min(tx, 0))
    src_y, src_x = slice(max(-ty, 0), h - max(ty, 0)), slice(max(-tx, 0), w - max(tx, 0))
    np.testing.assert_array_equal(out[:, :, ys, xs], x[:, :, src_y, src_x])
    vacated = np.ones((h, w), bool)
    vacated[ys, xs] = False
    assert vacated.sum() == h * w - (h - abs(ty)) * (w - abs(tx))
    assert np.all(out[:, :, vacated] == dtype(-0.5))


def test_half_pixel_translation_interpolates_bilinearly():
    x = np.random.default_rng(2).uniform(size=(2, 1, 6, 8))
    out = D.affine_transform(x, tx=0.5, ty=0.0, background=0.0)
    np.testing.assert_allclose(out[..., 1:], (x[..., 1:] + x[..., :-1]) / 2, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out[..., 0], x[..., 0] / 2, rtol=0, atol=1e-12)  # half background
    out = D.affine_transform(x, tx=0.25, ty=-0.5, background=0.0)
    inner = 0.75 * (0.5 * x[..., :-1, 1:] + 0.5 * x[..., 1:, 1:]) + 0.25 * (
        0.5 * x[..., :-1, :-1] + 0.5 * x[..., 1:, :-1]
    )
    np.testing.assert_allclose(out[..., :-1, 1:], inner, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "params, source, target",
    [
        (dict(scale=2.0), (2, -3), (4, -6)),
        (dict(scale=0.5), (4, 6), (2, 3)),
        (dict(squeeze=2.0), (2, 4), (4, 2)),  # x *= q, y /= q
        (dict(squeeze=0.5), (4, 2), (2, 4)),
        (dict(shear=1.0), (1, 2), (3, 2)),  # x += shear * y
        (dict(shear=-0.5), (1, 4), (-1, 4)),
        (dict(tx=3.0, ty=-2.0), (1, 1), (4, -1)),
        (dict(scale=2.0, squeeze=2.0, shear=1.0, tx=1.0, ty=-1.0), (1, 2), (13, 1)),
    ],
)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_each_parameter_moves_a_point_as_documented(params, source, target, dtype):
    img = point_image(33, 33, [source], dtype)
    out = D.affine_transform(img, background=0.0, **params)
    expected_at = (16 + target[1], 16 + target[0])  # (row, col)
    assert out[0, 0][expected_at] == 1.0
    assert np.unravel_index(np.argmax(out[0, 0]), (33, 33)) == expected_at


def test_rotation_free_maps_keep_the_centre_fixed():
    img = point_image(31, 31, [(0, 0)])
    for params in (
        dict(scale=1.3),
        dict(squeeze=0.8),
        dict(shear=0.7),
        dict(scale=0.9, squeeze=1.1, shear=-0.3),
    ):
        assert D.affine_transform(img, background=0.0, **params)[0, 0, 15, 15] == 1.0


# ------------------------------------------------------------------------------------------
# Values, background, ink
# ------------------------------------------------------------------------------------------


def test_output_dtype_shape_and_range(digits):
    out = D.distort(digits, np.random.default_rng(5))
    assert out.dtype == digits.dtype and out.shape == digits.shape
    assert out.flags.c_contiguous and out.flags.writeable
    lo = digits.reshape(len(digits), -1).min(axis=1)
    hi = digits.reshape(len(digits), -1).max(axis=1)
    flat = out.reshape(len(out), -1)
    eps = 4 * np.finfo(digits.dtype).eps
    assert np.all(flat.min(axis=1) >= lo - eps) and np.all(flat.max(axis=1) <= hi + eps)
    assert np.isclose(float(digits.min()), -0.1) and np.all(np.isfinite(out))


def test_background_defaults_to_each_images_minimum():
    x = np.random.default_rng(3).uniform(size=(3, 2, 8, 8))
    x[1] -= 5.0
    x[2] += 7.0
    gone = D.affine_transform(x, tx=100.0)  # everything moved out
    for i in range(3):
        assert np.all(gone[i] == x[i].min())
    np.testing.assert_array_equal(
        D.affine_transform(x, ty=-9.0, background=0.25), np.full_like(x, 0.25)
    )
    per_image = D.affine_transform(x, tx=8.0, background=np.array([1.0, 2.0, 3.0]))
    assert [float(per_image[i].max()) for i in range(3)] == [1.0, 2.0, 3.0]
    # with zero ranges nothing is vacated: the background does not show
    shifted = D.distort(
        x,
        np.random.default_rng(0),
        max_shift=0,
        max_scale=0,
        max_squeeze=0,
        max_shear=0,
        background=-1.0,
    )
    np.testing.assert_array_equal(shifted, x)


def test_paper_background_fills_the_border(digits):
    out = D.affine_transform(digits, tx=2.0, ty=-2.0)
    bg = digits.min()  # -0.1 in the images' dtype
    assert np.isclose(float(bg), -0.1)
    assert np.all(out[:, :, :, :2] == bg) and np.all(out[:, :, -2:, :] == bg)


def test_small_ranges_roughly_preserve_ink(digits):
    out = D.distort(
        digits,
        np.random.default_rng(9),
        max_shift=2.0,
        max_scale=0.05,
        max_squeeze=0.05,
        max_shear=0.1,
    )
    ink_before = (digits + 0.1).reshape(len(digits), -1).sum(axis=1)
    ink_after = (out + 0.1).reshape(len(out), -1).sum(axis=1)
    ratio = ink_after / ink_before
    assert np.all(ratio > 0.85) and np.all(ratio < 1.15)  # area changes by scale**2
    assert abs(float(out.mean()) - float(digits.mean())) < 0.05 * float(digits.std())
    assert not np.array_equal(out, digits)
    # still the same pattern, roughly: correlation with the original stays high
    a = (digits - digits.mean()).reshape(len(digits), -1)
    b = (out - out.mean()).reshape(len(out), -1)
    corr = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    assert np.all(corr > 0.2) and float(np.median(corr)) > 0.4


def test_empty_batch():
    out = D.distort(np.zeros((0, 1, 32, 32), np.float32), np.random.default_rng(0))
    assert out.shape == (0, 1, 32, 32) and out.dtype == np.float32


# ------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(max_shift=-1.0), ValueError, "max_shift"),
        (dict(max_shear=-0.1), ValueError, "max_shear"),
        (dict(max_scale=-0.01), ValueError, "max_scale"),
        (dict(max_scale=1.0), ValueError, "max_scale"),
        (dict(max_squeeze=1.5), ValueError, "max_squeeze"),
        (dict(max_shift=float("nan")), ValueError, "max_shift"),
        (dict(max_shear=float("inf")), ValueError, "max_shear"),
        (dict(max_shift="2"), TypeError, "max_shift"),
        (dict(max_shift=None), TypeError, "max_shift"),
        (dict(max_scale=True), TypeError, "max_scale"),
    ],
)
def test_distort_rejects_bad_ranges(kwargs, error, words):
    x = np.zeros((2, 1, 8, 8), np.float32)
    with pytest.raises(error) as info:
        D.distort(x, np.random.default_rng(0), **kwargs)
    assert words in str(info.value)


@pytest.mark.parametrize(
    "images, rng, error, words",
    [
        (np.zeros((2, 1, 8, 8), np.float32), 0, TypeError, "Generator"),
        (np.zeros((2, 1, 8, 8), np.float32), np.random.RandomState(0), TypeError, "Generator"),
        (np.zeros((2, 1, 8, 8), np.uint8), np.random.default_rng(0), TypeError, "float32"),
        (np.zeros((2, 1, 8, 8), np.float16), np.random.default_rng(0), TypeError, "float32"),
        (np.zeros((2, 8, 8), np.float32), np.random.default_rng(0), ValueError, "(N, C, H, W)"),
    ],
)
def test_distort_rejects_bad_inputs(images, rng, error, words):
    with pytest.raises(error) as info:
        D.distort(images, rng)
    assert words in str(info.value)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(scale=0.0), "positive"),
        (dict(squeeze=-1.0), "positive"),
        (dict(tx=np.zeros(3)), "shape (2,)"),
        (dict(shear=np.array([0.0, np.nan])), "finite"),
        (dict(background=np.inf), "finite"),
    ],
)
def test_affine_transform_rejects(kwargs, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        D.affine_transform(np.zeros((2, 1, 8, 8)), **kwargs)


# ------------------------------------------------------------------------------------------
# Given draws, ranges times a strength, and the paper's fixed distorted set
# ------------------------------------------------------------------------------------------


def test_distort_is_distort_by_its_generators_draws(digits):
    u = np.random.default_rng(4).uniform(-1, 1, size=(len(digits), 5))
    ranges = {**D.DISTORTION_RANGES, "max_shift": 1.0, "max_shear": 0.1}
    expected = D.distort_by(digits, u, ranges)
    got = D.distort(digits, np.random.default_rng(4), max_shift=1.0, max_shear=0.1)
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("strength", [0.25, 0.5, 1.0, 2.0])
def test_strength_scales_every_range(strength):
    ranges = D.distortion_ranges(strength)
    assert set(ranges) == set(D.DISTORTION_RANGES)
    for key, value in ranges.items():
        assert value == pytest.approx(strength * D.DISTORTION_RANGES[key])
    assert D.distortion_ranges(1.0) == D.DISTORTION_RANGES  # strength 1 is distort's default


@pytest.mark.parametrize(
    "draws, words",
    [
        (np.zeros((3, 5)), r"draws must be 24 rows of 5 numbers .*shape \(3, 5\)"),
        (np.zeros((24, 4)), r"draws must be 24 rows .*shape \(24, 4\)"),
        (np.full((24, 5), 1.5), r"numbers in \[-1, 1\]"),
        (np.full((24, 5), np.nan), r"numbers in \[-1, 1\]"),
    ],
)
def test_distort_by_refuses_bad_draws(digits32, draws, words):
    with pytest.raises(ValueError, match=words):
        D.distort_by(digits32, draws)


@pytest.mark.parametrize("copies", [1, 3, 9])
def test_each_pass_shows_every_image_once_and_its_versions_in_turn(digits32, copies):
    n = len(digits32)
    pool = D.DistortedCopies(n, copies, np.random.default_rng(2))
    indices = np.random.default_rng(3).permutation(n)
    shown = np.stack([pool.versions(indices, epoch) for epoch in range(copies + 1)])
    assert shown.min() == 0 and shown.max() == copies
    # over copies + 1 passes, each image is shown as each of its versions exactly once
    assert all(sorted(column) == list(range(copies + 1)) for column in shown.T)
    # the same version again copies + 1 passes later
    assert np.array_equal(pool.versions(indices, 1), pool.versions(indices, copies + 2))


def test_fixed_copies_are_the_same_images_whenever_shown(digits32):
    n, copies = len(digits32), 4
    pool = D.DistortedCopies(n, copies, np.random.default_rng(5), D.distortion_ranges(0.5))
    indices = np.arange(n)
    for epoch in range(copies + 1):
        images, versions = pool.images(digits32, indices, epoch), pool.versions(indices, epoch)
        again = pool.images(digits32, indices[::-1], epoch + copies + 1)[::-1]
        assert np.array_equal(images, again)  # in another order, copies + 1 passes later
        originals = versions == 0
        assert np.array_equal(images[originals], digits32[originals])  # version 0: untouched
        for i in np.flatnonzero(~originals):
            draws = pool.draws[versions[i] - 1, i][None]
            made = D.distort_by(digits32[i : i + 1], draws, D.distortion_ranges(0.5))
            assert np.array_equal(images[i : i + 1], made)
            assert not np.array_equal(images[i], digits32[i])


@pytest.mark.parametrize("copies", [1, 4])
def test_every_version_is_what_the_passes_show_in_turn(digits32, copies):
    n = len(digits32)
    pool = D.DistortedCopies(n, copies, np.random.default_rng(6), D.distortion_ranges(0.5))
    whole = pool.every_version(digits32)
    assert whole.shape == ((copies + 1) * n, *digits32.shape[1:]) and whole.dtype == digits32.dtype
    for epoch in range(copies + 1):  # block e: what pass e shows of each image
        block = whole[epoch * n : (epoch + 1) * n]
        assert np.array_equal(block, pool.images(digits32, np.arange(n), epoch))
    # each image once untouched, and its copies all different from it
    assert all(sum(np.array_equal(whole[k * n + i], digits32[i]) for k in range(copies + 1)) == 1
               for i in range(n))  # fmt: skip


def test_about_one_original_in_copies_plus_one_per_pass():
    n, copies = 60_000, 9
    pool = D.DistortedCopies(n, copies, np.random.default_rng(0))
    share = np.mean(pool.versions(np.arange(n), 7) == 0)
    assert abs(share - 0.1) < 4 * np.sqrt(0.1 * 0.9 / n)  # 4 standard errors
