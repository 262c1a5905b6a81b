r"""Stored results: every experiment's output is kept under a name derived from its config.

* :func:`experiment` turns ``fn(cfg) -> dict`` into a cached experiment: the first call runs it
  and stores the result as JSON under ``<results>/<experiment>/<cfg.key()>.json``
  (:func:`repro.paths.results_dir`); later calls (a rebuilt book, a re-run notebook) load it
  instead of re-running.
* Writes are atomic (:func:`atomic_write_bytes`: a temporary file in the same folder, then
  ``os.replace``), so an interrupt never leaves a half-written result.
* Every run computes in its scale's floating type (:mod:`repro.numerics`: float64 at ``smoke``, so
  CI's numbers do not depend on the CPU; float32 otherwise, and for benchmarks at every scale).
* Every record carries a sha256 of its own content (``"sha256"``, over the canonical JSON of the
  rest of the record, written in the same atomic write), checked whenever it is read: an edited,
  truncated or misplaced result gives one :class:`CorruptResultError` naming the file and the fix
  instead of being used.
* Every run computes with the same number of threads (:func:`repro.numerics.threads_per_run`),
  so a key means one result wherever it was computed (in this process or on a worker of
  :mod:`repro.runner`); two workers computing the same key each write a complete record, and the
  atomic replace leaves one of them.
* Runs too long for the book's build come from the run bank (:mod:`repro.bank`, committed under
  ``data/bank/``): when the cache has no result for a key, the store looks there, checks the banked
  record's sha256 against its entry and its own checksum, and serves it (:meth:`ResultStore.banked`
  says where it came from). ``REPRO_RECOMPUTE=1`` (``repro book|run --recompute``) ignores the bank.
* Long runs resume: an experiment may accept a :class:`Checkpoint` and save its state every so
  often; a re-run after an interrupt starts from the last saved state, and the checkpoint is
  removed once the final result is stored. A checkpoint holds tensors, numbers, strings and plain
  containers only (numpy values travel as tensors) and is read with ``torch.load(weights_only=True)``:
  a planted pickle cannot run code, it is refused with a :class:`CorruptCheckpointError`.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import io
import json
import math
import os
import pickle
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

from repro import numerics
from repro.config import ExperimentConfig
from repro.paths import bank_dir, results_dir

C = TypeVar("C", bound=ExperimentConfig)

#: What to do about a corrupt file in the result store (named in every error about one).
VERIFY_COMMAND = "repro fetch --verify"
#: Environment variable: ``1`` ignores the run bank, so banked runs are computed again.
RECOMPUTE_ENV = "REPRO_RECOMPUTE"
#: The files of one bank entry (``data/bank/<name>/``): the store record and its provenance.
BANK_RECORD, BANK_ENTRY = "record.json", "entry.json"


class CorruptResultError(RuntimeError):
    """A stored result does not match its checksum, is truncated, or is not a result record."""


class MissingResultError(LookupError):
    """A stored result was asked for while computing is off (:func:`stored_only`)."""

    def __init__(self, name: str, cfg: ExperimentConfig) -> None:
        super().__init__(f"no stored result of {name} for {cfg.key()} (scale={cfg.scale.value}, seed={cfg.seed})")
        self.name, self.cfg = name, cfg


#: Inside :func:`stored_only`: experiments return stored results and compute nothing.
_STORED_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("stored_only", default=False)


@contextlib.contextmanager
def stored_only():
    """Within the block every stored experiment returns its stored result or raises
    :class:`MissingResultError`; nothing is computed (``repro claims`` reads the book's runs this way)."""
    token = _STORED_ONLY.set(True)
    try:
        yield
    finally:
        _STORED_ONLY.reset(token)


class CorruptCheckpointError(RuntimeError):
    """A checkpoint cannot be read safely (corrupt, truncated, or holding more than tensors and plain data)."""


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


def _content_sha256(raw: dict) -> str:
    """sha256 of a record's canonical JSON (sorted keys, no spaces), its own ``sha256`` left out."""
    body = {k: v for k, v in raw.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()).hexdigest()


def dump_record(record: dict) -> bytes:
    """A record as JSON bytes that carry their own checksum (see :func:`load_record`)."""
    raw = _to_jsonable(record)
    raw["sha256"] = _content_sha256(raw)
    return json.dumps(raw, indent=1, sort_keys=True, allow_nan=False).encode()


def load_record(path: Path) -> dict:
    """Read a record written by :func:`dump_record`, checking its checksum; one error naming the fix."""
    path = Path(path)

    def corrupt(why: str) -> CorruptResultError:
        return CorruptResultError(
            f"stored result {path} {why}; delete it and run again (the experiment recomputes it), "
            f"or run `{VERIFY_COMMAND}` to remove every corrupt result"
        )

    try:
        raw = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise corrupt(f"is not valid JSON (truncated or overwritten: {err})") from None
    if not isinstance(raw, dict) or "sha256" not in raw:
        raise corrupt("has no checksum (not a result record, or written by an older version of repro)")
    if raw["sha256"] != _content_sha256(raw):
        raise corrupt("does not match its checksum (edited or damaged)")
    return _from_jsonable({k: v for k, v in raw.items() if k != "sha256"})


def _to_safe_tensors(obj: Any) -> Any:
    """Numpy values as tensors, so that a checkpoint loads with ``weights_only=True`` bit for bit."""
    import torch

    if isinstance(obj, dict):
        return {k: _to_safe_tensors(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_safe_tensors(v) for v in obj)
    if isinstance(obj, (np.ndarray, np.generic)):
        array = np.asarray(obj)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"a checkpoint holds numeric arrays only, got dtype {array.dtype}")
        tag = "__numpy__" if isinstance(obj, np.ndarray) else "__numpy_scalar__"
        return {tag: torch.from_numpy(array.copy())}
    if obj is None or isinstance(obj, (bool, int, float, str, torch.Tensor)):
        return obj
    raise TypeError(f"a checkpoint holds tensors, numbers, strings and plain containers only, got {type(obj).__name__}")


def _from_safe_tensors(obj: Any) -> Any:
    if isinstance(obj, dict):
        if len(obj) == 1 and "__numpy__" in obj:
            return obj["__numpy__"].numpy()
        if len(obj) == 1 and "__numpy_scalar__" in obj:
            return obj["__numpy_scalar__"].numpy()[()]
        return {k: _from_safe_tensors(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_from_safe_tensors(v) for v in obj)
    return obj


class Checkpoint:
    """A resumable run's saved state, written atomically.

    The state is tensors, numpy arrays and scalars, numbers, strings, ``None`` and dicts / lists /
    tuples of them; anything else is refused when saving. Loading uses ``torch.load`` with
    ``weights_only=True``, which rebuilds only those types, so a file planted in the store cannot
    run code; a file that does not load gives one :class:`CorruptCheckpointError` naming it.
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self) -> Any:
        import torch

        try:
            with warnings.catch_warnings():  # torch warns about the protocol of foreign pickles
                warnings.simplefilter("ignore", UserWarning)
                state = torch.load(self.path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            why = "it holds objects other than tensors, numbers, strings and plain containers; loading them could run code"
        except Exception as err:  # torch raises RuntimeError, EOFError, ... on a damaged file
            why = f"it is truncated or corrupt: {type(err).__name__}"
        else:
            return _from_safe_tensors(state)
        raise CorruptCheckpointError(
            f"checkpoint {self.path} was refused ({why}); delete it and run again: the run restarts from scratch")

    def save(self, state: Any) -> None:
        import torch

        buffer = io.BytesIO()
        torch.save(_to_safe_tensors(state), buffer)
        atomic_write_bytes(self.path, buffer.getvalue())

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def recompute() -> bool:
    """``$REPRO_RECOMPUTE`` is set (to anything but ``0`` or nothing): the run bank is ignored."""
    return os.environ.get(RECOMPUTE_ENV, "").strip() not in ("", "0")


def bank_index(root: Path) -> dict[tuple[str, str], Path]:
    """``{(experiment, key): entry folder}`` of the bank at ``root`` (entries whose ``entry.json``
    cannot be read are left out here; ``repro bank verify`` reports them)."""
    index = {}
    for entry in sorted(Path(root).glob(f"*/{BANK_ENTRY}")) if Path(root).is_dir() else []:
        try:
            info = json.loads(entry.read_text())
            index[(info["experiment"], info["key"])] = entry.parent
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return index


def load_banked(folder: Path) -> dict:
    """A bank entry's record, checked against the sha256 its ``entry.json`` lists and its own checksum."""
    folder = Path(folder)
    info = json.loads((folder / BANK_ENTRY).read_text())
    data = (folder / BANK_RECORD).read_bytes()
    if hashlib.sha256(data).hexdigest() != info["files"][BANK_RECORD]:
        raise CorruptResultError(f"bank entry {folder} does not match the sha256 of its entry.json; restore it with "
                                 f"`git checkout -- {folder}` or rebuild it with `{info.get('command', 'repro bank build')}`")
    return load_record(folder / BANK_RECORD)


class ResultStore:
    """Results of experiments, one JSON file per (experiment, config), backed by the run bank."""

    def __init__(self, root: "Path | None" = None, bank: "Path | None" = None):
        self.root = Path(root) if root is not None else results_dir()
        self.bank = Path(bank) if bank is not None else bank_dir()

    def banked(self, name: str, cfg: ExperimentConfig) -> "Path | None":
        """The bank entry serving this run (no result in the cache, the bank consulted), or None."""
        if recompute() or self.path(name, cfg).is_file():
            return None
        return bank_index(self.bank).get((name, cfg.key()))

    def path(self, name: str, cfg: ExperimentConfig) -> Path:
        return self.root / name / f"{cfg.key()}.json"

    def checkpoint(self, name: str, cfg: ExperimentConfig) -> Checkpoint:
        return Checkpoint(self.root / name / f"{cfg.key()}.ckpt")

    def has(self, name: str, cfg: ExperimentConfig) -> bool:
        return self.path(name, cfg).is_file() or self.banked(name, cfg) is not None

    def load(self, name: str, cfg: ExperimentConfig) -> dict:
        path = self.path(name, cfg)
        folder = self.banked(name, cfg)
        record = load_record(path) if folder is None else load_banked(folder)
        path = path if folder is None else folder / BANK_RECORD
        if record.get("experiment") != name or record.get("key") != cfg.key() or "result" not in record:
            raise CorruptResultError(
                f"stored result {path} holds another experiment's record ({record.get('experiment')!r}, "
                f"key {record.get('key')!r}); delete it and run again, or run `{VERIFY_COMMAND}`"
            )
        return record["result"]

    def save(self, name: str, cfg: ExperimentConfig, result: dict) -> Path:
        record = {"experiment": name, "type": cfg.NAME, "config": cfg.to_dict(), "key": cfg.key(), "result": result}
        return atomic_write_bytes(self.path(name, cfg), dump_record(record))

    def files(self, suffix: str = ".json") -> list[Path]:
        """Every stored file ending in ``suffix`` (records ``.json``, checkpoints ``.ckpt``), sorted."""
        return sorted(self.root.rglob(f"*{suffix}")) if self.root.is_dir() else []

    def prune(self, config_types: "dict[str, type[ExperimentConfig]]", remove: bool = False) -> list[Path]:
        """Stored results that no current config maps to: a record whose config, rebuilt with its
        type's current code (``config_types``: ``NAME`` -> class), no longer has the key it is filed
        under (the key scheme or a ``VERSION`` changed, a field was added or removed), or whose type
        no longer exists, or that cannot be read. With ``remove=True`` they (and their checkpoints)
        are deleted. Returns their paths."""
        orphans = []
        for path in self.files(".json"):
            try:
                record = load_record(path)
                cls = config_types[record["type"]]
                current = cls(**record["config"]).key()
            except Exception:  # unreadable, an older record format, an unknown type, a config that no longer builds
                current = None
            if current != path.stem:
                orphans.append(path)
                if remove:
                    path.unlink(missing_ok=True)
                    path.with_suffix(".ckpt").unlink(missing_ok=True)
        return orphans

    def verify(self, repair: bool = False) -> list[tuple[Path, str]]:
        """Check every stored record (``*.json``) and checkpoint (``*.ckpt``); returns ``(path, problem)``.

        With ``repair=True`` the corrupt files are deleted, so their experiments recompute them.
        """
        problems = []
        for path in self.files(".json") + self.files(".ckpt"):
            try:
                if path.suffix == ".json":
                    record = load_record(path)
                    if path.stem != record.get("key"):
                        raise CorruptResultError(f"stored result {path} is named for another key ({record.get('key')!r})")
                else:
                    Checkpoint(path).load()
            except (CorruptResultError, CorruptCheckpointError) as err:
                problems.append((path, str(err)))
                if repair:
                    path.unlink(missing_ok=True)
        return problems


#: The store of the experiment being computed: an experiment it calls (e.g. a warm start) uses it too.
_CURRENT_STORE: "contextvars.ContextVar[ResultStore | None]" = contextvars.ContextVar("repro_current_store", default=None)


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
            store = store or _CURRENT_STORE.get() or ResultStore()
            if store.has(name, cfg) and not rerun:
                return store.load(name, cfg)
            if _STORED_ONLY.get():
                raise MissingResultError(name, cfg)
            token = _CURRENT_STORE.set(store)  # an experiment it calls reads and writes the same store
            try:
                with numerics.computing(numerics.dtype_for(cfg.scale, benchmark=benchmark)), numerics.threads(numerics.threads_per_run()):
                    result = _call(fn, cfg, store, name, resumable)
            finally:
                _CURRENT_STORE.reset(token)
            store.save(name, cfg, result)
            if resumable:
                store.checkpoint(name, cfg).clear()
            # Return what a later call will load, so both paths give identical objects.
            return store.load(name, cfg)

        run.experiment_name = name  # type: ignore[attr-defined]
        return run

    return decorate


def _call(fn: Callable[..., dict], cfg, store: "ResultStore", name: str, resumable: bool) -> dict:
    if resumable:
        return fn(cfg, checkpoint=store.checkpoint(name, cfg))
    return fn(cfg)
