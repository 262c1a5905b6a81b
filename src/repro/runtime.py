"""Where computations run: the GPU when there is one, else the CPU. Nothing requires a GPU.
Also how the benchmarks time a call (:func:`median_seconds`)."""
from __future__ import annotations

import statistics
import time

import torch


def device() -> torch.device:
    """``cuda`` when available, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def progress(show: bool = True) -> dict:
    """tqdm keyword arguments of a progress bar that ``show=False`` turns off; with ``show=True`` no
    ``disable`` is passed, so ``TQDM_DISABLE`` (CI, nbval) still applies."""
    return {} if show else {"disable": True}


def median_seconds(fn, repeats: int = 5) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after one warm-up (GPU work waited for)."""
    def timed() -> float:
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter() - start

    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return statistics.median(timed() for _ in range(repeats))
