"""The studio with no server behind it: a static site (``export``), one self-contained HTML
output for a notebook (``page``, which ``show`` displays), and the page's downloaded weights
made a run folder (``import_checkpoint``).

Both carry the same page (``assets/``) and a bundle (``bundle.studio_bundle``) that says
``"server": false``: the page then asks for no ``/api/`` call, trains in its Web Worker as ever,
and "Stop and save" downloads the weights as JSON (the body the server's ``/api/checkpoint``
takes, with the network's config, its recipe and the count of training images beside it),
which ``lenet studio --import FILE`` writes as a run folder that ``lenet evaluate`` and ``lenet
train --resume`` read.
"""

from __future__ import annotations

import base64
import datetime
import html
import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ...engine.lenet5 import build_network, check_network_config, network_config
from ...engine.network import Network
from ...run.checkpoint import read_checkpoint
from ...run.recipes import Recipe, recipe_from_config
from ...run.runs import RunFolder, check_preprocessing, run_preprocessing
from .app import TEST_IMAGES, RequestError, Studio, restore
from .bundle import data_entry, pack_images

__all__ = [
    "EXPORT_LIMIT",
    "PAGE_LIMIT",
    "ExportTooLarge",
    "StudioPage",
    "export",
    "import_checkpoint",
    "loaded",
    "page",
]

#: the largest export, in bytes, and the largest notebook output
EXPORT_LIMIT = 20 * 10**6
PAGE_LIMIT = 5 * 10**6
#: the files of the page, in the order index.html loads its scripts
ASSETS = (
    "index.html",
    "studio.css",
    "i18n.js",
    "lenet-core.js",
    "engine.js",
    "studio.js",
    "controls.js",
)
#: the training worker's script: the page reads its text (beside it, or inline) into a Blob
WORKER = "trainer.js"
MODULE = "lenet-core.wasm"
#: what the page's download says it is
CHECKPOINT_FORMAT = "lenet-studio-checkpoint"


class ExportTooLarge(ValueError):
    """An export (or a notebook page) that would be larger than its limit; nothing written."""


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath("assets").joinpath(name).read_bytes()


def loaded(where: str | Path) -> tuple[Network, Recipe]:
    """The network of a run folder or checkpoint and the recipe it was trained with (refused
    when the run's config and its identity disagree on the preprocessing)."""
    state = read_checkpoint(where)
    recipe = recipe_from_config(state["config"])
    check_preprocessing(where, run_preprocessing(state), recipe.preprocessing, "cannot show it")
    return state["net"], recipe


def _studio(net: Network | str | Path | None, train_images: int, **options: Any) -> Studio:
    if isinstance(net, (str, Path)):
        where = net
        net, recipe = loaded(where)
        options = {"recipe": recipe, "source": f"loaded from {Path(where).name}", **options}
    return Studio(net, train_limit=train_images, **options)


def _offline_bundle(studio: Studio, data: dict[str, Any]) -> dict[str, Any]:
    """The studio's bundle for a page with no server: its data where `data` says, and per
    network what the page's download needs to become a run folder."""
    bundle = dict(studio.bundle())
    bundle["server"] = False
    bundle["data"] = data
    networks = {}
    for name, entry in bundle["networks"].items():
        networks[name] = {
            **entry,
            "run": {
                "network": network_config(studio.nets[name]),
                "recipe": studio.recipes[name].config(),
                "images": entry["training"]["images"],
            },
        }
    bundle["networks"] = networks
    return bundle


