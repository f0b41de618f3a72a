"""``lenet studio``: the LeNet-5 studio in the browser (its server is imported only here,
when the command runs)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..run.checkpoint import read_checkpoint
from ..run.recipes import Recipe, recipe_from_config
from ..run.runs import check_preprocessing, run_preprocessing
from .common import check_data_folder


def add_parser(commands: Any) -> None:
    serve = commands.add_parser(
        "studio",
        help="the LeNet-5 studio in the browser: draw a digit, watch the network read it, "
        "train it live",
        description="Serve the LeNet-5 studio on this machine (127.0.0.1) and open it in the "
        "browser: draw a digit and see every layer's maps, one unit computed with its numbers, "
        "the gradients of the loss, the kernels as Table I, and train the network live "
        "(docs/studio.md). Without RUN it shows the networks shipped with lenet, trained (lenet "
        "train --recipe paper, and --recipe seed for the modern one); --untrained starts from "
        "fresh ones. Ctrl-C stops it.",
    )
    serve.add_argument(
        "run_path", nargs="?", metavar="RUN_OR_CHECKPOINT", help="a run folder or a checkpoint.npz"
    )
    serve.add_argument(
        "--model",
        choices=("paper", "modern"),
        help="the network to show and train first (default: the run's, else paper)",
    )
    serve.add_argument(
        "--port", type=int, default=0, help="the port to listen on (default: a free one)"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default 127.0.0.1, this machine only; another "
        "address lets other machines use the studio, with no password: a warning says so)",
    )
    serve.add_argument(
        "--no-browser", action="store_true", help="print the address, do not open a browser"
    )
    serve.add_argument(
        "--untrained",
        action="store_true",
        help="fresh, untrained networks instead of the shipped, trained ones (beside RUN's: "
        "the other network)",
    )
    serve.add_argument("--data", metavar="DIR", help="folder holding the MNIST files")
    serve.add_argument(
        "--out",
        metavar="DIR",
        help="where the page's training writes its run folder, studio-MODEL-DATE-TIME (default "
        "runs/); a loaded run is continued in its own folder",
    )
    serve.add_argument(
        "--export",
        metavar="DIR",
        help="write the studio as a static site into DIR instead of serving it: the page, its "
        "module, the networks (RUN's beside the other shipped one), MNIST's 10,000 test images "
        "and --train-images training images; any static file server serves it (GitHub Pages, "
        "python -m http.server), with no lenet server; at most 20 MB",
    )
    serve.add_argument(
        "--train-images",
        type=int,
        default=10_000,
        metavar="N",
        help="with --export: the training images the exported page trains on (default 10000)",
    )
    serve.add_argument(
        "--import",
        dest="import_file",
        metavar="FILE",
        help="write the weights a page with no server downloaded (lenet-studio-*.json) as a "
        "run folder in --out (default runs/), which lenet evaluate and lenet train --resume read",
    )
    serve.add_argument(
        "--lang",
        choices=("en", "ko"),
        help="the page's language, English or Korean (default: LENET_LANG's, else the "
        "browser's; a page's address may also say ?lang=ko)",
    )
    serve.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be 0 (any free port) to 65535, got {args.port}")
    check_data_folder(args)
    if args.import_file is not None or args.export is not None:
        return _publish(args)
    net, model, recipe, folder, progress = None, args.model or "paper", None, None, None
    if args.run_path is not None:
        state = read_checkpoint(args.run_path)
        net, progress = state["net"], state["progress"]
        where = Path(args.run_path)
        folder = where.parent if where.is_file() else where  # the page's training goes on here
        recipe = _trained_with(args.run_path, state)
        if args.model is not None and net.variant != args.model:
            raise ValueError(
                f"{args.run_path} holds the {net.variant!r} network, not the {args.model!r} one "
                f"given with --model"
            )
        model = net.variant
    from ..teach import studio  # start-up: the HTTP server loads only for this command

    studio.serve(
        net,
        model=model,
        host=args.host,
        port=args.port,
        open_browser=not args.no_browser,
        data=args.data,
        out=args.out,
        source=None if args.run_path is None else f"loaded from {args.run_path}",
        recipe=recipe,
        untrained=args.untrained,
        run=folder,
        progress=progress,
        lang=args.lang,
    )
    return 0


def _publish(args: argparse.Namespace) -> int:
    """--import (the page's download made a run folder) or --export (the static site)."""
    from ..teach.studio import publish  # start-up: loads only for these options

    if args.import_file is not None:
        if args.export is not None or args.run_path is not None:
            raise ValueError("--import takes only the downloaded file (and --out)")
        folder = publish.import_checkpoint(args.import_file, args.out)
        print(f"the page's weights written as the run folder {folder}")
        print(f"  lenet evaluate {folder}")
        return 0
    written = publish.export(
        args.export,
        args.run_path,
        train_images=args.train_images,
        model=args.model or "paper",
        data=args.data,
        untrained=args.untrained,
        lang=args.lang,
    )
    print(
        f"the studio exported to {written['folder']}: {written['bytes'] / 1e6:.1f} MB in "
        f"{len(written['files'])} files; try it with: python -m http.server -d {written['folder']}"
    )
    return 0


def _trained_with(where: str, state: dict[str, Any]) -> Recipe:
    """The run's recipe, whose preprocessing the studio feeds its network with (refused when
    its config and its run's identity disagree)."""
    recipe = recipe_from_config(state["config"])
    check_preprocessing(where, run_preprocessing(state), recipe.preprocessing, "cannot show it")
    return recipe
