"""`lenet figures --figure9` and ``viz.figure9``: Figure 9's bars from a made-up results file."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from lenet.cli import (
    figures,  # noqa: E402  (after the skip: the pictures need matplotlib)
    main,  # noqa: E402
)
from lenet.run.figure9 import read_results, summarize  # noqa: E402
from lenet.teach import viz  # noqa: E402

from conftest import figure9_record, write_jsonl  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _record(network, seed, errors, distort=False):
    commit = "0123456789abcdef0123456789abcdef01234567-dirty"
    return figure9_record(network, seed, errors, distort=distort, commit=commit)


@pytest.fixture
def results(tmp_path):
    records = [_record("lenet1", s, e) for s, e in enumerate((160, 170, 200))]
    records += [_record("fc-500-150", s, 300 + s) for s in range(3)]
    records += [_record("paper", s, 100 + 2 * s, distort=True) for s in range(5)]
    records += [{**_record("boosted-lenet4", s, 80), "cost": 1.6 + s / 10} for s in range(3)]
    path = tmp_path / "figure9.jsonl"
    write_jsonl(path, records)
    return path


def test_the_bars_are_the_paper_and_each_networks_mean_and_range(results):
    rows = summarize(read_results(results))
    fig = viz.figure9(rows)
    (ax,) = fig.axes
    bars = {p.get_label(): p for p in ax.patches}
    assert sorted(bars) == sorted(
        [f"{who}:{name}" for who in ("paper", "lenet") for name in
         ("28x28-500-150-10", "LeNet-1", "Boosted LeNet-4", "LeNet-5 [dist]")]
    )  # fmt: skip
    # boosted LeNet-4's label: its mean cost against one net, beside the paper's 1.75
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "Boosted LeNet-4\ncost 1.70 x one net (paper 1.75)" in ticks
    assert "LeNet-1" in ticks
    assert bars["paper:LeNet-1"].get_height() == 1.7
    assert bars["paper:LeNet-5 [dist]"].get_height() == 0.8
    assert bars["lenet:LeNet-1"].get_height() == pytest.approx(5.3 / 3)
    assert bars["lenet:LeNet-5 [dist]"].get_height() == pytest.approx(1.04)
    # the error bars run from the lowest seed to the highest
    (lenet1,) = [row for row in rows if row.network == "lenet1"]
    assert (lenet1.low, lenet1.high, lenet1.seeds) == (1.6, 2.0, (0, 1, 2))
    segments = [s for c in ax.collections for s in c.get_segments()]
    assert any(abs(seg[0][1] - 1.6) < 1e-9 and abs(seg[1][1] - 2.0) < 1e-9 for seg in segments), (
        segments
    )
    title = ax.get_title()
    assert "lenet 0.1.0" in title and "01234567-dirty" in title and "3-5 seeds" in title
    assert "test error" in ax.get_ylabel() and "network" in ax.get_xlabel()
    with pytest.raises(ValueError, match="no scored run"):
        viz.figure9([])


def test_lenet_figures_writes_figure9(results, tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["figures", "--figure9", "--results", str(results), "--out", str(out)]) == 0
    assert capsys.readouterr().out.split() == [str(out / "figure9.png")]
    data = (out / "figure9.png").read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000


def test_lenet_figures_says_what_it_needs(tmp_path, capsys, monkeypatch):
    assert main(["figures", "--out", str(tmp_path)]) == 2
    assert "give a checkpoint (or a run folder), or --figure9" in capsys.readouterr().err
    monkeypatch.setattr(figures, "CHECKOUT_RESULTS", tmp_path / "none.jsonl")
    assert main(["figures", "--figure9", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--results FILE" in err and "benchmarks/figure9_study.py" in err
    assert main(["figures", "--results", str(tmp_path / "none.jsonl"), "--out", str(tmp_path)]) == 2
    assert "none.jsonl" in capsys.readouterr().err