def _sets(studio: Studio, test: int, train: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    data = studio.data()
    if data is None:
        return {}
    xtr, ytr, xte, yte = data
    return {"test": (xte[:test], yte[:test]), "train": (xtr[:train], ytr[:train])}


# ---- the static site ----------------------------------------------------------------------------


def export(
    folder: str | Path,
    net: Network | str | Path | None = None,
    *,
    train_images: int = 10_000,
    limit: int | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Write the studio as a static site into `folder`: the page, the module, the bundle
    (the shipped networks, or `net` (a Network, a run folder or a checkpoint) beside the other
    shipped one), MNIST's 10,000 test images and the first `train_images` training images,
    gzip-compressed. It works from any static file server, offline.

    Refuses (``ExportTooLarge``, before writing anything) when it would be over `limit`
    bytes (default ``EXPORT_LIMIT``), and (ValueError) when MNIST is not on this machine or
    `folder` holds files other than an export's. ``options`` are ``Studio``'s (``model``,
    ``data``, ``untrained``).
    Returns {"folder", "bytes", "files": {name: bytes}}."""
    if train_images < 1:
        raise ValueError(f"train_images must be at least 1, got {train_images}")
    studio = _studio(net, train_images, **options)
    sets = _sets(studio, TEST_IMAGES, train_images)
    if not sets:
        raise ValueError(studio._missing or "MNIST is not on this machine")
    files = {name: _asset(name) for name in (*ASSETS, WORKER)}
    files[MODULE] = _asset(MODULE)
    entries = {}
    for name, (images, labels) in sets.items():
        files[f"mnist-{name}.bin.gz"] = pack_images(images, labels)
        entries[name] = (len(images), f"mnist-{name}.bin.gz")
    bundle = _offline_bundle(studio, data_entry(entries))
    files["bundle.json"] = json.dumps(bundle, separators=(",", ":")).encode()
    total = sum(len(b) for b in files.values())
    limit = EXPORT_LIMIT if limit is None else limit
    if total > limit:
        raise ExportTooLarge(
            f"the export would be {total / 1e6:.1f} MB, over the limit of {limit / 1e6:.0f} MB: "
            f"fewer training images (now {train_images:,}) make it smaller; nothing was written"
        )
    out = Path(folder)
    strangers = (
        sorted(p.name for p in out.iterdir() if p.name not in files and p.name != ".nojekyll")
        if out.is_dir()
        else []
    )
    if strangers:
        raise ValueError(
            f"{out} holds files an export does not write ({', '.join(strangers[:5])}): "
            "choose an empty folder"
        )
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out / name).write_bytes(data)
    (out / ".nojekyll").write_bytes(b"")  # GitHub Pages: serve the files as they are
    return {"folder": str(out), "bytes": total, "files": {k: len(v) for k, v in files.items()}}


# ---- one HTML document: the page in a notebook ---------------------------------------------------


def _data_url(kind: str, data: bytes) -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def _script(text: str, name: str, kind: str = "") -> str:
    """Text safe inside <script>: no "</" that could end it early (in JavaScript "<\\/" is
    "</" wherever it may stand). ``data-asset`` names the file, for the page to find its text
    (the training worker is made from it); a ``kind`` of "text/plain" keeps the page from
    running it."""
    kind = f' type="{kind}"' if kind else ""
    return f'<script{kind} data-asset="{name}">\n' + text.replace("</", "<\\/") + "\n</script>"


def inline_document(bundle: dict[str, Any]) -> str:
    """index.html with its stylesheet, its scripts, the training worker's script (not run in
    the page) and `bundle` (window.LENET_BUNDLE) inline: one file that needs nothing else."""
    doc = _asset("index.html").decode()
    css = _asset("studio.css").decode()
    doc = doc.replace('<link rel="stylesheet" href="studio.css">', "<style>\n" + css + "\n</style>")
    data = json.dumps(bundle, separators=(",", ":"))
    scripts = [_script(f"window.LENET_BUNDLE = {data};", "bundle")]
    for name in ASSETS[2:]:
        tag = f'<script src="{name}"></script>'
        if tag not in doc:
            raise RuntimeError(f"index.html no longer loads {name} as {tag}")
        doc = doc.replace(tag, "")
        scripts.append(_script(_asset(name).decode(), name))
    # the worker's script: its text for the worker, not run in the page
    scripts.append(_script(_asset(WORKER).decode(), WORKER, "text/plain"))
    return doc.replace("</body>", "\n".join(scripts) + "\n</body>")


class StudioPage:
    """The studio as one self-contained HTML document (``html``); in a notebook it shows as an
    ``<iframe srcdoc=...>`` (``_repr_html_``), which isolates the page from the notebook's
    own and runs its scripts. ``save(path)`` writes the document, to open from a file."""

    def __init__(self, document: str, *, height: int = 900) -> None:
        self.html = document
        self.height = height

    @property
    def bytes(self) -> int:
        return len(self._repr_html_().encode())

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" title="LeNet-5 studio" '
            f'style="width: 100%; height: {self.height}px; border: 0"></iframe>'
        )

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.html, encoding="utf-8")
        return path


def page(
    net: Network | str | Path | None = None,
    *,
    test_images: int = 300,
    train_images: int = 1000,
    height: int = 900,
    limit: int = PAGE_LIMIT,
    **options: Any,
) -> StudioPage:
    """The studio for `net` (a Network, a run folder or a checkpoint; None: the shipped
    networks) as one self-contained document: the page, the module (base64), the bundle, the
    first `test_images` MNIST test images and `train_images` training images inline (none when
    MNIST is not on this machine: the page says so). Refused (``ExportTooLarge``) over `limit`
    bytes as a notebook output. ``options`` are ``Studio``'s (``model``, ``data``,
    ``untrained``)."""
    studio = _studio(net, train_images, **options)
    sets = _sets(studio, test_images, train_images)
    entries = {
        name: (len(images), _data_url("application/gzip", pack_images(images, labels)))
        for name, (images, labels) in sets.items()
    }
    bundle = _offline_bundle(studio, data_entry(entries, None if sets else studio._missing))
    bundle["module"] = _data_url("application/wasm", _asset(MODULE))
    shown = StudioPage(inline_document(bundle), height=height)
    if shown.bytes > limit:
        raise ExportTooLarge(
            f"the page would be {shown.bytes / 1e6:.1f} MB, over {limit / 1e6:.0f} MB: fewer "
            "test_images or train_images make it smaller"
        )
    return shown


# ---- the page's download, made a run folder -----------------------------------------------------


def import_checkpoint(file: str | Path, out: str | Path | None = None) -> Path:
    """The weights a page with no server downloaded (``lenet-studio-*.json``) written as a run
    folder, ``studio-MODEL-DATE-TIME`` under `out` (default ``runs/``): ``lenet evaluate``
    reads it and ``lenet train --resume`` goes on with it (on the same count of training
    images). Returns the folder. Raises ValueError for a file that is not such a download."""
    try:
        body = json.loads(Path(file).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as bad:
        raise ValueError(f"{file} is not a studio checkpoint (not JSON: {bad})") from None
    if not isinstance(body, dict) or body.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{file} is not a studio checkpoint (no format {CHECKPOINT_FORMAT!r})")
    run = body.get("run")
    if not isinstance(run, dict) or not isinstance(run.get("images"), int) or run["images"] < 1:
        raise ValueError(f"{file} says nothing of its network, recipe and training images")
    recipe = recipe_from_config(run["recipe"])
    like = build_network(check_network_config(run["network"]))
    try:
        net, optimizer, progress = restore(body, like, recipe, run["images"])
    except RequestError as bad:
        raise ValueError(f"{file}: {bad}") from None
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path(out or "runs") / f"studio-{net.variant}-{stamp}"
    run_folder = RunFolder(folder, net, optimizer, recipe, run["images"])
    run_folder.start(resume=False)
    run_folder.save(progress)
    for record in progress.history:
        run_folder.log(record)
    return folder
