r"""Runs as tasks on Dask: a chapter declares its runs, the runner computes the missing ones.

A *run* is a stored experiment (:func:`repro.store.experiment`) and its config (:class:`Run`). A
chapter hands its runs to :func:`gather`, which

1. skips every run the result store already holds (the store stays the only place results live:
   a task returns nothing but the path of the record it wrote);
2. submits the missing ones to a Dask cluster, one task per run, keyed ``<experiment>/<cfg key>``
   (two chapters asking for the same run while it computes share one task);
3. shows one progress bar over all the chapter's runs (done / running / queued), and
4. returns the stored results, in the order of ``runs``.

**Where runs compute** (:func:`executor`), in this order:

* ``REPRO_SCHEDULER=tcp://host:8786`` (or ``repro run|book --scheduler``): an existing Dask cluster,
  for example ``dask scheduler`` plus ``dask worker --nthreads 1 --resources GPU=1`` on each GPU
  machine, or ``dask-jobqueue`` on SLURM. Every worker must see the same result store
  (``REPRO_RESULTS`` on a shared folder). ``REPRO_RUN_RESOURCES=GPU=1`` makes every run ask for
  that resource, so runs land only on GPU workers.
* ``REPRO_WORKERS=0``: no cluster; runs compute one after another in this process.
* otherwise an embedded :class:`distributed.LocalCluster` of :func:`default_workers` worker
  processes with one thread each, listening on the loopback interface only (no dashboard), started
  when something is missing and closed when the process exits. No server to start by hand.
  At ``scale="smoke"`` the default is in-process: a smoke run takes seconds, less than starting a
  worker process that imports torch and loads the frozen networks again.

**Sized by measurement** (:func:`measure_layouts`; 2 cores, README "Runs in parallel"): four
cpu-scale runs side by side on two one-thread workers against one after another with two threads
per run, each layout warmed first: AWA 80.0 s vs 83.5 s (1.04x), pix2pix 73.0 s vs 83.4 s (1.14x).
The side-by-side layout won (narrowly: torch's two threads use both cores well here), so the
default is one worker process per core with one thread each; it is also the layout that scales
out, and with one thread per run the bits cannot depend on it.

**Same bits whatever the layout.** Every run computes with :func:`repro.numerics.threads_per_run`
threads (one, unless ``REPRO_THREADS_PER_RUN`` says otherwise; :func:`repro.store.experiment` sets
it, in a worker or in this process alike), so a key means one result whether it was computed
sequentially, on a local worker or on a cluster.

**Failures.** A worker that dies mid-run loses only that run: the scheduler resubmits it (Dask
allows three lost workers per task) and a resumable experiment continues from its last checkpoint
in the store. A run that raises is reported with its config and traceback after every other run
has finished (their results are kept): :class:`RunsFailed`.

**Run log.** Every run computed (not loaded) appends one line to ``<store>/.runs.jsonl``: its
experiment, key, seed, threads and wall time (:func:`run_log`; ``repro cache runs`` lists them,
longest first). It is the run's elapsed time where it ran: for a run that submits tasks of its own
(the MTAdam tables' Hyperband trials) it includes waiting for them behind other runs, so the bank's
5-minute rule is judged by ``repro bank build``, which times the run alone.

**Nested tasks.** A run on a worker may submit tasks of its own (:func:`inside_task`): the MTAdam
tables' Hyperband search trains each trial as a task (:mod:`repro.mtadam.hyperband`).

**Safety.** Dask moves pickled tasks: a scheduler must only be reachable by its users. The embedded
cluster listens on 127.0.0.1; a cluster across machines should use TLS (Dask's
``distributed.comm.tls`` settings, README "Running at paper scale on several GPUs").
"""
from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import time
import traceback
from pathlib import Path
from typing import Callable, Iterable, Sequence

from tqdm import tqdm

from repro import bank, numerics
from repro.config import ExperimentConfig, Scale
from repro.store import RECOMPUTE_ENV, ResultStore, recompute

#: Address of an existing Dask scheduler to run on (``tcp://host:8786``, ``tls://...``).
SCHEDULER_ENV = "REPRO_SCHEDULER"
#: Number of local worker processes (``0``: compute in this process, no cluster).
WORKERS_ENV = "REPRO_WORKERS"
#: Abstract resources every run asks for (``GPU=1``; comma-separated ``NAME=amount``).
RESOURCES_ENV = "REPRO_RUN_RESOURCES"


