"""Checkpoints (lenet.run.checkpoint): written atomically, read without pickle, every damaged or
foreign file refused with its name, and only networks a config describes saved."""

from __future__ import annotations

import numpy as np
import pytest

import lenet
from lenet.cli import main
from lenet.run.checkpoint import save_checkpoint
from lenet.run.training import Recipe, train

from conftest import tiny_data


def test_a_failed_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch):
    net = lenet.LeNet5(seed=0)
    path = save_checkpoint(tmp_path / "checkpoint.npz", net, {}, {}, {"epoch": 1})
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    net.parameters[:] = 0
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, net, {}, {}, {"epoch": 2})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]  # no temporary left


def test_damaged_checkpoints_are_refused_with_the_file_named(tmp_path):
    bad = tmp_path / "checkpoint.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="checkpoint.npz"):
        lenet.load_checkpoint(bad)
    np.savez(bad, **{"C1.weight": np.zeros((6, 1, 5, 5))})
    with pytest.raises(ValueError, match="meta/config"):
        lenet.load_checkpoint(bad)
    net = lenet.LeNet5()
    path = save_checkpoint(tmp_path / "other.npz", net, {}, {}, {})
    with np.load(path) as data:
        arrays = dict(data)
    arrays["F6.weight"] = np.zeros((3, 3))
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="F6.weight"):
        lenet.load_checkpoint(path)


def test_pickled_checkpoints_are_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, **{"meta/config": np.array([{"model": "paper"}], dtype=object)})
    with pytest.raises(ValueError, match="evil.npz"):
        lenet.load_checkpoint(path)


def test_checkpoint_describes_the_trained_network(tmp_path):
    net = lenet.LeNet5.modern(input_size=32, activation="relu")
    recipe = Recipe(
        model="modern", optimizer="adam", loss="cross-entropy", batch_size=16, passes=1
    )  # the recipe's own activation field says "swish"
    train(net, tiny_data(), recipe=recipe, out=tmp_path, progress=False, echo=None)
    loaded = lenet.load_checkpoint(tmp_path)
    assert loaded.C1.activation == "relu"
    x = tiny_data(4, seed=3)[0]
    assert np.array_equal(loaded.forward(x), net.forward(x))


def test_only_networks_a_config_describes_are_checkpointed(tmp_path):
    """A custom stack of layers cannot be rebuilt from a config: saving it is refused at once,
    and so is training it into a run folder, before any pass (not only when read back)."""
    custom = lenet.Network(
        [
            lenet.Convolution(1, 6, 5, name="C1"),
            lenet.Subsampling(6, name="S2"),
            lenet.Convolution(6, 16, 5, name="C3"),
            lenet.Subsampling(16, name="S4"),
            lenet.Convolution(16, 120, 5, name="C5"),
            lenet.FullConnection(120, 84, name="F6"),
            lenet.RBFOutput(name="output"),
        ],
        (1, 32, 32),
    )
    assert custom.variant == "custom"
    with pytest.raises(ValueError, match="custom Network"):
        save_checkpoint(tmp_path / "c.npz", custom)
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="custom Network"):
        train(
            custom,
            tiny_data(),
            recipe=Recipe(passes=1),
            out=tmp_path / "run",
            progress=False,
            echo=None,
        )
    assert not (tmp_path / "run").exists()
    history = train(custom, tiny_data(8), recipe=Recipe(passes=1), progress=False, echo=None)
    assert len(history) == 1  # without a run folder it trains
    for net in (lenet.LeNet5(), lenet.LeNet5.modern(input_size=32, activation="relu")):
        rebuilt = lenet.engine.lenet5.build_network(lenet.engine.lenet5.network_config(net))
        assert rebuilt.variant == net.variant and rebuilt.summary() == net.summary()


def test_evaluate_says_what_is_not_a_run(tmp_path, capsys):
    folder = tmp_path / "not-a-run"
    folder.mkdir()
    assert main(["evaluate", str(folder)]) == 2
    assert (
        capsys.readouterr().err.strip() == f"lenet evaluate: error: {folder} is not a run "
        f"folder: no checkpoint.npz"
    )
    assert main(["evaluate", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "Errno" not in err
    assert f"{tmp_path / 'missing'}: no such checkpoint file or run folder" in err
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.zeros(3))
    assert main(["evaluate", str(foreign)]) == 2
    assert "is not a lenet checkpoint" in capsys.readouterr().err
    with pytest.raises(lenet.CheckpointError, match="is not a lenet checkpoint"):
        lenet.load_checkpoint(foreign)
    assert issubclass(lenet.CheckpointError, ValueError)
    # public where a user looks for it: lenet, lenet.run.checkpoint, and the module that raises it
    assert lenet.CheckpointError is lenet.run.checkpoint.CheckpointError
    assert lenet.CheckpointError.__module__ == "lenet.run.archive"
    assert not lenet.CheckpointError.__name__.startswith("_")
