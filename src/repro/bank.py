r"""The run bank: committed results of runs whose single cost is above the book's build budget.

A run that takes more than :data:`MIN_SECONDS` (5 minutes) on 2 CPU cores does not belong in
``make book``: it is computed once by the project's own command, ``repro bank build NAME``, and
committed under ``data/bank/NAME/``:

``record.json``
    the result store's record (config, key, result; self-checksummed, :func:`repro.store.dump_record`);
``entry.json``
    its provenance: the entry's name, experiment, config and key, the commit it was built at, the
    machine (CPU or GPU model, cores, torch version, threads per run), the wall time, the command
    that rebuilds it, and the sha256 of ``record.json``.

The result store consults the bank whenever its cache has no result for a key
(:meth:`repro.store.ResultStore.banked`), so a chapter reads a banked run like any stored one;
:func:`repro.runner.gather` prints each banked run's provenance under the chapter's runs
(:func:`provenance`), so the book labels what came from the bank. ``repro book --recompute`` and
``repro run --recompute`` (``REPRO_RECOMPUTE=1``) ignore the bank and compute everything.

``repro bank verify`` (:func:`verify`) checks every entry: the files against their sha256, the
record's own checksum, and that the config, rebuilt by the current code, still has the key it was
banked under and is still the run its name declares. A stale entry is reported, and never used:
the store looks entries up by the key the current code computes, so a stale one simply is not found.

Entries are declared by the papers' packages with :func:`register` (a name and a function returning
the :class:`repro.runner.Run`); ``repro bank list`` shows them.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

from repro.config import ExperimentConfig
from repro.paths import bank_dir, repo_root
from repro.store import BANK_ENTRY, BANK_RECORD, ResultStore, atomic_write_bytes, bank_index, load_banked

#: Only runs longer than this on 2 CPU cores go into the bank (shorter ones are the book's to compute).
MIN_SECONDS = 300.0
#: The whole bank stays under this many bytes (it is committed to git).
MAX_BYTES = 30_000_000

#: name -> a function returning the :class:`repro.runner.Run` the entry banks.
_ENTRIES: dict[str, Callable] = {}


def register(name: str, run: Callable) -> None:
    """Declare the bank entry ``name``: ``run()`` returns the :class:`~repro.runner.Run` it banks."""
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"a bank entry's name is one folder name, got {name!r}")
    _ENTRIES[name] = run


def entries() -> dict[str, Callable]:
    """Every declared entry (the papers' modules declare theirs when imported)."""
    return dict(_ENTRIES)


def command(name: str) -> str:
    return f"repro bank build {name}"


def _commit() -> str:
    try:
        root = repo_root()
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError, RuntimeError):
        return "unknown"
    return head + ("+uncommitted changes" if dirty else "")


def machine() -> dict:
    """What a banked run ran on: CPU model and cores, GPU (if the run used one), torch, threads."""
    import torch

    from repro import numerics
    from repro.runtime import device

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    dev = device()
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "gpu": torch.cuda.get_device_name(dev) if dev.type == "cuda" else None,
            "torch": torch.__version__, "threads_per_run": numerics.threads_per_run()}


