"""Bad input gets a clear ValueError/TypeError (RuntimeError for a call out of order) whose
message names the argument and shows what was expected and what came. (load_state_dict's
errors are in test_model.py.)"""

from __future__ import annotations

import re

import numpy as np
import pytest

import lenet
from lenet.engine import _core


@pytest.fixture
def net():
    return lenet.LeNet5(seed=0)


# ---- the network's input ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(32,), (1, 1, 1, 32, 32), (2, 1, 32, 31), (5, 1, 31, 32)])
def test_wrong_rank_or_size(net, shape):
    with pytest.raises(
        ValueError, match=r"x must have shape \(N, 1, 32, 32\).*got shape " + re.escape(str(shape))
    ):
        net(np.zeros(shape))


@pytest.mark.parametrize("shape", [(2, 1, 28, 28), (28, 28), (1, 28, 28)])
def test_28x28_input_says_pad_to_32x32(net, shape):
    with pytest.raises(ValueError, match=r"(?s)got shape .*28, 28\).*padded to 32x32"):
        net(np.zeros(shape))


def test_three_channels_to_the_paper_net(net):
    with pytest.raises(
        ValueError,
        match=r"x must have shape \(N, 1, 32, 32\).*"
        r"got shape \(2, 3, 32, 32\)",
    ):
        net(np.zeros((2, 3, 32, 32)))


def test_message_shows_the_shape_that_was_passed(net):
    """A 2-D or 3-D input is taken as one image and given a batch axis; when its shape is wrong
    the message should still report the shape the caller passed, not the one made from it."""
    wrong = {}
    for shape in [(3, 32, 32), (2, 1, 32), (28, 28)]:
        with pytest.raises(ValueError) as info:
            net(np.zeros(shape))
        if f"got shape {shape}" not in str(info.value):
            wrong[shape] = str(info.value)
    assert not wrong, wrong


def test_modern_net_shape_errors():
    m = lenet.LeNet5.modern(3, 32)
    with pytest.raises(
        ValueError,
        match=r"x must have shape \(N, 3, 32, 32\).*"
        r"got shape \(2, 1, 32, 32\)",
    ):
        m(np.zeros((2, 1, 32, 32)))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 28, 28\)"):
        lenet.LeNet5.modern()(np.zeros((2, 1, 32, 32)))


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((1, 1, 32, 32), complex),
        np.zeros((1, 1, 32, 32), object),
        np.full((1, 1, 32, 32), "a"),
        np.zeros((1, 1, 32, 32), "datetime64[s]"),
    ],
    ids=["complex", "object", "string", "datetime"],
)
def test_non_real_input_dtypes(net, bad):
    with pytest.raises(TypeError, match=rf"x must hold real numbers.*{re.escape(str(bad.dtype))}"):
        net(bad)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_input(net, value):
    x = np.zeros((2, 1, 32, 32))
    x[1, 0, 5, 7] = value
    with pytest.raises(ValueError, match=r"x contains 1 non-finite value"):
        net(x)


def test_ragged_input(net):
    with pytest.raises((TypeError, ValueError), match="x"):
        net([[0.0] * 32, [0.0] * 31])


# ---- backward ---------------------------------------------------------------------------------


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="forward before backward"):
        lenet.LeNet5().backward(np.zeros((1, 10)))
    layer = lenet.Convolution(1, 2, 3)
    with pytest.raises(RuntimeError, match=r"conv.backward: call forward before backward"):
        layer.backward(np.zeros((1, 2, 3, 3)))


@pytest.mark.parametrize("shape", [(2, 9), (3, 10), (2, 10, 1), (20,)])
def test_dout_of_the_wrong_shape(net, shape):
    net(np.zeros((2, 1, 32, 32)))
    got = re.escape(str(shape))
    with pytest.raises(
        ValueError,
        match=rf"(dy|dout) must have the forward output's shape "
        rf"\(2, 10\), got {got}",
    ):
        net.backward(np.zeros(shape))


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_dout(net, value):
    net(np.zeros((2, 1, 32, 32)))
    d = np.zeros((2, 10))
    d[0, 3] = value
    with pytest.raises(ValueError, match=r"(dy|dout) contains 1 non-finite"):
        net.backward(d)


def test_complex_dout(net):
    net(np.zeros((2, 1, 32, 32)))
    with pytest.raises(TypeError, match=r"(dy|dout) must hold real numbers.*complex"):
        net.backward(np.zeros((2, 10), complex))


