"""Boosted LeNet-4 (Figure 9: 0.7 %), trained as the paper did it, from one call.

``train_boosted(out, BoostingSettings(seed=s))`` (``lenet train --model boosted-lenet4``):

1. **Net 1** is a LeNet-4 trained the usual way (``RECIPES["lenet4"]``) on the first
   ``images`` training images (default: all but the validation split).
2. **Net 2** is trained on patterns filtered by net 1: half of them net 1 gets wrong, half it
   gets right. The candidates are a stream: the ``images`` in a seeded order (round 0), then
   distorted copies of them, each round in its own order with its own distortions (the
   recipe's ranges, ``lenet.data.distortions``), every draw a function of the seed and the
   round alone. The filter walks the stream, keeps every pattern net 1 gets wrong and, after
   each, the next one it gets right (Drucker et al.'s coin, made deterministic: the right
   patterns come from the same part of the stream as the wrong), until it holds ``patterns``.
3. **Net 3** is trained on new patterns, the stream going on where net 2's filter stopped, on
   which nets 1 and 2 disagree.
4. **The threshold** of ``lenet.run.boosted.BoostedNetwork`` (the margin of net 1's answer
   from which nets 2 and 3 are not run) is chosen on the validation split, the last
   ``validation`` training images, which no net trains on: the smallest threshold (to 0.01)
   with which the combined network makes no more errors there than with all three nets always
   run.

Where the paper is silent (docs/figure9.md, "Boosted LeNet-4"): it gives no set sizes. Nets 2
and 3 train on ``patterns`` = 10,000 patterns each by default, found among at most
``candidates`` = 10 x ``images`` candidates each (the originals and 9 distorted copies, as the
paper's enlarged training set); when the budget holds fewer, the net trains on those found (the
mix kept) and the record says how many. Each net is started from its own seed (seed, seed + 1,
seed + 2), so net 1 is exactly ``lenet train --model lenet4 --seed S --limit IMAGES``.

The folder ``out`` holds ``net1/``, ``net2/``, ``net3/`` (each a ``lenet train`` run folder:
``lenet evaluate out/net2`` works), ``net2-patterns.npz`` and ``net3-patterns.npz`` (what the
filters chose: training-image indices and distortion rounds, not images) and ``boosting.json``
(the settings, what each filter examined and found, the threshold and what it gives). Each
stage is written when done; a run stopped anywhere (Ctrl-C inside a net's training writes its
checkpoint) and resumed (``resume=True``) ends with the same bits as an uninterrupted one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.distortions import distort_by, distortion_ranges
from ..engine import checks
from ..engine.family import FAMILY
from ..engine.inputs import Preprocessed
from ..engine.network import Network
from . import training
from .boosted import BOOSTING_FILE, NET_FOLDERS, BoostedNetwork, cost_of, is_boosted_run
from .recipes import RECIPES, Recipe, recipe_with
from .rejection import margin
from .runs import write_atomically
from .session import pass_generator, progress_bar

__all__ = [
    "BOOSTED",
    "BoostingSettings",
    "CandidateStream",
    "choose_threshold",
    "filter_disagreements",
    "filter_right_wrong",
    "train_boosted",
]

#: the boosted networks `lenet train --model` knows -> the family model it combines three of
BOOSTED = {"boosted-lenet4": "lenet4"}
#: the key, in the place of a pass's number, of the candidate stream's draws (lenet.run.session)
STREAM_KEY = 2**32 - 2
#: candidates run through a net per call while filtering
FILTER_BATCH = 2048


@dataclass(frozen=True)
class BoostingSettings:
    """What defines a boosted run (see the module's docstring); None: the default."""

    model: str = "lenet4"  # the family network combined (lenet.engine.family.FAMILY)
    seed: int = 0
    images: int | None = None  # training images 0 .. images-1 (None: all but the validation)
    validation: int = 10_000  # the last training images: the threshold's split
    patterns: int = 10_000  # patterns nets 2 and 3 train on, each
    candidates: int | None = None  # the most candidates each filter examines (None: 10 x images)
    passes: int | None = None  # passes of each net (None: its recipe's)

    def check(self, spell: Callable[[str], str] = lambda name: name) -> None:
        """Refuse a bad setting, naming it as ``spell`` spells it."""
        checks.one_of(spell("model"), self.model, tuple(FAMILY))
        checks.whole_number(spell("seed"), self.seed, 0)
        checks.whole_number(spell("validation"), self.validation, 1)
        checks.whole_number(spell("patterns"), self.patterns, 2)
        for name in ("images", "candidates", "passes"):
            if getattr(self, name) is not None:
                checks.whole_number(spell(name), getattr(self, name), 1)

    def recipe(self, k: int, images: int, data: str | None = None) -> Recipe:
        """The recipe of net ``k`` (1, 2, 3): the model's own, from seed + k - 1; net 1 on
        the first ``images`` training images; ``data``: the folder the data were read from."""
        changes: dict[str, Any] = {"seed": self.seed + k - 1, "data": data}
        if self.passes is not None:
            changes["passes"] = self.passes
        if k == 1:
            changes["limit"] = images
        return recipe_with(RECIPES[self.model], **changes)


# ---- the candidates ---------------------------------------------------------------------------


class CandidateStream:
    """The candidate patterns of the filters: candidate c is image ``order_r[c % n]`` of round
    r = c // n, as it is (round 0) or distorted by round r's draws for that image."""

    def __init__(self, x: Preprocessed, seed: int, ranges: dict[str, float]) -> None:
        self.x, self.seed, self.ranges, self.n = x, seed, ranges, len(x)
        self._round: tuple[int, np.ndarray, np.ndarray] | None = None

    def round(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """(order (n,), draws (n, 5)) of round r, from the seed and r alone."""
        if self._round is None or self._round[0] != r:
            rng = pass_generator(self.seed, STREAM_KEY, r)
            order = rng.permutation(self.n)
            self._round = (r, order, rng.uniform(-1.0, 1.0, size=(self.n, 5)))
        return self._round[1], self._round[2]

    def chunk(self, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray]:
        """(indices, rounds) of candidates c0 .. c1-1, which lie in one round."""
        r = c0 // self.n
        assert (c1 - 1) // self.n == r
        order, _ = self.round(r)
        index = order[c0 - r * self.n : c1 - r * self.n]
        return index, np.full(len(index), r, np.int64)

    def images(self, index: np.ndarray, rounds: np.ndarray) -> np.ndarray:
        """The patterns (index, round) as network input: the same bits however grouped."""
        out = self.x[np.asarray(index, np.int64)]
        for r in np.unique(rounds):
            if r == 0:
                continue
            sel = np.flatnonzero(rounds == r)
            _, draws = self.round(int(r))
            out[sel] = distort_by(out[sel], draws[index[sel]], self.ranges)
        return out

    def walk(
        self, first: int, budget: int, bar: Any
    ) -> Any:  # yields (c0, indices, rounds, images)
        """The candidates from ``first`` on, at most ``budget``, a batch at a time."""
        c, end = first, first + budget
        while c < end:
            c1 = min(c + FILTER_BATCH, end, (c // self.n + 1) * self.n)
            index, rounds = self.chunk(c, c1)
            yield c, index, rounds, self.images(index, rounds)
            if bar is not None:
                bar.update(c1 - c)
            c = c1


def _answers(net: Network, images: np.ndarray) -> np.ndarray:
    return net.classify(net.infer(images, 256))


def filter_right_wrong(
    net: Network,
    stream: CandidateStream,
    y: np.ndarray,
    first: int,
    budget: int,
    patterns: int,
    bar: Any = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Net 2's patterns: (indices, rounds, record). Walking the stream from ``first``, every
    pattern ``net`` gets wrong is kept and, after each, the next one it gets right, until
    ``patterns // 2`` of each are held or ``budget`` candidates are examined; the record says
    how many were examined (up to the last one kept) and found."""
    half = patterns // 2
    wrong: list[tuple[int, int, int]] = []  # (candidate, index, round)
    right: list[tuple[int, int, int]] = []
    for c0, index, rounds, images in stream.walk(first, budget, bar):
        ok = _answers(net, images) == y[index]
        for k in range(len(index)):
            pattern = (c0 + k, int(index[k]), int(rounds[k]))
            if not ok[k] and len(wrong) < half:
                wrong.append(pattern)
            elif ok[k] and len(right) < len(wrong):
                right.append(pattern)
            if len(right) == half:
                break
        if len(right) == half:
            break
    kept = sorted(wrong[: len(right)] + right)  # as many right as wrong, in stream order
    return _found(
        kept, first, budget, len(right) == half, {"wrong": len(right), "right": len(right)}
    )


def filter_disagreements(
    nets: tuple[Network, Network],
    stream: CandidateStream,
    first: int,
    budget: int,
    patterns: int,
    bar: Any = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Net 3's patterns: (indices, rounds, record), the first ``patterns`` candidates from
    ``first`` (at most ``budget`` examined) on which the two nets' answers differ."""
    kept: list[tuple[int, int, int]] = []
    for c0, index, rounds, images in stream.walk(first, budget, bar):
        differ = np.flatnonzero(_answers(nets[0], images) != _answers(nets[1], images))
        kept += [(c0 + int(k), int(index[k]), int(rounds[k])) for k in differ]
        if len(kept) >= patterns:
            break
    filled, kept = len(kept) >= patterns, kept[:patterns]
    return _found(kept, first, budget, filled, {"disagreements": len(kept)})


def _found(
    kept: list[tuple[int, int, int]], first: int, budget: int, filled: bool, counts: dict
) -> tuple[np.ndarray, np.ndarray, dict]:
    """The kept patterns as (indices, rounds) and the filter's record: the candidates it
    examined (up to the last one kept when it found all it sought, else its whole budget)."""
    if not kept:
        raise ValueError(f"no pattern was found among {budget:,} candidates: allow more of them")
    end = kept[-1][0] + 1 if filled else first + budget
    record = {"first": first, "examined": end - first, "budget": budget, **counts}
    index = np.array([p[1] for p in kept], np.int64)
    return index, np.array([p[2] for p in kept], np.int64), record


# ---- the threshold ----------------------------------------------------------------------------


def choose_threshold(margins: np.ndarray, wrong_alone: np.ndarray, wrong_full: np.ndarray) -> float:
    """The smallest threshold t (0, or a margin rounded down to 0.01 plus 0.01) with which
    answering by net 1 alone where its margin is >= t, and by all three nets elsewhere, makes
    no more errors than all three nets everywhere. ``margins``: net 1's; ``wrong_alone``,
    ``wrong_full``: where net 1's answer and the three nets' are wrong."""
    m = np.asarray(margins, np.float64)
    order = np.argsort(m, kind="stable")
    m_sorted = m[order]
    # k images below t: the errors of all three on them, plus net 1's on the rest
    full_below = np.concatenate([[0], np.cumsum(wrong_full[order])])
    alone_above = np.concatenate([np.cumsum(wrong_alone[order][::-1])[::-1], [0]])
    limit = int(np.sum(wrong_full))
    candidates = np.unique(np.concatenate([[0.0], (np.floor(m * 100) + 1) / 100]))
    k = np.searchsorted(m_sorted, candidates, side="left")
    ok = full_below[k] + alone_above[k] <= limit
    return float(candidates[np.argmax(ok)])  # t above every margin always qualifies


def _validation_record(nets: list[Network], x: Any, y: np.ndarray) -> tuple[float, dict]:
    """The threshold chosen on the validation images (x, y), and what it gives there."""
    outs = [np.asarray(net.infer(x, 256), np.float64) for net in nets]
    m = margin(outs[0], "penalty-gap")
    alone, all_three = np.argmin(outs[0], axis=1), np.argmin(outs[0] + outs[1] + outs[2], axis=1)
    wrong_alone, wrong_full = alone != y, all_three != y
    t = choose_threshold(m, wrong_alone, wrong_full)
    full = m < t
    answer = np.where(full, all_three, alone)
    return t, {
        "images": len(y),
        "error_net1": float(np.mean(wrong_alone)),
        "error_all_three": float(np.mean(wrong_full)),
        "error": float(np.mean(answer != y)),
        "cost": cost_of(full),
    }


# ---- the run ----------------------------------------------------------------------------------


def train_boosted(
    out: str | os.PathLike,
    settings: BoostingSettings | None = None,
    *,
    resume: bool = False,
    data: str | os.PathLike | None = None,
    download: bool = True,
    progress: bool = True,
    echo: Callable[[str], None] | None = print,
) -> dict:
    """Train a boosted network into the folder ``out`` (see the module's docstring); with
    ``resume``, go on from where the run in ``out`` stopped (its settings are the folder's:
    ``settings``, if given, must be the same). Returns ``boosting.json``'s record, with
    ``"interrupted": True`` when Ctrl-C stopped a net's training (its checkpoint written)."""
    out = Path(out)
    saved = _saved_record(out) if resume else None
    settings = _settings(out, settings, saved)
    say = echo or (lambda text: None)
    if data is None and saved is not None:  # the folder it was read from, as recorded
        data = saved.get("data")
    data = str(Path(data).expanduser().resolve()) if data is not None else None
    train_set, test_set = training.load_data(RECIPES[settings.model], data, download)
    x, y = train_set
    images = settings.images if settings.images is not None else len(x) - settings.validation
    if images < 1 or images + settings.validation > len(x):
        raise ValueError(
            f"images ({images:,}) and validation ({settings.validation:,}) must fit, apart, in "
            f"the {len(x):,} training images"
        )
    record = saved if saved is not None else _start_record(out, settings, images, data)
    pool_x, pool_y = x[:images], y[:images]
    stream = CandidateStream(pool_x, settings.seed, record["distortion_ranges"])
    budget, patterns = record["candidates"], settings.patterns

    def bar(what: str) -> Any:
        return progress_bar(budget, what, progress)

    nets: list[Network] = []
    for k in (1, 2, 3):
        if k == 1:
            pairs = (pool_x, pool_y)
        else:
            index, rounds = _patterns(out, k, record, nets, stream, pool_y, patterns, bar, say)
            pairs = (stream.images(index, rounds), pool_y[index])
        net = _train_net(out, k, settings.recipe(k, images, data), pairs, test_set, progress, echo)
        if net is None:
            return {**record, "interrupted": True}
        nets.append(net)
    if record.get("threshold") is None:
        t, val = _validation_record(
            nets, x[len(x) - settings.validation :], y[-settings.validation :]
        )
        record.update(threshold=t, validation=val)
        _write_record(out, record)
    boosted = BoostedNetwork(nets, record["threshold"])
    say(_summary(boosted, record, test_set))
    return record


def _saved_record(out: Path) -> dict:
    """``boosting.json`` of the run to resume in ``out``."""
    if not is_boosted_run(out):
        raise ValueError(f"cannot resume {out}: it holds no boosted run ({BOOSTING_FILE})")
    return json.loads((out / BOOSTING_FILE).read_text())


def _settings(out: Path, given: BoostingSettings | None, saved: dict | None) -> BoostingSettings:
    """The run's settings: ``given`` (checked) for a new run, the ``saved`` record's for a
    resumed one."""
    if saved is None:
        if is_boosted_run(out) or any((out / name).exists() for name in NET_FOLDERS):
            raise ValueError(
                f"{out} already holds a boosted run: continue it with --resume {out}, or "
                f"choose another folder"
            )
        settings = given or BoostingSettings()
        settings.check()
        return settings
    settings = BoostingSettings(**saved["settings"])
    if given is not None and given != settings:
        changed = [k for k, v in asdict(given).items() if v != getattr(settings, k)]
        raise ValueError(
            f"cannot resume {out} with other settings: "
            + ", ".join(
                f"{k} ({getattr(settings, k)} then, {getattr(given, k)} now)" for k in changed
            )
        )
    return settings


def _start_record(out: Path, settings: BoostingSettings, images: int, data: str | None) -> dict:
    """A new run's record, written to ``out``."""
    recipe = RECIPES[settings.model]
    record = {
        "settings": asdict(settings),
        "images": images,
        "candidates": settings.candidates or 10 * images,
        "preprocessing": recipe.preprocessing,
        "distortion_ranges": distortion_ranges(recipe.distort_strength),
        "data": data,
        "threshold": None,
    }
    out.mkdir(parents=True, exist_ok=True)
    _write_record(out, record)
    return record


def _write_record(out: Path, record: dict) -> None:
    write_atomically(out / BOOSTING_FILE, json.dumps(record, indent=2) + "\n")


def _patterns(
    out: Path,
    k: int,
    record: dict,
    nets: list[Network],
    stream: CandidateStream,
    y: np.ndarray,
    patterns: int,
    bar: Callable[[str], Any],
    say: Callable[[str], None],
) -> tuple[np.ndarray, np.ndarray]:
    """Net k's patterns (indices, rounds): read from the folder, or filtered and written."""
    path = out / f"net{k}-patterns.npz"
    key = f"net{k}_patterns"
    if path.exists() and key in record:
        with np.load(path) as saved:
            return saved["index"], saved["round"]
    budget = record["candidates"]
    progress = bar(f"net {k}'s patterns")
    try:
        if k == 2:
            index, rounds, found = filter_right_wrong(
                nets[0], stream, y, 0, budget, patterns, progress
            )
        else:
            first = record["net2_patterns"]["first"] + record["net2_patterns"]["examined"]
            index, rounds, found = filter_disagreements(
                (nets[0], nets[1]), stream, first, budget, patterns, progress
            )
    finally:
        if progress is not None:
            progress.close()
    tmp = out / f"net{k}-patterns.tmp.npz"
    np.savez(tmp, index=index, round=rounds)
    os.replace(tmp, path)
    record[key] = found
    _write_record(out, record)
    what = (
        f"{found['wrong']:,} net 1 gets wrong and {found['right']:,} it gets right"
        if k == 2
        else f"{found['disagreements']:,} on which nets 1 and 2 disagree"
    )
    say(f"net {k}'s patterns: {what}, among {found['examined']:,} candidates (of {budget:,})")
    return index, rounds


def _train_net(
    out: Path,
    k: int,
    recipe: Recipe,
    pairs: tuple[Any, np.ndarray],
    test: Any,
    progress: bool,
    echo: Callable[[str], None] | None,
) -> Network | None:
    """Net k trained (or its finished run read) in ``out/net<k>``; None when interrupted."""
    folder = out / NET_FOLDERS[k - 1]
    resume = (folder / "checkpoint.npz").exists()
    net = training.network_for(recipe, pairs[0].shape[1:])
    if echo:
        echo(f"net {k}: {len(pairs[1]):,} patterns, {recipe.passes} passes, in {folder}")
    history = training.train(
        net, pairs, test, recipe, out=folder, resume=resume, progress=progress, echo=echo
    )
    if history and history[-1].get("interrupted"):
        return None
    return net


def _summary(boosted: BoostedNetwork, record: dict, test: tuple[Any, np.ndarray]) -> str:
    x, y = np.asarray(test[0]), test[1]
    outputs, full = boosted.answer(x)
    error = float(np.mean(boosted.classify(outputs) != y))
    val = record["validation"]
    return (
        f"boosted: threshold {record['threshold']:g} (validation: net 1 "
        f"{100 * val['error_net1']:.2f}%, combined {100 * val['error']:.2f}%, cost "
        f"{val['cost']:.2f}); test error {100 * error:.2f}%, cost {cost_of(full):.2f} x one net"
    )