@dataclasses.dataclass(frozen=True)
class Run:
    """One run a chapter needs: a stored experiment and its config."""

    experiment: Callable[..., dict]
    cfg: ExperimentConfig

    def __post_init__(self) -> None:
        if not hasattr(self.experiment, "experiment_name"):
            raise TypeError(f"{self.experiment!r} is not a stored experiment (decorate it with repro.store.experiment)")
        if not isinstance(self.cfg, ExperimentConfig):
            raise TypeError(f"a run's config is an ExperimentConfig, got {type(self.cfg).__name__}")

    @property
    def name(self) -> str:
        return self.experiment.experiment_name

    @property
    def key(self) -> str:
        """The task's key: the stored result's name (``<experiment>/<cfg key>``)."""
        return f"{self.name}/{self.cfg.key()}"

    def __str__(self) -> str:
        return f"{self.name} {self.cfg!r}"


class RunsFailed(RuntimeError):
    """One or more runs raised; every other run's result is stored. ``failures``: ``[(run, traceback)]``."""

    def __init__(self, failures: "list[tuple[Run, str]]", done: int) -> None:
        self.failures = failures
        parts = [f"{len(failures)} run(s) failed ({done} others stored; run again to retry only these):"]
        for run, text in failures:
            parts.append(f"\n--- {run}\n{text.rstrip()}")
        super().__init__("\n".join(parts))


def compute(experiment: Callable[..., dict], cfg: ExperimentConfig, root: str, recompute: bool = False) -> str:
    """The task a worker runs: compute (or load) ``experiment(cfg)`` into the store at ``root``
    (``recompute``: ignoring the run bank, as the submitting process does); returns the record's
    path. The result itself travels through the store, never through Dask."""
    store = ResultStore(Path(root))
    with _environ({RECOMPUTE_ENV: "1" if recompute else "0"}):
        _timed(Run(experiment, cfg), store)
    return str(store.path(experiment.experiment_name, cfg))


#: The run log: one JSON line per run computed (not loaded) into a store, under its root.
RUN_LOG = ".runs.jsonl"