# ---- lenet.engine._core -------------------------------------------------------------------


def test_core_kernel_larger_than_input():
    with pytest.raises(
        ValueError,
        match=r"5x5 kernel is larger than the padded input 3x4.*"
        r"x shape \(1, 1, 3, 4\), padding 0",
    ):
        _core.conv_forward(np.zeros((1, 1, 3, 4)), np.zeros((2, 1, 5, 5)), np.zeros(2))
    with pytest.raises(ValueError, match="larger than the padded input"):
        _core.conv_backward(np.zeros((1, 1, 3, 4)), np.zeros((2, 1, 5, 5)), np.zeros((1, 2, 1, 1)))
    # padding makes it fit
    assert _core.conv_forward(
        np.zeros((1, 1, 3, 4)), np.zeros((2, 1, 5, 5)), np.zeros(2), padding=1
    ).shape == (1, 2, 1, 2)


def test_core_mismatched_shapes():
    x, w = np.zeros((1, 1, 8, 8)), np.zeros((2, 1, 5, 5))
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\).*got shape \(3,\)"):
        _core.conv_forward(x, w, np.zeros(3))
    with pytest.raises(
        ValueError, match=r"x must have 1 input maps to match weight \(2, 1, 5, 5\), got 2"
    ):
        _core.conv_forward(np.zeros((1, 2, 8, 8)), w, np.zeros(2))
    with pytest.raises(
        ValueError, match=r"weight must hold square kernels.*got shape \(2, 1, 5, 4\)"
    ):
        _core.conv_forward(x, np.zeros((2, 1, 5, 4)), np.zeros(2))
    with pytest.raises(ValueError, match=r"weight must have 4 dimensions.*got shape \(2, 25\)"):
        _core.conv_forward(x, np.zeros((2, 25)), np.zeros(2))
    with pytest.raises(
        ValueError, match=r"d_out must have shape \(1, 2, 4, 4\).*got shape \(1, 2, 5, 5\)"
    ):
        _core.conv_backward(x, w, np.zeros((1, 2, 5, 5)))
    with pytest.raises(ValueError, match=r"x must have 4 features to match weight \(3, 4\), got 5"):
        _core.dense_forward(np.zeros((2, 5)), np.zeros((3, 4)), np.zeros(3))
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\).*got shape \(4,\)"):
        _core.dense_forward(np.zeros((2, 4)), np.zeros((3, 4)), np.zeros(4))
    with pytest.raises(ValueError, match=r"d_out must have shape \(2, 3\).*got shape \(2, 4\)"):
        _core.dense_backward(np.zeros((2, 4)), np.zeros((3, 4)), np.zeros((2, 4)))
    with pytest.raises(
        ValueError, match=r"x must have 84 features to match prototypes \(10, 84\), got 83"
    ):
        _core.rbf_forward(np.zeros((1, 83)), np.zeros((10, 84)))
    with pytest.raises(ValueError, match=r"d_x must have shape \(3,\).*got shape \(4,\)"):
        _core.activation_backward(np.zeros(3), np.zeros(4), "tanh")
    with pytest.raises(ValueError, match=r"coefficient must have shape \(2,\).*got shape \(3,\)"):
        _core.subsample_forward(np.zeros((1, 2, 4, 4)), np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="coefficient is required"):
        _core.subsample_forward(np.zeros((1, 2, 4, 4)))
    with pytest.raises(
        ValueError, match=r"x must be at least 2x2 to subsample, got shape \(1, 1, 1, 4\)"
    ):
        _core.subsample_forward(np.zeros((1, 1, 1, 4)), mode="max")


@pytest.mark.parametrize(
    "bad,pattern",
    [
        (-1, "got -1"),
        (1.0, "got 1.0"),
        (True, "got True"),
    ],
)
def test_core_padding(bad, pattern):
    with pytest.raises(ValueError, match=rf"padding must be a non-negative integer, {pattern}"):
        _core.conv_forward(np.zeros((1, 1, 8, 8)), np.zeros((2, 1, 5, 5)), np.zeros(2), padding=bad)


