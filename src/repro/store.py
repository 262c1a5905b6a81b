r"""Stored results: every experiment's output is kept under a name derived from its config.

* :func:`experiment` turns ``fn(cfg) -> dict`` into a cached experiment: the first call runs it
  and stores the result as JSON under ``<results>/<experiment>/<cfg.key()>.json``
  (:func:`repro.paths.results_dir`); later calls (a rebuilt book, a re-run notebook) load it
  instead of re-running.
* Writes are atomic (:func:`atomic_write_bytes`: a temporary file in the same folder, then
  ``os.replace``), so an interrupt never leaves a half-written result.
* Every run computes in its scale's floating type (:mod:`repro.numerics`: float64 at ``smoke``, so
  CI's numbers do not depend on the CPU; float32 otherwise, and for benchmarks at every scale).
* Long runs resume: an experiment may accept a :class:`Checkpoint` and save its state every so
  often; a re-run after an interrupt starts from the last saved state, and the checkpoint is
  removed once the final result is stored.
"""
from __future__ import annotations

import functools
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

from repro import numerics
from repro.config import ExperimentConfig
from repro.paths import results_dir

C = TypeVar("C", bound=ExperimentConfig)


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that ``path`` is either absent, old or complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        os.fchmod(fd, 0o644)  # mkstemp creates 0600; results and weights are ordinary files
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _to_jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _to_jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if hasattr(obj, "detach"):  # a torch tensor
        return _to_jsonable(obj.detach().cpu().numpy())
    return obj


def _from_jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__float__"}:
            return float(obj["__float__"])
        return {k: _from_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_from_jsonable(v) for v in obj]
    return obj


def dumps(result: dict) -> bytes:
    """Serialise a result (numbers, strings, lists, arrays, tensors; NaN/inf kept) to JSON bytes."""
    return json.dumps(_to_jsonable(result), indent=1, sort_keys=True, allow_nan=False).encode()


def loads(data: bytes) -> dict:
    return _from_jsonable(json.loads(data))


class Checkpoint:
    """A resumable run's saved state (any ``torch.save``-able object), written atomically."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self) -> Any:
        import torch

        return torch.load(self.path, map_location="cpu", weights_only=False)

    def save(self, state: Any) -> None:
        import torch

        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(self.path, buffer.getvalue())

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


class ResultStore:
    """Results of experiments, one JSON file per (experiment, config)."""

    def __init__(self, root: "Path | None" = None):
        self.root = Path(root) if root is not None else results_dir()

    def path(self, name: str, cfg: ExperimentConfig) -> Path:
        return self.root / name / f"{cfg.key()}.json"

    def checkpoint(self, name: str, cfg: ExperimentConfig) -> Checkpoint:
        return Checkpoint(self.root / name / f"{cfg.key()}.ckpt")

    def has(self, name: str, cfg: ExperimentConfig) -> bool:
        return self.path(name, cfg).is_file()

    def load(self, name: str, cfg: ExperimentConfig) -> dict:
        return loads(self.path(name, cfg).read_bytes())["result"]

    def save(self, name: str, cfg: ExperimentConfig, result: dict) -> Path:
        record = {"experiment": name, "config": cfg.to_dict(), "key": cfg.key(), "result": result}
        return atomic_write_bytes(self.path(name, cfg), dumps(record))


def experiment(name: str, *, resumable: bool = False, benchmark: bool = False) -> Callable:
    """Decorate ``fn(cfg[, checkpoint]) -> dict`` as a stored, reusable experiment.

    The decorated function takes ``(cfg, *, store=None, rerun=False)`` and runs in the floating type
    of ``cfg.scale`` (:func:`repro.numerics.dtype_for`); ``benchmark=True`` marks an experiment that
    measures time or memory, which runs in float32 at every scale. With ``resumable=True`` the
    function also receives a :class:`Checkpoint` keyword argument ``checkpoint``; it is cleared once
    the final result is stored.
    """

    def decorate(fn: Callable[..., dict]) -> Callable[..., dict]:
        @functools.wraps(fn)
        def run(cfg: C, *, store: "ResultStore | None" = None, rerun: bool = False) -> dict:
            if not isinstance(cfg, ExperimentConfig):
                raise TypeError(f"{name} takes an ExperimentConfig, got {type(cfg).__name__}")
            store = store or ResultStore()
            if store.has(name, cfg) and not rerun:
                return store.load(name, cfg)
            with numerics.computing(numerics.dtype_for(cfg.scale, benchmark=benchmark)):
                if resumable:
                    checkpoint = store.checkpoint(name, cfg)
                    result = fn(cfg, checkpoint=checkpoint)
                else:
                    result = fn(cfg)
            store.save(name, cfg, result)
            if resumable:
                checkpoint.clear()
            # Return what a later call will load, so both paths give identical objects.
            return store.load(name, cfg)

        run.experiment_name = name  # type: ignore[attr-defined]
        return run

    return decorate
