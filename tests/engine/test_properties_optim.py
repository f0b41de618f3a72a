"""The optimisers' update (SDLM, SGD, RMSprop, Adam) at the binding's boundary, driven by
Hypothesis (the rules of the comparison: properties.py): random settings, states, values and
broken arguments, refused before anything is written; and what the properties found: step
counts past a long long, and unknown keys in an optimiser's description."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from lenet import reference as R
from lenet.engine import _core, fused
from lenet.engine.optim import SGD

from properties import (
    ERRORS,
    F32,
    F64,
    IGNORE_NUMPY_WARNINGS,
    IN_SHAPE,
    budget,
    check,
    f64,
    flags,
    present,
    quiet,
    raises,
    small_network,
    values,
)

pytestmark = IGNORE_NUMPY_WARNINGS


OPTIMIZERS = {
    "sdlm": ({}, ("state1",)),
    "sgd": ({"beta1": (0.0, 0.99)}, ("state1", "mask")),
    "rmsprop": ({"beta1": (0.0, 0.99), "eps": (1e-8, 1e-3)}, ("state1", "mask")),
    "adam": (
        {"beta1": (0.0, 0.99), "beta2": (0.0, 0.999), "eps": (1e-8, 1e-3)},
        ("state1", "state2", "mask"),
    ),
}


def ref_update(kind, params, grads, opt):
    p, g = f64(params), f64(grads)
    if kind == "sdlm":
        return R.sdlm_update(p, g, f64(opt["state1"])), {}
    if kind == "sgd":
        w, v = R.sgd_update(p, g, f64(opt["state1"]), f64(opt["mask"]), opt["lr"], opt["beta1"])
        return w, {"state1": v}
    if kind == "rmsprop":
        w, s = R.rmsprop_update(
            p, g, f64(opt["state1"]), f64(opt["mask"]), opt["lr"], opt["beta1"], opt["eps"]
        )
        return w, {"state1": s}
    w, m, v = R.adam_update(
        p,
        g,
        f64(opt["state1"]),
        f64(opt["state2"]),
        f64(opt["mask"]),
        opt["lr"],
        opt["beta1"],
        opt["beta2"],
        opt["eps"],
        opt["updates"] + 1,
    )
    return w, {"state1": m, "state2": v}


@budget(0.75)
@given(
    data=st.data(),
    kind=st.sampled_from(sorted(OPTIMIZERS)),
    size=st.integers(0, 30),
    dtype=st.sampled_from([F32, F64]),
    vals=values(),
    broken=st.sampled_from(
        [None] * 6
        + [
            "lr",
            "updates",
            "buffer dtype",
            "buffer shape",
            "buffer layout",
            "overlap",
            "params",
            "kind",
        ]
    ),
)
def test_optimizer_step(data, kind, size, dtype, vals, broken):
    settings_, buffers = OPTIMIZERS[kind]
    params = vals.array((size,), dtype)
    grads = vals.array((size,), dtype)
    opt = {
        "kind": kind,
        "lr": data.draw(st.floats(1e-4, 1.0)),
        "updates": data.draw(st.integers(0, 10**6)),
    }
    for name, (lo, hi) in settings_.items():
        # (no values that float32 rounds to 0, where the float64 reference would not: times
        # an infinite state that gives NaN for Inf, or for a finite reference value)
        opt[name] = data.draw(st.one_of(st.just(lo), st.floats(max(lo, 1e-6), hi)))
    for name in buffers:
        if name == "mask":
            opt[name] = (vals.rng.random(size) < 0.8).astype(dtype)
        elif kind == "sdlm":
            opt[name] = np.abs(vals.array((size,), dtype, scale=0.01))
        else:
            opt[name] = np.abs(vals.array((size,), dtype, scale=0.1))
    before = {name: opt[name].copy() for name in buffers}
    start = params.copy()
    if broken is not None:
        name = data.draw(st.sampled_from(buffers))
        if broken == "lr":
            opt["lr"] = data.draw(st.sampled_from([0.0, -1.0, np.nan, np.inf, "0.1", True]))
            raises(ERRORS, "lr must be", _core.optimizer_step, opt, params, grads)
        elif broken == "updates":
            opt["updates"] = data.draw(st.sampled_from([-1, 2**62, 2**63, 10**30, 1.0, True]))
            raises(ValueError, "updates must be a count", _core.optimizer_step, opt, params, grads)
        elif broken == "buffer dtype":
            opt[name] = opt[name].astype(F64 if dtype == F32 else F32)
            raises(TypeError, f"{name} must have dtype", _core.optimizer_step, opt, params, grads)
        elif broken == "buffer shape":
            opt[name] = np.zeros(size + 1, dtype)
            raises(ValueError, f"{name} must have shape", _core.optimizer_step, opt, params, grads)
        elif broken == "buffer layout":
            opt[name] = present(opt[name], "strided") if size > 1 else opt[name].tolist()
            raises(ERRORS, name, _core.optimizer_step, opt, params, grads)
        elif broken == "overlap":  # state or mask in the memory of the params updated
            assume(size > 0)
            opt[name] = params
            raises(ValueError, "must not share memory", _core.optimizer_step, opt, params, grads)
        elif broken == "params":
            raises(
                TypeError,
                "params must be a 1-D float32 or float64",
                _core.optimizer_step,
                opt,
                params.astype(np.float16),
                grads,
            )
        else:
            opt["kind"] = "adagrad"
            raises(
                ValueError,
                "optimizer kind must be one of",
                _core.optimizer_step,
                opt,
                params,
                grads,
            )
        assert np.array_equal(params, start, equal_nan=True)  # nothing written
        return
    want, state = quiet(ref_update, kind, start, grads, {**opt, **before})
    fl = flags(start, grads, *before.values())
    assert _core.optimizer_step(opt, params, grads) == opt["updates"] + 1
    check(params, want.astype(dtype), dtype, f"{kind} params", **fl)
    for name, value in state.items():
        check(opt[name], value.astype(dtype), dtype, f"{kind} {name}", **fl)


# ---- regressions: what the properties above found -----------------------------------------------


def test_optimizer_step_count_is_bounded():
    """An update count past a long long raised OverflowError; at its limit, adding one in C
    would overflow. Refused from 2**62 on."""
    params, grads = np.zeros(3), np.ones(3)
    opt = {"kind": "sgd", "lr": 0.1, "state1": np.zeros(3), "mask": np.ones(3)}
    for updates in (2**62, 2**63, 10**30):
        raises(
            ValueError,
            "updates must be a count from 0 to 2\\*\\*62 - 1",
            _core.optimizer_step,
            {**opt, "updates": updates},
            params,
            grads,
        )
    assert _core.optimizer_step({**opt, "updates": 2**62 - 2}, params, grads) == 2**62 - 1


def test_optimizer_descriptions_with_unknown_keys_are_refused():
    """{"momentum": 0.9} (SGD's setting is beta1) was ignored: SGD ran without momentum."""
    params, grads = np.zeros(3), np.ones(3)
    opt = {"kind": "sgd", "lr": 0.1, "state1": np.zeros(3), "mask": np.ones(3), "momentum": 0.9}
    raises(
        ValueError,
        r"optimizer has unknown key\(s\) 'momentum'",
        _core.optimizer_step,
        opt,
        params,
        grads,
    )
    assert not params.any()
    net = small_network(F64, "logits")
    state = SGD(net, lr=0.01).core_state()
    args = dict(
        spec=fused._cached(net)[1],
        params=net.parameters,
        grads=net.gradients,
        optimizer=state,
        images=np.zeros((1,) + IN_SHAPE),
        labels=[0],
        order=[0],
        batch_size=1,
        loss="cross-entropy",
    )
    raises(
        ValueError,
        "unknown key",
        _core.network_train,
        **{**args, "optimizer": {**state, "rh0": 0.9}},
    )
    raises(TypeError, "loss_sum must be a real number", _core.network_train, **args, loss_sum="0")
    assert _core.network_train(**args, loss_sum=np.float32(2))[1] > 2
