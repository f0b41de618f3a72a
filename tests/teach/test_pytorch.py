"""The step to PyTorch (lenet.to_torch, lenet.from_torch; the modules in lenet.teach.pytorch).

The module must compute what ``net.forward`` computes, with the same weights: in float32 both
sit within float32 rounding of the float64 result, in float64 they agree to float64 rounding,
and the gradients of both agree in float64. Weights must go there and back exactly, and a state
dict that does not fit is refused, naming the key. Skipped where torch is not installed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lenet
from lenet import reference as R

torch = pytest.importorskip("torch")
from lenet.teach import pytorch  # noqa: E402  (needs torch: after the skip)

EPS32 = float(np.finfo(np.float32).eps)

NETS = {
    "paper": lambda dtype: lenet.LeNet5(seed=3, dtype=dtype),
    "paper-literal-init": lambda dtype: lenet.LeNet5(seed=4, dtype=dtype, init="lecun98"),
    "modern-swish-28": lambda dtype: lenet.LeNet5.modern(seed=3, dtype=dtype),
    "modern-relu-average-32": lambda dtype: lenet.LeNet5.modern(
        seed=3, dtype=dtype, input_size=32, activation="relu", pooling="average"
    ),
    "modern-tanh-paper-pooling-3x32": lambda dtype: lenet.LeNet5.modern(
        seed=5, dtype=dtype, in_channels=3, input_size=32, activation="tanh", pooling="paper"
    ),
    "modern-sigmoid-max-32": lambda dtype: lenet.LeNet5.modern(
        seed=6, dtype=dtype, input_size=32, activation="sigmoid"
    ),
}


def images(net, n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.1, 1.175, (n,) + net.input_shape)


def run(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(np.ascontiguousarray(x))).numpy()


def test_every_squashing_function_has_a_pytorch_twin():
    assert set(pytorch.ACTIVATIONS) == set(R.ACTIVATIONS)
    a = np.linspace(-6, 6, 241)
    for name, fn in pytorch.ACTIVATIONS.items():
        np.testing.assert_allclose(
            fn(torch.from_numpy(a)).numpy(), R.activation_forward(a, name), 1e-14, 1e-14
        )


@pytest.mark.parametrize("name", list(NETS))
@pytest.mark.parametrize("n", [1, 7, 64])
def test_float32_outputs_agree_to_float32_rounding(name, n):
    net, exact = NETS[name](np.float32), NETS[name](np.float64)
    x = images(net, n, seed=n)
    x32 = x.astype(np.float32)
    ref = exact.forward(x32.astype(np.float64))  # the same weights and inputs, in float64
    ours, theirs = net.forward(x32), run(lenet.to_torch(net), x32)
    assert theirs.dtype == np.float32 and theirs.shape == ours.shape
    # each within a few float32 roundings of the float64 result, scaled to the outputs' size
    bound = 8 * EPS32 * (1 + np.abs(ref).max())
    assert np.abs(ours - ref).max() <= bound
    assert np.abs(theirs - ref).max() <= bound
    assert np.array_equal(net.classify(ours), net.classify(theirs)) or (
        np.abs(ours - theirs).max() <= 2 * bound  # a tie broken otherwise by rounding
    )


@pytest.mark.parametrize("name", list(NETS))
def test_float64_outputs_and_gradients_agree(name):
    net = NETS[name](np.float64)
    x = images(net, 5)
    module = lenet.to_torch(net)
    assert all(p.dtype == torch.float64 for p in module.parameters())
    out = net.forward(x)
    tx = torch.from_numpy(x)
    tout = module(tx)
    np.testing.assert_allclose(tout.detach().numpy(), out, rtol=1e-12, atol=1e-12)
    # the same linear functional of the outputs, back through both
    w = np.random.default_rng(1).standard_normal(out.shape)
    (tout * torch.from_numpy(w)).sum().backward()
    net.backward(w)
    grads = net.grad_dict()
    for key, p in module.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[key], rtol=1e-10, atol=1e-12, err_msg=key)


def test_the_module_names_its_parameters_as_the_network_does():
    net = lenet.LeNet5()
    module = lenet.to_torch(net)
    assert [k for k, _ in module.named_parameters()] == list(net.state_dict())
    assert [name for name, _ in module.named_children()] == [layer.name for layer in net.layers]
    buffers = dict(module.named_buffers())
    assert set(buffers) == {"C3.mask", "output.prototypes"}  # fixed: not trained
    assert np.array_equal(buffers["output.prototypes"].numpy(), net.layers[-1].prototypes)
    mask = buffers["C3.mask"].numpy()[:, :, 0, 0].astype(bool)
    assert np.array_equal(mask, net.layers[2].connection_table) and mask.sum() == 60


def test_the_module_holds_a_copy():
    net = lenet.LeNet5()
    module = lenet.to_torch(net)
    before = net.state_dict()
    with torch.no_grad():
        for p in module.parameters():
            p.add_(1.0)
    for key, arr in net.state_dict().items():
        assert np.array_equal(arr, before[key]), key


@pytest.mark.parametrize("name", list(NETS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("as_state_dict", [False, True])
def test_round_trip_is_exact(name, dtype, as_state_dict):
    net = NETS[name](dtype)
    module = lenet.to_torch(net)
    back = lenet.from_torch(module.state_dict() if as_state_dict else module, like=net)
    assert back is not net and type(back) is type(net)
    for key, arr in net.state_dict().items():
        got = back.state_dict()[key]
        assert got.dtype == arr.dtype and np.array_equal(got, arr), key
    x = images(net, 3)
    assert np.array_equal(back.forward(x), net.forward(x))


def test_weights_trained_in_pytorch_come_back():
    """A few SGD steps in PyTorch, then from_torch: the lenet network computes what the trained
    module computes, and C3's unconnected weights, masked in the module, stay 0."""
    net = lenet.LeNet5(dtype=np.float64)
    module = lenet.to_torch(net)
    x = torch.from_numpy(images(net, 16))
    labels = torch.arange(16) % 10
    opt = torch.optim.SGD(module.parameters(), lr=1e-3)
    for _ in range(3):
        opt.zero_grad()
        penalties = module(x)
        penalties.gather(1, labels[:, None]).mean().backward()  # the loss (8): the right class's
        opt.step()
    back = lenet.from_torch(module, like=net)
    assert not np.array_equal(back.state_dict()["C1.weight"], net.state_dict()["C1.weight"])
    np.testing.assert_allclose(back.forward(x.numpy()), run(module, x.numpy()), 1e-12, 1e-12)
    c3 = back.state_dict()["C3.weight"]
    assert not c3[~net.layers[2].connection_table].any()


