"""Training over the passes: the error per pass of Figure 5 (``training_curves``) and what SDLM
starts each pass from (``curvature_by_pass``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...run.archive import read_archive
from .figure import _each, _figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _read_history(source: Any) -> list[dict]:
    if isinstance(source, Mapping):  # read_checkpoint's dict, or its progress
        source = source.get("progress", source)
        if "history" not in source:
            raise ValueError("expected a checkpoint's state or progress, with a 'history'")
        return list(source["history"])
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            if (path / "log.jsonl").exists():
                path = path / "log.jsonl"
            elif not (path / "checkpoint.npz").exists():
                raise ValueError(f"{path} holds neither log.jsonl nor checkpoint.npz")
        if path.suffix == ".jsonl":
            records = []
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if line.strip():
                    try:
                        records.append(json.loads(line))
                    except ValueError:
                        raise ValueError(f"{path}, line {number}: not JSON") from None
            return records
        return list(read_archive(path)["progress"].get("history", []))
    if isinstance(source, Iterable):
        return list(source)
    raise TypeError(
        f"expected a history (list of per-pass dicts), a log.jsonl, a run folder or "
        f"a checkpoint, got {type(source).__name__}"
    )


def curvature_by_pass(
    records: Sequence[Mapping], validation_error: Sequence[float] | None = None, title: str = ""
) -> Figure:
    """What SDLM starts each pass from, layer by layer (Appendix C): three panels over the
    passes, measured on the pass's curvature patterns before its first step.

    * the share of each layer's states beyond +-1.5, where the squashing function is flat;
    * the median of h_kk over the layer's trainable parameters (log scale);
    * the share of its step sizes eps_k = eta / (mu + h_kk) within 10 % of the ceiling eta / mu,
      the parameters whose curvature has stopped counting.

    `records` are per-pass dicts {"pass", "eta", "layers": {name: {"saturated", "h" (the
    quantiles 0, 0.1, 0.5, 0.9, 1), "capped"}}}, as ``benchmarks/sdlm_study.py`` records them;
    with `validation_error` (fractions, one per pass, measured after it) a fourth panel.
    """
    if not records:
        raise ValueError("records must hold at least one pass")
    passes = np.array([r["pass"] for r in records])
    names = [n for n in records[0]["layers"] if records[0]["layers"][n]]
    panels = 4 if validation_error is not None else 3
    fig = _figure(4.2 * panels, 3.8)
    axes = _each(fig.subplots(1, panels))
    what = [
        ("saturated", "states beyond +-1.5 (share)", "linear"),
        ("h", "median h_kk", "log"),
        ("capped", "eps_k at the ceiling eta/mu (share)", "linear"),
    ]
    for ax, (key, label, scale) in zip(axes, what):
        for name in names:
            values = [r["layers"][name].get(key) for r in records]
            if all(v is None for v in values):
                continue
            # h holds quantiles (0, 0.1, 0.5, 0.9, 1): its median is the third
            ys = np.array(
                [np.nan if v is None else (v[2] if key == "h" else v) for v in values], np.float64
            )
            ax.plot(passes, ys, "o-", markersize=3, label=name)
        ax.set_yscale(scale)
        ax.set_xlabel("pass (measured before it)")
        ax.set_title(label, fontsize=10)
        ax.set_label(key)
        ax.legend(fontsize=7)
    if validation_error is not None:
        ax = axes[3]
        ax.plot(np.arange(1, len(validation_error) + 1), 100 * np.asarray(validation_error), "o-")
        ax.set_xlabel("pass (measured after it)")
        ax.set_title("validation error (%)", fontsize=10)
        ax.set_label("validation")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def training_curves(
    history: Sequence[Mapping] | Mapping | str | os.PathLike, paper_error: float | None = None
) -> Figure:
    """Training and test error (%) after each pass over the training set: Figure 5 of the paper
    (Section III.C), where the test error settles after about 10 passes.

    `history` is a list of per-pass records (``train()``'s return value, keys pass,
    train_error, test_error, ...), a ``log.jsonl``, a run folder, a checkpoint file, or a
    checkpoint's state (``read_checkpoint``'s dict). The training error measured after each
    pass is drawn solid; the one averaged on the fly during the pass (how the paper measures
    it), when the log has it, dashed. `paper_error` (a fraction, e.g. 0.0095) adds the paper's
    result as a dotted line. ValueError when there is no finished pass.
    """
    records = _finished_passes(history)
    passes = np.array([r["pass"] for r in records])
    fig = _figure(8, 5)
    ax = fig.subplots()
    ax.set_label("curves")
    _error_lines(ax, passes, records)
    if paper_error is not None:
        ax.axhline(
            100 * paper_error,
            linestyle=":",
            color="black",
            linewidth=1,
            label=f"the paper: {100 * paper_error:.2f} % test error",
        )
    ax.set_xlabel("pass over the training set")
    ax.set_ylabel("error rate (%)")
    ax.set_ylim(bottom=0)
    if len(passes) <= 25:  # every pass numbered, as in Figure 5
        ax.set_xticks(passes)
    if len(passes) == 1:  # a single point: centre it, with room on both sides
        ax.set_xlim(passes[0] - 1, passes[0] + 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    ax.set_title("Training and test error per pass", fontsize=12)
    return fig


def _finished_passes(history: Any) -> list[Mapping]:
    """The history's records of finished passes (not interrupted, with a training error);
    ValueError when there is none."""
    records: list[Mapping] = [
        r
        for r in _read_history(history)
        if isinstance(r, Mapping)
        and "pass" in r
        and not r.get("interrupted")
        and r.get("train_error") is not None
    ]
    if not records:
        raise ValueError("the training log holds no finished pass: nothing to draw")
    return records


def _percent(records: Sequence[Mapping], key: str) -> np.ndarray:
    """records[i][key] in %, NaN where a record lacks it."""
    return np.array(
        [100 * r[key] if r.get(key) is not None else np.nan for r in records], dtype=np.float64
    )


def _error_lines(ax: Any, passes: np.ndarray, records: Sequence[Mapping]) -> None:
    """The training error during each pass (dashed, when logged) and after it, and the test
    error after it with its last value written beside it."""
    train, test = _percent(records, "train_error"), _percent(records, "test_error")
    # every point marked, larger when there are few (one pass draws no line, only the points)
    size = 4 if len(passes) > 3 else 9
    running = _percent(records, "running_train_error")
    if not np.all(np.isnan(running)):
        ax.plot(
            passes,
            running,
            "s--",
            color="tab:blue",
            alpha=0.55,
            markersize=size - 1,
            label="training error during the pass (running)",
        )
    ax.plot(
        passes,
        train,
        "o-",
        color="tab:blue",
        markersize=size,
        label="training error after the pass",
    )
    if not np.all(np.isnan(test)):
        ax.plot(
            passes, test, "o-", color="tab:red", markersize=size, label="test error after the pass"
        )
        last = int(np.flatnonzero(~np.isnan(test))[-1])
        ax.annotate(
            f"{test[last]:.2f} %",
            (passes[last], test[last]),
            xytext=(6, 6),
            textcoords="offset points",
            color="tab:red",
            fontsize=9,
        )