def _timed(run: Run, store: ResultStore) -> None:
    """Compute ``run`` into ``store``; when it was not stored yet, append its wall time to the
    store's run log (:func:`run_log`). A line is written with one ``write`` call, so workers appending at once do not
    interleave."""
    fresh = not store.has(run.name, run.cfg)
    start = time.time()
    run.experiment(run.cfg, store=store)
    if fresh:
        line = {"run": run.name, "key": run.cfg.key(), "seed": run.cfg.seed, "scale": str(run.cfg.scale),
                "seconds": round(time.time() - start, 2), "finished": round(time.time(), 1),
                "threads": numerics.threads_per_run(), "pid": os.getpid()}
        store.root.mkdir(parents=True, exist_ok=True)
        with open(store.root / RUN_LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")


def run_log(root: "str | Path | None" = None) -> list[dict]:
    """The runs computed into the store at ``root`` (default: the result store), with their wall
    time in seconds, in the order they finished."""
    path = (Path(root) if root is not None else ResultStore().root) / RUN_LOG
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@contextlib.contextmanager
def _environ(values: "dict[str, str | None]"):
    """Set (or, for None, unset) environment variables inside the block; restore them after."""
    previous = {k: os.environ.get(k) for k in values}
    try:
        _set_environ(values)
        yield
    finally:
        _set_environ(previous)


def _set_environ(values: "dict[str, str | None]") -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def inside_task() -> bool:
    """Whether this code runs as a task on a Dask worker (then it may submit tasks of its own)."""
    try:
        from distributed import get_worker

        get_worker()
    except ValueError:  # not in a worker
        return False
    return True


def default_workers() -> int:
    """Local worker processes: one per CPU core this process may use (at least one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def resources() -> "dict[str, float] | None":
    """The resources every run asks for, from ``$REPRO_RUN_RESOURCES`` (``GPU=1``), or None."""
    value = os.environ.get(RESOURCES_ENV, "").strip()
    if not value:
        return None
    out = {}
    for part in value.split(","):
        name, sep, amount = part.partition("=")
        try:
            out[name.strip()] = float(amount)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise ValueError(f"{RESOURCES_ENV}={value!r}: write NAME=amount pairs separated by commas, e.g. GPU=1")
    return out


def at_seeds(own: Callable[..., dict], other: Callable[..., dict], cfg: ExperimentConfig) -> list[Run]:
    """The runs of a seed spread (:func:`repro.report.at_seeds`): ``own`` at ``cfg.seed``, the
    reference-only experiment ``other`` at every other seed of :data:`repro.report.SEEDS`."""
    from repro.report import SEEDS

    return [Run(own if s == cfg.seed else other, dataclasses.replace(cfg, seed=s)) for s in SEEDS]


# ---- where runs compute -----------------------------------------------------------------------------
_LOCAL: dict = {}

#: Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which makes glibc hand freed
#: memory back to the system at once: a training loop's tensor allocations then page-fault on every
#: step (measured on 2 cores: a cpu-scale AWA run took 75 s on a worker against 52 s in a process
#: with the same single thread; 51 s on a worker without it). The embedded cluster leaves malloc alone.
NO_MALLOC_TRIM = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


def local_cluster(workers: int):
    """This process's embedded :class:`distributed.LocalCluster` (started once, loopback only, one
    thread per worker, no dashboard; closed at exit) and a client of it."""
    import dask
    from distributed import Client, LocalCluster

    if _LOCAL.get("workers") != workers:
        close_local_cluster()
        with dask.config.set(NO_MALLOC_TRIM):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, silence_logs=40)
        _LOCAL.update(workers=workers, cluster=cluster, client=Client(cluster, set_as_default=False))
    return _LOCAL["client"]


def close_local_cluster() -> None:
    client, cluster = _LOCAL.pop("client", None), _LOCAL.pop("cluster", None)
    _LOCAL.clear()
    if client is not None:
        client.close()
    if cluster is not None:
        cluster.close()


atexit.register(close_local_cluster)


def executor(scale: "str | Scale | None" = None, scheduler: "str | None" = None, workers: "int | None" = None):
    """The Dask client runs go to, or None for "in this process" (see the module docstring)."""
    from distributed import Client

    address = scheduler or os.environ.get(SCHEDULER_ENV, "").strip()
    if address:
        if "://" not in address:
            raise ValueError(f"scheduler address {address!r} needs a protocol, e.g. tcp://host:8786 or tls://host:8786")
        if _LOCAL.get("address") != address:
            close_local_cluster()
            _LOCAL.update(address=address, client=Client(address, set_as_default=False, timeout="30s"))
        return _LOCAL["client"]
    if workers is None:
        value = os.environ.get(WORKERS_ENV, "").strip()
        if value:
            if not value.isdigit():
                raise ValueError(f"{WORKERS_ENV}={value!r}: give a number of worker processes (0: no cluster)")
            workers = int(value)
        elif scale is not None and Scale(str(scale)) is Scale.SMOKE:
            workers = 0
        else:
            workers = default_workers()
    return None if workers == 0 else local_cluster(workers)


@contextlib.contextmanager
def shared(scale: "str | Scale", scheduler: "str | None" = None, workers: "int | None" = None):
    """Within the block, processes started from this one (the chapters' kernels) send their runs to
    one cluster: ``scheduler`` (or ``$REPRO_SCHEDULER``), else this process's embedded local
    cluster, started here once for every chapter (``repro book`` and ``repro run`` use this), else,
    at ``scale="smoke"`` or with ``workers=0``, nowhere (each kernel computes in process)."""
    with _environ({SCHEDULER_ENV: os.environ.get(SCHEDULER_ENV),
                   WORKERS_ENV: str(workers) if workers is not None else os.environ.get(WORKERS_ENV)}):
        client = executor(scale, scheduler=scheduler, workers=workers)
        if client is not None:
            os.environ[SCHEDULER_ENV] = client.scheduler.address
        yield client


# ---- gathering a chapter's runs -----------------------------------------------------------------------
def _unique(runs: Iterable[Run]) -> list[Run]:
    seen: dict[str, Run] = {}
    for run in runs:
        if not isinstance(run, Run):
            raise TypeError(f"gather takes Run objects, got {type(run).__name__}")
        seen.setdefault(run.key, run)
    return list(seen.values())


def _failure_text(exc: BaseException, tb=None) -> str:
    return "".join(traceback.format_exception(type(exc), exc, tb if tb is not None else exc.__traceback__))


def gather(*stages: Sequence[Run], desc: str = "runs", store: "ResultStore | None" = None,
           client="auto", show: bool = True) -> list[dict]:
    """Compute the runs the store lacks, then return every run's stored result (in order).

    Each positional argument is a *stage*, a sequence of runs; a stage starts once the previous one
    has finished (for runs that read another run's result: MTAdam's Table 5 reads Table 2's), all
    under one progress bar. ``client``: ``"auto"`` (:func:`executor` for the runs' scale), ``None``
    (this process) or a :class:`distributed.Client`. Raises :class:`RunsFailed` naming every run
    that raised, after the others have finished (a stage after a failed one is not started).
    """
    store = store or ResultStore()
    stages_ = [_unique(stage) for stage in stages]
    todo = _unique(r for stage in stages_ for r in stage)
    missing = {r.key for r in todo if not store.has(r.name, r.cfg)}
    if missing:
        if client == "auto":
            client = executor(next(r for r in todo if r.key in missing).cfg.scale)
        bar = tqdm(total=len(todo), initial=len(todo) - len(missing), desc=desc, unit="run",
                   **({} if show else {"disable": True}))
        failures: list = []
        try:
            for stage in stages_:
                wanted = [r for r in stage if r.key in missing]
                missing -= {r.key for r in wanted}
                failures += (_in_process if client is None else _on_cluster)(wanted, store, client, bar, len(missing))
                if failures:
                    break
        finally:
            bar.close()
        if failures:
            raise RunsFailed(failures, len(todo) - len(failures) - len(missing))
    banked = [(r, store.banked(r.name, r.cfg)) for r in todo]
    for run, folder in banked:
        if folder is not None and show:
            print(f"{run.name} (seed {run.cfg.seed}) {bank.provenance(folder)}")
    return [store.load(r.name, r.cfg) for stage in stages for r in stage]


def _status(bar, running: int, queued: int) -> None:
    bar.set_postfix_str(f"running {running}, queued {queued}", refresh=True)


def _in_process(missing: list[Run], store: ResultStore, client, bar, later: int) -> list[tuple[Run, str]]:
    failures = []
    for i, run in enumerate(missing):
        _status(bar, 1, len(missing) - i - 1 + later)
        try:
            _timed(run, store)
        except Exception as exc:  # reported with its config once the others are done
            failures.append((run, _failure_text(exc)))
        bar.update(1)
    return failures


def _on_cluster(missing: list[Run], store: ResultStore, client, bar, later: int) -> list[tuple[Run, str]]:
    from distributed import as_completed

    needs = resources()
    extra = {"resources": needs} if needs else {}
    again = recompute()
    futures = {client.submit(compute, run.experiment, run.cfg, str(store.root), again, key=run.key, pure=False, **extra): run
               for run in missing}
    slots = max(1, sum(client.nthreads().values()))
    failures, left = [], len(futures)
    _status(bar, min(slots, left), max(0, left - slots) + later)
    for future in as_completed(futures, loop=client.loop):
        left -= 1
        if future.status == "error":  # the run raised, or its workers died too often (KilledWorker)
            exc, tb = future.exception(), future.traceback()
            failures.append((futures[future], _failure_text(exc, tb)))
        elif future.status != "finished":  # cancelled: the scheduler or the connection to it went away
            failures.append((futures[future], f"the task was {future.status} (scheduler lost?); run again\n"))
        bar.update(1)
        _status(bar, min(slots, left), max(0, left - slots) + later)
    for future in futures:
        future.release()
    return failures


# ---- sizing the local cluster -------------------------------------------------------------------------
def measure_layouts(warm: Run, runs: Sequence[Run], cores: int = 2) -> dict:
    """How the local cluster's layout was chosen: the wall time of ``runs`` computed (a) one after
    another in this process with ``cores`` threads per run and (b) side by side on a local cluster
    of ``cores`` workers with one thread each, each into an empty temporary store. Each layout first
    computes ``warm`` (one run per worker, not timed: imports and frozen networks load once per
    process, once per book in ``repro book``); the cluster's start is timed on its own.
    Returns ``{"sequential_s", "parallel_s", "speedup", "cluster_start_s"}``."""
    import tempfile
    import time

    from repro import numerics

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        with _environ({numerics.THREADS_ENV: str(cores)}):
            gather([warm], store=ResultStore(Path(tmp) / "warm-seq"), client=None, show=False)
            start = time.perf_counter()
            gather(runs, desc="sequential", store=ResultStore(Path(tmp) / "seq"), client=None)
            out["sequential_s"] = time.perf_counter() - start
        close_local_cluster()
        start = time.perf_counter()
        client = local_cluster(cores)
        out["cluster_start_s"] = time.perf_counter() - start
        root = str(Path(tmp) / "warm-par")
        client.gather([client.submit(compute, warm.experiment, warm.cfg, root, workers=[w], pure=False)
                       for w in client.nthreads()])
        start = time.perf_counter()
        gather(runs, desc="side by side", store=ResultStore(Path(tmp) / "par"), client=client)
        out["parallel_s"] = time.perf_counter() - start
        close_local_cluster()
    out["speedup"] = out["sequential_s"] / out["parallel_s"]
    return out