def test_core_non_real_dtypes():
    with pytest.raises(TypeError, match=r"x must hold real numbers.*complex128"):
        _core.conv_forward(np.zeros((1, 1, 8, 8), complex), np.zeros((2, 1, 5, 5)), np.zeros(2))
    with pytest.raises(TypeError, match=r"weight must hold real numbers.*complex128"):
        _core.conv_forward(np.zeros((1, 1, 8, 8)), np.zeros((2, 1, 5, 5), complex), np.zeros(2))
    with pytest.raises(TypeError, match=r"x must hold real numbers.*object"):
        _core.dense_forward(np.zeros((1, 3), object), np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(TypeError, match=r"a must hold real numbers.*<U"):
        _core.activation_forward(np.array(["1.0"]), "tanh")


def test_connection_table_shapes():
    x, w = np.zeros((1, 6, 14, 14)), np.zeros((16, 6, 5, 5))
    with pytest.raises(
        ValueError, match=r"connection_table must have shape \(16, 6\).*got shape \(6, 16\)"
    ):
        _core.conv_forward(x, w, np.zeros(16), np.ones((6, 16)))
    with pytest.raises(
        ValueError, match=r"connection_table must have shape \(16, 6\).*got shape \(16,\)"
    ):
        _core.conv_backward(x, w, np.zeros((1, 16, 10, 10)), np.ones(16))
    with pytest.raises(TypeError, match=r"connection_table must be boolean or numeric.*<U"):
        _core.conv_forward(x, w, np.zeros(16), np.full((16, 6), "x"))


@pytest.mark.parametrize("which", ["d_weight", "d_bias"])
def test_out_buffers_of_the_wrong_kind(which):
    x, w, d = np.zeros((2, 1, 8, 8)), np.zeros((3, 1, 5, 5)), np.zeros((2, 3, 4, 4))
    shape = w.shape if which == "d_weight" else (3,)
    wrong_shape = (3, 1, 5, 4) if which == "d_weight" else (4,)
    with pytest.raises(TypeError, match=rf"{which} must have dtype float64.*got float32"):
        _core.conv_backward(x, w, d, **{which: np.zeros(shape, np.float32)})
    with pytest.raises(
        ValueError,
        match=rf"{which} must have shape {re.escape(str(shape))}, "
        rf"got shape {re.escape(str(wrong_shape))}",
    ):
        _core.conv_backward(x, w, d, **{which: np.zeros(wrong_shape)})
    strided = np.zeros(shape[:-1] + (2 * shape[-1],))[..., ::2]
    with pytest.raises(ValueError, match=rf"{which} must be C-contiguous"):
        _core.conv_backward(x, w, d, **{which: strided})
    frozen = np.zeros(shape)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match=rf"{which} must be C-contiguous, aligned and writeable"):
        _core.conv_backward(x, w, d, **{which: frozen})
    with pytest.raises(TypeError, match=rf"{which} must be a numpy.ndarray"):
        _core.conv_backward(x, w, d, **{which: np.zeros(shape).tolist()})
    # the same checks on the other kernels' buffers
    with pytest.raises(TypeError, match=rf"{which} must have dtype float32"):
        _core.dense_backward(
            np.zeros((2, 4), np.float32),
            np.zeros((3, 4)),
            np.zeros((2, 3)),
            **{which: np.zeros((3, 4) if which == "d_weight" else 3)},
        )


def test_subsample_out_buffers():
    x, d = np.zeros((1, 2, 4, 4)), np.zeros((1, 2, 2, 2))
    with pytest.raises(ValueError, match=r"d_coefficient must have shape \(2,\), got shape \(3,\)"):
        _core.subsample_backward(x, d, np.ones(2), d_coefficient=np.zeros(3))
    with pytest.raises(TypeError, match=r"d_bias must have dtype float64.*got int64"):
        _core.subsample_backward(x, d, np.ones(2), d_bias=np.zeros(2, np.int64))


# ---- names and types --------------------------------------------------------------------------


def test_unknown_activation_and_mode_names():
    with pytest.raises(ValueError, match=r"kind must be one of .*'swish', got 'softplus'"):
        _core.activation_forward(np.zeros(3), "softplus")
    with pytest.raises(ValueError, match=r"kind must be one of .*got 'Tanh'"):
        _core.activation_derivative(np.zeros(3), "Tanh")
    with pytest.raises(ValueError, match=r"activation must be one of .*got 'gelu'"):
        lenet.LeNet5.modern(activation="gelu")
    with pytest.raises(ValueError, match=r"mode must be one of .*got 'median'"):
        _core.subsample_forward(np.zeros((1, 1, 4, 4)), mode="median")
    with pytest.raises(ValueError, match=r"pooling must be one of .*got 'median'"):
        lenet.LeNet5.modern(pooling="median")
    with pytest.raises(
        ValueError,
        match=r"scheme must be one of 'lecun98', 'lecun98-sqrt', 'eblearn', 'glorot', got 'he'",
    ):
        lenet.LeNet5().init_parameters(0, "he")


