"""The fused path (lenet.engine.fused, csrc/network.c): a whole network per C call.

It must give the same bits as the per-layer path for the same thread count (forward, and whole
training runs with every optimiser and loss), the same bits for 1 and 2 threads, agree with the
plain NumPy reference, and refuse bad input with clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import lenet
from lenet import reference as R
from lenet.engine import _core, fused, inputs
from lenet.engine.losses import Loss
from lenet.engine.optim import SGD, Adam, RMSprop
from lenet.engine.sdlm import SDLM
from lenet.reference_network import network_backward, network_forward
from lenet.run.training import Recipe, TrainingDiverged, loss_and_grad, train

from conftest import StopAfter, tiny_data


def paper_images(rng, n, dtype=np.float32):
    return rng.uniform(-0.1, 1.175, (n, 1, 32, 32)).astype(dtype)


NETS = {
    "paper": lambda dtype: lenet.LeNet5(seed=3, dtype=dtype, init="lecun98-sqrt"),
    "modern-swish-28": lambda dtype: lenet.LeNet5.modern(seed=3, dtype=dtype),
    "modern-relu-avg-32": lambda dtype: lenet.LeNet5.modern(
        seed=3, dtype=dtype, input_size=32, activation="relu", pooling="average"
    ),
}


@pytest.mark.parametrize("name", list(NETS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,batch_size", [(1, 256), (5, 2), (70, 64)])
def test_fused_forward_equals_the_layer_path_bitwise(name, dtype, n, batch_size, rng, threads):
    net = NETS[name](dtype)
    x = rng.uniform(-0.1, 1.175, (n,) + net.input_shape)
    for t in (1, 2):
        lenet.set_num_threads(t)
        expected = net.forward(x)
        got = fused.forward(net, x, batch_size)
        assert got.dtype == np.dtype(dtype) and np.array_equal(got, expected)
    assert np.array_equal(net.infer(x), expected)
    assert np.array_equal(
        net.predict(x), np.argmin(expected, 1) if name == "paper" else np.argmax(expected, 1)
    )


def per_layer_steps(net, optimizer, x, y, batch, loss, j=1.0):
    """The per-layer loop the fused path must reproduce, with its running figures."""
    recipe = Recipe(model=net.variant, loss=loss, **({"j": j} if loss == "discriminative" else {}))
    total, errors = 0.0, 0
    for lo in range(0, len(x), batch):
        xb, yb = x[lo : lo + batch], y[lo : lo + batch]
        out = net.forward(xb)
        value, grad = loss_and_grad(net, out, yb, recipe)
        net.backward(grad)
        optimizer.step()
        total += value * len(xb)
        pred = np.argmin(out, 1) if loss != "cross-entropy" else np.argmax(out, 1)
        errors += int(np.sum(pred != yb))
    return total, errors


OPTIMISERS = {
    "sdlm": lambda net: SDLM(net, mu=0.5),
    "sgd-momentum": lambda net: SGD(net, lr=0.01, momentum=0.9),
    "rmsprop": lambda net: RMSprop(net),
    "adam": lambda net: Adam(net),
}


@pytest.mark.parametrize("opt", list(OPTIMISERS))
@pytest.mark.parametrize("batch", [1, 3, 16])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_training_equals_the_layer_path_bitwise(opt, batch, dtype, rng, threads):
    x, y = paper_images(rng, 40), rng.integers(0, 10, 40)
    loss = "discriminative" if opt == "rmsprop" else "penalty"
    for t in (1, 2):
        lenet.set_num_threads(t)
        a, b = (
            lenet.LeNet5(seed=1, dtype=dtype, init="lecun98-sqrt"),
            lenet.LeNet5(seed=1, dtype=dtype, init="lecun98-sqrt"),
        )
        oa, ob = OPTIMISERS[opt](a), OPTIMISERS[opt](b)
        if opt == "sdlm":
            oa.start_pass(0, (x[:20], y[:20]))
            ob.start_pass(0, (x[:20], y[:20]))
        expected = per_layer_steps(a, oa, x, y, batch, loss, j=0.5)
        order = np.arange(len(x))
        steps, loss_sum, errors, diverged = fused.FusedTrainer(b, ob, batch, Loss(loss, 0.5)).run(
            x, y, order
        )
        assert (steps, diverged) == (-(-len(x) // batch), False)
        assert (loss_sum, errors) == expected
        assert np.array_equal(a.parameters, b.parameters)
        assert np.array_equal(a.gradients, b.gradients)
        assert oa.updates == ob.updates
        for name in oa.state_arrays:
            assert np.array_equal(getattr(oa, name), getattr(ob, name))


def test_fused_training_is_the_same_bits_on_one_and_two_threads(rng, threads):
    x, y = paper_images(rng, 64), rng.integers(0, 10, 64)
    results = []
    for t in (1, 2):
        lenet.set_num_threads(t)
        for batch in (1, 32):
            net = lenet.LeNet5(seed=2)
            fused.FusedTrainer(net, SGD(net, lr=0.01), batch).run(x, y, np.arange(64))
            results.append((t, batch, net.parameters.copy()))
    assert np.array_equal(results[0][2], results[2][2])
    assert np.array_equal(results[1][2], results[3][2])


@pytest.mark.parametrize(
    "net_name, scheme, size",
    [("paper", "paper", 28), ("modern-swish-28", "raw", 28), ("modern-relu-avg-32", "unit", 32)],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [1, 7])
def test_training_on_pixels_gives_the_bits_of_training_on_their_input(
    net_name, scheme, size, dtype, batch, rng, threads
):
    """The fused loop's gather (uint8 pixels scaled and padded on the way in) against the
    same images preprocessed first, and against the per-layer path, on 1 and 2 threads."""
    pixels = rng.integers(0, 256, (30, size, size), dtype=np.uint8)
    lr = 1e-5 if scheme == "raw" else 0.01  # raw pixels are 0..255
    y = rng.integers(0, 10, 30)
    order = rng.permutation(30)
    results = []
    for t in (1, 2):
        lenet.set_num_threads(t)
        for images in (
            inputs.Preprocessed(pixels, scheme, dtype),
            inputs.preprocess(pixels, scheme, dtype),
        ):
            net = NETS[net_name](dtype)
            opt = SGD(net, lr=lr, momentum=0.9)
            out = fused.FusedTrainer(net, opt, batch).run(images, y, order)
            results.append((out, net.parameters.copy()))
        net = NETS[net_name](dtype)
        opt = SGD(net, lr=lr, momentum=0.9)
        loss = "cross-entropy" if net_name != "paper" else "penalty"
        x = inputs.preprocess(pixels, scheme, dtype)
        expected = per_layer_steps(net, opt, x[order], y[order], batch, loss)
        assert results[-1][0][1:3] == expected
        results.append((None, net.parameters.copy()))
    for _, params in results[1:]:
        assert np.array_equal(params, results[0][1])
    assert results[0][0] == results[1][0] == results[3][0]


@pytest.mark.parametrize(
    "net_name, scheme, size",
    [("paper", "paper", 28), ("modern-swish-28", "raw", 28), ("modern-relu-avg-32", "unit", 32)],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [1, 7, 300])
def test_inference_on_pixels_gives_the_bits_of_inference_on_their_input(
    net_name, scheme, size, dtype, batch, rng
):
    """net.infer reads Preprocessed pixels in C (scaled and padded as each batch is gathered):
    the same bits as on the images preprocessed first, and as net.forward on them."""
    pixels = rng.integers(0, 256, (301, size, size), dtype=np.uint8)
    net = NETS[net_name](dtype)
    images = inputs.Preprocessed(pixels, scheme, dtype)
    x = inputs.preprocess(pixels, scheme, dtype)
    got = net.infer(images, batch)
    assert np.array_equal(got, net.infer(x, batch))
    assert np.array_equal(got, net.forward(x))
    # pixels preprocessed to the other dtype are converted to the network's
    other = np.float64 if dtype == np.float32 else np.float32
    assert np.array_equal(net.infer(inputs.Preprocessed(pixels, scheme, other), batch), got)


def test_pixels_with_the_wrong_dtype_are_refused(rng):
    net = lenet.LeNet5(seed=0)
    images = inputs.Preprocessed(rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), dtype="float64")
    with pytest.raises(ValueError, match=r"float64, the network computes in float32.*astype"):
        fused.FusedTrainer(net, SGD(net, lr=0.1), 2).run(images, np.arange(4), np.arange(4))


def test_fused_modern_training_equals_the_layer_path(rng, threads):
    x = rng.uniform(0, 1, (50, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 50)
    a, b = lenet.LeNet5.modern(seed=0), lenet.LeNet5.modern(seed=0)
    oa, ob = RMSprop(a), RMSprop(b)
    expected = per_layer_steps(a, oa, x, y, 32, "cross-entropy")
    got = fused.FusedTrainer(b, ob, 32, Loss("cross-entropy")).run(x, y, np.arange(50))
    assert got[1:3] == expected and np.array_equal(a.parameters, b.parameters)


def test_one_fused_step_matches_the_numpy_reference(rng):
    """float64: forward, loss (8), backward and an SGD update computed with lenet.reference."""
    net = lenet.LeNet5(seed=4, dtype=np.float64)
    x, y = paper_images(rng, 3, np.float64), rng.integers(0, 10, 3)
    params = {k: v.copy() for k, v in net.state_dict().items()}
    loss, dout = R.loss_rbf_penalty(network_forward(net, x)[-1][2], y)
    _, grads = network_backward(net, x, dout)
    _, loss_sum, _, _ = fused.FusedTrainer(net, SGD(net, lr=0.1), 3).run(x, y, np.arange(3))
    assert loss_sum == pytest.approx(3 * loss, rel=1e-12)
    for name, value in net.state_dict().items():
        expected = params[name] - 0.1 * grads[name]
        np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_update_kernels_match_the_numpy_reference(dtype, rng):
    n = 1000
    w, g = rng.normal(size=n).astype(dtype), rng.normal(size=n).astype(dtype)
    mask = (rng.uniform(size=n) > 0.2).astype(dtype)
    s1, s2 = rng.uniform(0, 1, n).astype(dtype), rng.uniform(0, 1, n).astype(dtype)
    tol = {
        "rtol": 2e-6 if dtype == np.float32 else 1e-13,
        "atol": 1e-7 if dtype == np.float32 else 1e-15,
    }

    def step(kind, p, state1, state2=None, updates=0, **settings):
        return _core.optimizer_step(
            {
                "kind": kind,
                "updates": updates,
                "mask": mask,
                "state1": state1,
                "state2": state2,
                **settings,
            },
            p,
            g,
        )

    p = w.copy()
    assert step("sdlm", p, s1 * mask) == 1
    np.testing.assert_allclose(p, R.sdlm_update(w, g, s1 * mask), **tol)
    p, v = w.copy(), s1.copy()
    step("sgd", p, v, lr=0.05, beta1=0.9)
    for got, want in zip((p, v), R.sgd_update(w, g, s1, mask, 0.05, 0.9)):
        np.testing.assert_allclose(got, want, **tol)
    p, v = w.copy(), s1.copy()
    step("rmsprop", p, v, lr=0.01, beta1=0.9, eps=1e-7)
    for got, want in zip((p, v), R.rmsprop_update(w, g, s1, mask, 0.01, 0.9, 1e-7)):
        np.testing.assert_allclose(got, want, **tol)
    p, m, v = w.copy(), s1.copy(), s2.copy()
    assert step("adam", p, m, v, updates=6, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8) == 7
    for got, want in zip((p, m, v), R.adam_update(w, g, s1, s2, mask, 0.01, 0.9, 0.999, 1e-8, 7)):
        np.testing.assert_allclose(got, want, **tol)
    assert np.array_equal(p[mask == 0], w[mask == 0])  # fixed values never move


@pytest.mark.parametrize(
    "recipe",
    [
        Recipe(passes=2, curvature_patterns=16, limit=40),
        Recipe(passes=2, optimizer="sgd", lr=0.01, momentum=0.5, batch_size=4, distort=True),
        Recipe(
            model="modern",
            activation="relu",
            optimizer="adam",
            loss="cross-entropy",
            batch_size=8,
            passes=2,
        ),
    ],
    ids=["paper-sdlm", "sgd-distort", "modern-adam"],
)
def test_train_gives_the_same_history_and_bits_either_way(recipe, threads):
    x, y = tiny_data(48)
    if recipe.model == "modern":
        x = x[:, :, 2:30, 2:30]
    runs = []
    for use_fused in (False, True):
        net = (
            lenet.LeNet5(seed=0)
            if recipe.model == "paper"
            else lenet.LeNet5.modern(seed=0, activation="relu")
        )
        history = train(
            net, (x, y), (x[:10], y[:10]), recipe, progress=False, echo=None, fused=use_fused
        )
        runs.append(
            (
                net.parameters.copy(),
                [{k: v for k, v in r.items() if k != "seconds"} for r in history],
            )
        )
    assert np.array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


@pytest.mark.parametrize("stop_at", [1, 2])
def test_fused_interrupt_and_resume_give_the_same_bits(tmp_path, monkeypatch, stop_at):
    import lenet.run.training as train_module

    x, y = tiny_data(3000)
    recipe = Recipe(passes=2, optimizer="sgd", lr=0.01)
    whole = lenet.LeNet5(seed=0)
    train(whole, (x, y), None, recipe, progress=False, echo=None)
    net = lenet.LeNet5(seed=0)
    monkeypatch.setattr(train_module, "StopOnInterrupt", StopAfter(stop_at))
    history = train(net, (x, y), None, recipe, out=tmp_path, progress=False, echo=None)
    assert history[-1]["interrupted"] and history[-1]["step"] % 1024 == 0
    monkeypatch.undo()
    resumed = lenet.LeNet5(seed=0)
    train(resumed, (x, y), None, recipe, out=tmp_path, resume=True, progress=False, echo=None)
    assert np.array_equal(resumed.parameters, whole.parameters)


def poisoned_net():
    net = lenet.LeNet5(seed=0)
    net.F6.params["weight"][0, 0] = np.nan  # as if an earlier update had blown up
    return net


def test_divergence_stops_before_the_bad_update(rng):
    x, y = paper_images(rng, 20), rng.integers(0, 10, 20)
    net = poisoned_net()
    before = net.parameters.copy()
    trainer = fused.FusedTrainer(net, SGD(net, lr=0.01), 1)
    steps, loss_sum, _, diverged = trainer.run(x, y, np.arange(20))
    assert (steps, diverged, loss_sum, trainer.optimizer.updates) == (0, True, 0.0, 0)
    assert np.array_equal(net.parameters, before, equal_nan=True)  # no update was made
    with pytest.raises(TrainingDiverged, match="pass 1, step 1"):
        train(
            poisoned_net(),
            (x, y),
            None,
            Recipe(optimizer="sgd", lr=0.01, passes=1),
            progress=False,
            echo=None,
        )


def test_bad_input_is_refused_with_the_argument_named(rng):
    net = lenet.LeNet5(seed=0)
    spec = fused.layer_spec(net)
    x, y = paper_images(rng, 4), np.arange(4)
    state = SGD(net, lr=0.1).core_state()
    call = dict(
        spec=spec,
        params=net.parameters,
        grads=net.gradients,
        optimizer=state,
        images=x,
        labels=y,
        order=np.arange(4),
        batch_size=2,
    )
    cases = [
        (dict(order=np.array([0, 4])), ValueError, "order"),
        (dict(labels=np.array([0, 1, 2, 10])), ValueError, "labels"),
        (dict(images=x[:, :, :30]), ValueError, "images"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(grads=net.parameters), ValueError, "grads"),
        (dict(params=net.parameters.astype(np.float64)), TypeError, "grads"),
        (dict(optimizer={**state, "kind": "lbfgs"}), ValueError, "optimizer kind"),
        (dict(optimizer={**state, "lr": -1.0}), ValueError, "lr"),
        (dict(spec=spec[:-1] + [{**spec[-1], "in_shape": (83, 1, 1)}]), ValueError, "spec"),
        (
            dict(spec=[{**spec[0], "weight": net.parameters.size}] + spec[1:]),
            ValueError,
            "weight offset",
        ),
    ]
    pixels = np.zeros((4, 1, 28, 28), np.uint8)
    lut = inputs.Preprocessed(pixels).lut
    cases += [
        (dict(images=pixels.astype(np.float32), lut=lut, pad=2), ValueError, "uint8 array"),
        (dict(images=pixels[:, 0], lut=lut, pad=2), ValueError, "uint8 array"),
        (dict(images=pixels, lut=lut, pad=1), ValueError, "padded by 1 make inputs of 900"),
        (dict(images=pixels, lut=lut, pad=-1), ValueError, "pad must be"),
        (dict(images=pixels, lut=lut, pad=2.0), ValueError, "pad must be"),
        (dict(images=pixels, lut=lut[:255], pad=2), ValueError, "lut must hold 256"),
        (dict(images=pixels, lut=lut[:, None], pad=2), ValueError, "lut must have 1"),
    ]
    for change, error, word in cases:
        with pytest.raises(error, match=word):
            _core.network_train(**{**call, **change})
    with pytest.raises(ValueError, match="loss"):
        _core.network_train(**call, loss="cross-entropy")
    with pytest.raises(ValueError, match="x must hold samples"):  # one flat image: no batch axis
        _core.network_forward(spec, net.parameters, x[0].ravel())
    with pytest.raises(ValueError, match="x must have shape"):
        fused.forward(net, x[:, :, :28, :28])
    with pytest.raises(ValueError, match="non-finite"):
        fused.forward(net, np.full((1, 1, 32, 32), np.nan))


@pytest.mark.parametrize(
    "kind, in_shape, k",
    [(_core.LAYER_CONVOLUTION, (32768, 2, 2), 2), (_core.LAYER_FULL_CONNECTION, (65536, 1, 1), 0)],
)
def test_a_layer_of_2_to_the_32_weights_needs_room_for_them(kind, in_shape, k):
    """32768 x 32768 x 2 x 2 (and 65536 x 65536) weights: 2**32, which wrapped to 0 when the
    plan counted in C ints, so a layer with no weight offset passed and the kernel read before
    the parameters."""
    spec = [
        dict(
            kind=kind,
            activation="identity",
            mode="paper",
            in_shape=in_shape,
            out_shape=(in_shape[0], 1, 1),
            k=k,
            pad=0,
            table=None,
            weight=None,
            bias=0,
            prototypes=None,
        )
    ]
    with pytest.raises(ValueError, match="weight offset .* room for 4294967296 values"):
        _core.network_plan(spec, np.zeros(in_shape[0], np.float32))


def test_layers_describe_themselves_by_the_core_codes():
    """A layer's description gives its kind as the code of C's enum lenet_layer_kind, taken
    from the enum itself; anything else in its place (the kind's name, a bool, another number)
    is refused."""
    codes = (
        _core.LAYER_CONVOLUTION,
        _core.LAYER_SUBSAMPLING,
        _core.LAYER_FULL_CONNECTION,
        _core.LAYER_RBF,
    )
    assert len(set(codes)) == 4 and all(type(c) is int for c in codes)
    net = lenet.LeNet5()
    spec = [dict(d) for d in fused.layer_spec(net)]
    C, S = _core.LAYER_CONVOLUTION, _core.LAYER_SUBSAMPLING
    assert [d["kind"] for d in spec] == [C, S, C, S, C, _core.LAYER_FULL_CONNECTION, codes[3]]
    for junk in ("convolution", True, np.float64(0.0), max(codes) + 1, -1):
        spec[0]["kind"] = junk
        with pytest.raises(ValueError, match=r"spec\[0\] kind must be one of the layer codes"):
            _core.network_plan(spec, net.parameters)


def test_networks_with_unknown_layers_fall_back(rng):
    class Doubling(lenet.FullConnection):
        pass

    net = lenet.Network(
        [lenet.Convolution(1, 2, 5, name="C1"), Doubling(2 * 28 * 28, 3, name="F")], (1, 32, 32)
    )
    assert fused.layer_spec(net)  # a subclass of a known layer is still that layer
    assert fused.supports(lenet.LeNet5())