def test_unconnected_weights_set_in_pytorch_are_taken_as_zero():
    net = lenet.LeNet5()
    state = lenet.to_torch(net).state_dict()
    state["C3.weight"] += 0.5  # also where the mask is 0: those weights do not act in the module
    back = lenet.from_torch(state, like=net)
    table = net.layers[2].connection_table
    got = back.state_dict()["C3.weight"]
    assert not got[~table].any()
    assert np.array_equal(got[table], (state["C3.weight"].numpy())[table])


def test_a_missing_key_is_refused_naming_it():
    net = lenet.LeNet5()
    state = lenet.to_torch(net).state_dict()
    del state["F6.bias"]
    with pytest.raises(ValueError, match=r"no 'F6\.bias'"):
        lenet.from_torch(state, like=net)


def test_an_extra_key_is_refused_naming_it():
    net = lenet.LeNet5()
    state = lenet.to_torch(net).state_dict()
    state["F7.weight"] = torch.zeros(3)
    with pytest.raises(ValueError, match=r"'F7\.weight' is not a parameter"):
        lenet.from_torch(state, like=net)


@pytest.mark.parametrize("key", ["C1.weight", "S2.coefficient", "F6.weight"])
def test_a_wrong_shape_is_refused_naming_the_key_and_both_shapes(key):
    net = lenet.LeNet5()
    state = lenet.to_torch(net).state_dict()
    state[key] = torch.zeros(tuple(state[key].shape) + (1,))
    with pytest.raises(ValueError, match=rf"'{key}'.*shape .*the network's is"):
        lenet.from_torch(state, like=net)


def test_weights_of_the_other_variant_are_refused():
    paper, modern = lenet.LeNet5(), lenet.LeNet5.modern()
    with pytest.raises(ValueError, match="'output.weight' is not a parameter"):
        lenet.from_torch(lenet.to_torch(modern), like=paper)


