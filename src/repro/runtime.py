"""Where computations run, chosen in one place: :func:`device` (the GPU when there is one, else the
CPU; nothing requires a GPU). The environment variable ``REPRO_DEVICE`` (``cpu``, ``cuda``,
``cuda:1``, ...) overrides the automatic choice. Also how the benchmarks time a call
(:func:`median_seconds`)."""
from __future__ import annotations

import os
import statistics
import time

import torch

#: Environment variable naming the device every model and tensor is placed on (default: automatic).
DEVICE_ENV = "REPRO_DEVICE"


def device() -> torch.device:
    """``$REPRO_DEVICE`` when set (checked to exist), else ``cuda`` when available, else ``cpu``."""
    value = os.environ.get(DEVICE_ENV, "").strip()
    if not value:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(value)
    except (RuntimeError, ValueError):
        raise ValueError(f"{DEVICE_ENV}={value!r} is not a device name; use cpu, cuda or cuda:<index>, or unset it") from None
    if chosen.type == "cpu":
        return chosen
    if chosen.type != "cuda":
        raise ValueError(f"{DEVICE_ENV}={value!r}: only cpu and cuda[:<index>] are supported")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise RuntimeError(f"{DEVICE_ENV}={value!r} but no CUDA device is available here; set {DEVICE_ENV}=cpu or unset it")
    if chosen.index is not None and chosen.index >= count:
        raise RuntimeError(f"{DEVICE_ENV}={value!r} but only {count} CUDA device(s) exist (cuda:0 to cuda:{count - 1})")
    return chosen


def progress(show: bool = True) -> dict:
    """tqdm keyword arguments of a progress bar that ``show=False`` turns off; with ``show=True`` no
    ``disable`` is passed, so ``TQDM_DISABLE`` (CI, nbval) still applies."""
    return {} if show else {"disable": True}


def _synchronize() -> None:
    dev = device()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def median_seconds(fn, repeats: int = 5) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after one warm-up (GPU work waited for)."""
    def timed() -> float:
        start = time.perf_counter()
        fn()
        _synchronize()
        return time.perf_counter() - start

    fn()
    _synchronize()
    return statistics.median(timed() for _ in range(repeats))
