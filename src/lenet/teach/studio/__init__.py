"""LeNet-5 studio: draw a digit and watch the paper's network read it, in the browser.

``lenet studio [RUN_OR_CHECKPOINT]`` on the command line, or in Python::

    import lenet
    lenet.studio.serve(net)        # serves the page, opens the browser; Ctrl-C stops it
    lenet.studio.show(net)         # in a notebook: the page inline, one HTML output
    lenet.studio.export("site")    # a static site: any static file server, no lenet server
    lenet.studio.start(net)        # a server from a background thread (server.url, close())

One page (``assets/``, no build step, nothing fetched from the internet) computes in the C core
compiled to WebAssembly (``lenet-core.wasm``, ``engine.js``) and shows a drawing's
preprocessing (Section III.A), every layer's maps (Section II.B, Figure 2), F6's states as the
7x12 bitmap beside the nearest RBF prototypes (Figure 3), the ten penalties; one unit of any
layer computed with its numbers; the gradients of the loss (equation 8 or 9) layer by layer;
the kernels laid out as Table I; live training in the page with the paper's recipe (SDLM,
Section III.C, Appendix C) or the seed's; the modern network on the same drawing; and a camera.
The pieces: ``bundle`` (the networks and data the page boots from), ``drawing`` (MNIST's
normalisation of a drawing), ``units`` (one unit by hand, in Python), ``app`` (what only the
server does: MNIST from disk, checkpoints), ``server`` (HTTP), ``publish`` (the page with no
server: the static site, the notebook's output, the downloaded weights made a run folder).
docs/studio.md has the API.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ...engine.network import Network
from ...run.recipes import Recipe
from .app import RECIPE_OF, RequestError, Studio
from .publish import ExportTooLarge, StudioPage, export, import_checkpoint, page
from .server import MAX_BODY, StudioServer, is_loopback

__all__ = [
    "MAX_BODY",
    "RECIPE_OF",
    "ExportTooLarge",
    "RequestError",
    "Studio",
    "StudioPage",
    "StudioServer",
    "export",
    "import_checkpoint",
    "page",
    "serve",
    "show",
    "start",
]


def start(
    net: Network | None = None,
    *,
    model: str = "paper",
    host: str = "127.0.0.1",
    port: int = 0,
    data: str | Path | None = None,
    out: str | Path | None = None,
    train_limit: int | None = None,
    source: str | None = None,
    recipe: Recipe | None = None,
    untrained: bool = False,
    lang: str | None = None,
) -> StudioServer:
    """A studio serving from a background thread; ``close()`` it (or use ``with``).
    ``train_limit`` trains on the first images of the training set only; ``recipe`` is the
    one `net` was trained with (its preprocessing makes the network's input; default: the
    studio's recipe for its model). Without `net`, or beside it, the studio shows the shipped,
    trained networks (``lenet.pretrained``); ``untrained=True`` gives fresh ones instead.
    ``lang`` ("en", "ko") is the page's language (default: LENET_LANG's, else the browser's)."""
    studio = Studio(
        net,
        model=model,
        data=data,
        out=out,
        train_limit=train_limit,
        source=source,
        recipe=recipe,
        untrained=untrained,
        lang=lang,
    )
    return StudioServer(studio, host, port).start()


def serve(
    net: Network | None = None,
    *,
    model: str = "paper",
    host: str = "127.0.0.1",
    port: int = 0,
    open_browser: bool = True,
    data: str | Path | None = None,
    out: str | Path | None = None,
    source: str | None = None,
    recipe: Recipe | None = None,
    untrained: bool = False,
    run: str | Path | None = None,
    progress: dict[str, Any] | None = None,
    echo: Any = print,
    lang: str | None = None,
) -> None:
    """Serve the studio for `net` (else the shipped, trained network of `model`, or a fresh
    one with ``untrained=True``) until Ctrl-C.

    The address is printed; the default browser opens it unless ``open_browser=False``. Port 0
    takes a free port. ``host`` other than 127.0.0.1 makes the page reachable from other
    machines, with no password: a warning says so. Training writes its run folder in `out`
    (default ``runs/``), as ``studio-<model>-<date>-<time>``, or, for a network loaded from a
    run (``run``, its folder, and ``progress``, its checkpoint's), in that run's folder.
    ``recipe`` is the one `net` was trained with (as ``start``'s); ``lang`` the page's language
    (as ``start``'s). Ctrl-C says where the last checkpoint went.
    """
    studio = Studio(
        net,
        model=model,
        data=data,
        out=out,
        source=source,
        recipe=recipe,
        untrained=untrained,
        run=run,
        progress=progress,
        lang=lang,
    )
    server = StudioServer(studio, host, port)
    if not is_loopback(host):
        print(
            f"warning: the studio listens on {host}: anyone who reaches this machine can use "
            "it and train on it (there is no password); use 127.0.0.1 to keep it to yourself",
            file=sys.stderr,
        )
    if echo:
        echo(f"LeNet-5 studio at {server.url}  (Ctrl-C stops it)")
    if open_browser:
        server.open_browser()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        if echo:
            last = studio.last_checkpoint
            echo(
                "studio stopped; "
                + (f"the last checkpoint: {last}" if last else "no checkpoint was written")
            )
    finally:
        server.close()


def show(
    net_or_run: Network | str | Path | None = None,
    *,
    test_images: int = 300,
    train_images: int = 1000,
    height: int = 900,
    **options: Any,
) -> StudioPage:
    """The studio inside a notebook: ONE self-contained HTML output (``_repr_html_``: an
    ``<iframe srcdoc=...>``) holding the page, the module, the networks and the first
    `test_images` test and `train_images` training images; no server, no URL (``publish.page``).
    ``net_or_run``: a Network, a run folder or a checkpoint, or None (the shipped networks).
    Training in it downloads its weights on "Stop and save" (``lenet studio --import``).
    ``options`` are ``Studio``'s (``model``, ``data``, ``untrained``, ``lang``). The page
    served from a thread instead: ``start(net)`` and an IFrame of its ``url``."""
    return page(
        net_or_run, test_images=test_images, train_images=train_images, height=height, **options
    )