def test_non_finite_weights_are_refused():
    net = lenet.LeNet5()
    state = lenet.to_torch(net).state_dict()
    state["C5.bias"][0] = float("nan")
    with pytest.raises(ValueError, match=r"C5\.bias.*NaN"):
        lenet.from_torch(state, like=net)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: lenet.to_torch("LeNet5"), "net must be a lenet network, got str"),
        (lambda: lenet.from_torch([1, 2], like=lenet.LeNet5()), "source must be a torch.nn.Module"),
        (lambda: lenet.from_torch({}, like="net"), "like must be a lenet network, got str"),
    ],
)
def test_wrong_arguments_are_named(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_a_layer_without_a_twin_is_named():
    class Doubling(lenet.FullConnection):
        pass

    net = lenet.Network([lenet.Convolution(1, 2, 3, name="conv")], (1, 8, 8))
    assert isinstance(lenet.to_torch(net), torch.nn.Module)
    assert lenet.to_torch(lenet.Network([Doubling(4, 2, name="d")], (1, 2, 2)))  # a subclass

    class Stranger(lenet.Layer):
        def __init__(self) -> None:
            super().__init__("stranger", "identity", np.float32)

    with pytest.raises(TypeError, match="layer stranger .*Stranger.* has no PyTorch twin"):
        pytorch._module_for(Stranger())


@pytest.mark.parametrize(
    "in_maps,out_maps,kernel,padding,size", [(1, 1, 1, 0, 4), (2, 3, 3, 1, 7), (4, 5, 5, 2, 9)]
)
def test_small_networks_of_any_shape_agree(in_maps, out_maps, kernel, padding, size):
    rng = np.random.default_rng(in_maps * 10 + out_maps)
    table = rng.random((out_maps, in_maps)) < 0.6
    table[:, 0] = True  # every output map reads one input map at least
    conv = lenet.Convolution(
        in_maps,
        out_maps,
        kernel,
        padding=padding,
        connection_table=table,
        name="conv",
        dtype=np.float64,
    )
    side = size + 2 * padding - kernel + 1
    layers = [conv]
    if side % 2 == 0:
        layers.append(lenet.Subsampling(out_maps, "paper", name="pool", dtype=np.float64))
        side //= 2
    layers.append(lenet.FullConnection(out_maps * side * side, 3, name="dense", dtype=np.float64))
    net = lenet.Network(layers, (in_maps, size, size), np.float64)
    for layer in net.layers:
        layer.init_parameters(rng)
    x = rng.standard_normal((4, in_maps, size, size))
    np.testing.assert_allclose(run(lenet.to_torch(net), x), net.forward(x), 1e-12, 1e-12)


def test_without_torch_the_error_says_how_to_install_it():
    script = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = None  # as if torch were not installed
        import lenet
        assert "torch" not in [m for m in sys.modules if sys.modules[m] is not None]
        net = lenet.LeNet5()
        for call in (lambda: lenet.to_torch(net), lambda: lenet.from_torch({}, like=net)):
            try:
                call()
            except ImportError as exc:
                print(exc)
            else:
                raise SystemExit("no ImportError")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        assert "need PyTorch, which is not installed" in line and "pip install torch" in line


@pytest.mark.parametrize("mode", ["paper", "average", "max"])
def test_subsampling_maps_that_read_a_chosen_map_agree(mode):
    """LeNet-4's S2 (sources (0, 0, 1, 1, 2, 2, 3, 3)): the twin gathers the maps it reads, and
    autograd adds the two gradients of each map, as the C core does."""
    rng = np.random.default_rng(7)
    net = lenet.Network(
        [
            lenet.Convolution(1, 4, 3, name="conv", dtype=np.float64),
            lenet.Subsampling(
                4, mode, name="pool", dtype=np.float64, sources=lenet.paper.LENET4_S2_SOURCES
            ),
            lenet.FullConnection(8 * 3 * 3, 3, name="dense", dtype=np.float64),
        ],
        (1, 8, 8),
        np.float64,
    )
    for layer in net.layers:
        layer.init_parameters(rng)
    x = rng.standard_normal((4, 1, 8, 8))
    module = lenet.to_torch(net)
    out = net.forward(x)
    tout = module(torch.from_numpy(x))
    np.testing.assert_allclose(tout.detach().numpy(), out, rtol=1e-12, atol=1e-12)
    w = rng.standard_normal(out.shape)
    (tout * torch.from_numpy(w)).sum().backward()
    net.backward(w)
    grads = net.grad_dict()
    for key, p in module.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[key], rtol=1e-10, atol=1e-12, err_msg=key)