@pytest.mark.parametrize("dtype", [np.int32, np.float16, np.complex64, "float128", object])
def test_network_dtype_must_be_float32_or_float64(dtype):
    with pytest.raises(TypeError, match=r"dtype must be float32 or float64, got"):
        lenet.LeNet5(dtype=dtype)


def test_modern_arguments():
    with pytest.raises(ValueError, match=r"input_size must be 28 .* or 32 .*got 30"):
        lenet.LeNet5.modern(input_size=30)
    with pytest.raises(ValueError, match=r"in_channels must be a positive integer, got 0"):
        lenet.LeNet5.modern(in_channels=0)


def test_mixed_dtype_layers_in_a_network():
    layers = [
        lenet.Convolution(1, 2, 3, name="a", dtype=np.float32),
        lenet.Convolution(2, 2, 3, name="b", dtype=np.float64),
    ]
    with pytest.raises(TypeError, match=r"layer b has dtype float64, the network float32"):
        lenet.Network(layers, (1, 8, 8), np.float32)


def test_duplicate_layer_names():
    with pytest.raises(ValueError, match=r"layer names must be unique"):
        lenet.Network(
            [lenet.Convolution(1, 1, 3, name="a"), lenet.Convolution(1, 1, 3, name="a")], (1, 8, 8)
        )


# ---- what the binding refuses or repairs before C sees it -----------------------------------


def test_outputs_may_not_overlap_inputs(rng):
    x = rng.standard_normal((2, 3))
    w = rng.standard_normal((4, 3))
    dy = rng.standard_normal((2, 4))
    with pytest.raises(ValueError, match="d_weight must not share memory"):
        _core.dense_backward(x, w, dy, d_weight=w)
    buffer = np.zeros(20)
    with pytest.raises(ValueError, match="d_bias must not share memory"):
        _core.dense_backward(x, w, dy, d_weight=buffer[:12].reshape(4, 3), d_bias=buffer[8:12])


def test_misaligned_inputs_are_copied_and_misaligned_outputs_refused(rng):
    raw = bytearray(8 * 7 + 1)
    x = np.frombuffer(raw, np.float64, 6, 1).reshape(2, 3)  # offset by one byte
    assert not x.flags.aligned
    w = rng.standard_normal((4, 3))
    assert np.array_equal(
        _core.dense_forward(x, w, np.zeros(4)), _core.dense_forward(x.copy(), w, np.zeros(4))
    )
    out = np.frombuffer(bytearray(8 * 13 + 1), np.float64, 12, 1).reshape(4, 3)
    with pytest.raises(ValueError, match="aligned"):
        _core.dense_backward(x, w, np.zeros((2, 4)), d_weight=out)


def test_zero_dimensional_activations_stay_zero_dimensional():
    assert _core.activation_forward(np.float64(0.5), "tanh").shape == ()
    assert _core.activation_backward(0.5, 1.0, "tanh").shape == ()


@pytest.mark.parametrize("j", ["3", True, None])
def test_j_must_be_a_number(j):
    with pytest.raises(TypeError, match="j must be a real number"):
        _core.loss_rbf_discriminative(np.zeros((1, 10)), [0], j)


def test_ragged_input_and_array_valued_names():
    with pytest.raises(TypeError, match="x must be an array of real numbers"):
        _core.dense_forward([[1.0, 2.0], [3.0]], np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="kind must be one of"):
        _core.activation_forward(np.zeros(3), np.array(["tanh"]))


def test_huge_padding_is_refused_before_allocating():
    with pytest.raises(ValueError, match="padding must be less than"):
        _core.conv_forward(
            np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 1, 1)), np.zeros(1), padding=2**40
        )
    with pytest.raises(ValueError, match="more than the 2\\*\\*31 - 1"):
        _core.conv_forward(
            np.zeros((1, 1, 2, 2)), np.zeros((4, 1, 1, 1)), np.zeros(4), padding=2**16
        )


@pytest.mark.parametrize("value", ["x", 0, 1.7, True])
def test_modern_in_channels_must_be_a_positive_integer(value):
    with pytest.raises(ValueError, match="in_channels must be a positive integer"):
        lenet.LeNet5.modern(in_channels=value)