def build(name: str, root: "Path | None" = None, min_seconds: float = MIN_SECONDS) -> Path:
    """Compute entry ``name`` from scratch (no cache, no bank) and write ``<bank>/<name>/``; returns it.

    A CPU run shorter than ``min_seconds`` is refused (the book computes it); nothing is written
    then, and an interrupted build leaves the old entry in place.
    """
    if name not in _ENTRIES:
        raise ValueError(f"no bank entry {name!r}; declared: {', '.join(sorted(_ENTRIES)) or 'none'} (`repro bank list`)")
    run = _ENTRIES[name]()
    root = Path(root) if root is not None else bank_dir()
    with tempfile.TemporaryDirectory(prefix="repro-bank-") as tmp:
        store = ResultStore(Path(tmp), bank=Path(tmp) / "no-bank")
        start = time.perf_counter()
        run.experiment(run.cfg, store=store, rerun=True)
        wall = time.perf_counter() - start
        where = machine()
        if where["gpu"] is None and wall < min_seconds:
            raise ValueError(f"{name} took {wall:.0f} s on this machine's CPU, under the bank's {min_seconds:.0f} s: "
                             "runs that short are computed by the book, not banked; nothing was written")
        record = store.path(run.name, run.cfg).read_bytes()
    entry = {"name": name, "experiment": run.name, "type": run.cfg.NAME, "key": run.cfg.key(), "config": run.cfg.to_dict(),
             "commit": _commit(), "machine": where, "wall_s": round(wall, 1), "command": command(name),
             "built": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
             "files": {BANK_RECORD: hashlib.sha256(record).hexdigest()}}
    staging = Path(tempfile.mkdtemp(dir=root.parent if root.exists() else None, prefix=".bank-"))
    try:
        (staging / BANK_RECORD).write_bytes(record)
        atomic_write_bytes(staging / BANK_ENTRY, json.dumps(entry, indent=1, sort_keys=True).encode())
        root.mkdir(parents=True, exist_ok=True)
        target, old = root / name, root / f".{name}.old"
        if target.exists():
            os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def provenance(folder: Path) -> str:
    """The label of a banked result: "bank: 43 min on 2 CPU cores (model) at commit abc1234; rebuild with ..."."""
    info = json.loads((Path(folder) / BANK_ENTRY).read_text())
    where = info["machine"]
    on = f"1 GPU ({where['gpu']})" if where.get("gpu") else f"{where['cores']} CPU cores ({where['cpu']})"
    minutes = info["wall_s"] / 60
    took = f"{minutes:.0f} min" if minutes >= 1 else f"{info['wall_s']:.0f} s"
    return f"bank: {took} on {on} at commit {info['commit'][:10]}, {info['built'][:10]}; rebuild with `{info['command']}`"


def verify(root: "Path | None" = None) -> list[tuple[str, str]]:
    """Every problem of the bank at ``root``: ``[(entry name, problem)]`` (empty: all entries are sound and current)."""
    root = Path(root) if root is not None else bank_dir()
    problems = []
    types = ExperimentConfig.types()
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []
    for folder in folders:
        name = folder.name
        try:
            info = json.loads((folder / BANK_ENTRY).read_text())
            record = load_banked(folder)
        except Exception as err:  # unreadable entry.json, a hash mismatch, a damaged record
            problems.append((name, f"unreadable or damaged: {err}"))
            continue
        if (record.get("experiment"), record.get("key")) != (info.get("experiment"), info.get("key")):
            problems.append((name, "record.json and entry.json name different runs"))
            continue
        cls = types.get(info.get("type"))
        try:
            current = cls(**info["config"]).key() if cls is not None else None
        except Exception:  # the config no longer builds (a field was removed)
            current = None
        if current != info["key"]:
            problems.append((name, f"stale: its config no longer maps to key {info['key']} under the current code "
                                   f"(the experiment's version or fields changed); rebuild with `{info['command']}`"))
            continue
        if name not in _ENTRIES:
            problems.append((name, "not declared by any module (`repro bank list`); delete the folder or declare it"))
        elif _ENTRIES[name]().key != f"{info['experiment']}/{info['key']}":
            problems.append((name, f"stale: the run its name declares has changed; rebuild with `{info['command']}`"))
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0
    if size > MAX_BYTES:
        problems.append(("(bank)", f"{size / 1e6:.1f} MB, over the bank's {MAX_BYTES / 1e6:.0f} MB"))
    return problems


def listing(root: "Path | None" = None) -> list[dict]:
    """Each declared entry: name, run, whether it is banked (and current), its provenance."""
    index = bank_index(Path(root) if root is not None else bank_dir())
    rows = []
    for name, make in sorted(_ENTRIES.items()):
        run = make()
        folder = index.get((run.name, run.cfg.key()))
        rows.append({"name": name, "run": str(run), "banked": folder is not None,
                     "provenance": provenance(folder) if folder is not None else f"not banked; build with `{command(name)}`"})
    return rows
