r"""The floating-point type each scale computes in, and why CI's numbers do not depend on the CPU.

torch's CPU kernels pick their code path by instruction set and vendor (ATen's AVX2 / AVX-512
vector kernels, oneDNN's convolutions, MKL's BLAS), OpenBLAS does the same for numpy and SciPy,
and the thread count changes the order of parallel reductions. Each path is deterministic, but two
machines round the last bit differently, and a few dozen GAN or inpainting steps amplify a
float32 last-bit difference (about :math:`6\cdot10^{-8}` relative) into the second decimal of a
table. Pinning the kernels cannot cover every machine: MKL's reproducibility mode is documented for
Intel CPUs, oneDNN promises identical results only on one platform, and OpenBLAS's kernel choice is
the machine's business (``OPENBLAS_CORETYPE``), not ours.

So the CI scale is made *insensitive* instead: every stored experiment at ``scale="smoke"`` runs
with torch's default floating type set to ``float64`` (:func:`computing`, entered by
:func:`repro.store.experiment`). A last-bit difference is then about :math:`10^{-16}` relative;
amplified by the same factor (about :math:`10^{5}`) it stays near :math:`10^{-11}`, seven orders
below the four decimals a committed notebook shows, on any x86-64 CPU, with any thread count.
``make test`` checks this by recomputing every smoke result under a second numeric setting,
:data:`OTHER_CPU` (ATen's vector kernels off, one thread, MKL's AVX2 path, oneDNN capped at AVX2,
numpy's AVX-512 loops off), and running nbval on the same committed notebooks again.

``cpu`` and ``paper`` keep ``float32``, the type the papers train in: their numbers are the book's
results, they are not compared by nbval, and float64 would cost time there for nothing. Benchmarks
(experiments that measure time or memory) compute in ``float32`` at every scale, since they measure
the cost of the book's own runs.

**Threads.** The thread count changes the order of parallel reductions, so every stored run
computes with the same number of threads wherever it runs (:func:`threads_per_run`: one, unless
``REPRO_THREADS_PER_RUN`` says otherwise; entered by :func:`repro.store.experiment` through
:func:`threads`): a key means one result whether the run computed in a notebook's kernel, on a
worker of the runner's local cluster or on a cluster's worker (:mod:`repro.runner`). Two cores are
used by running two runs side by side, not by two threads in one run.

Code that makes tensors from data follows :func:`torch.get_default_dtype` (see
:func:`repro.data.images.to_tensor`), so models, data and losses agree on one type; what is
cached across runs (frozen networks, fixed test sets) is cached per type (:func:`cache_per_dtype`).
"""
from __future__ import annotations

import contextlib
import functools
import os
from typing import Callable, Iterator

import torch

from repro.config import FLOAT_TYPES, Scale, parse_scale


#: The numeric setting that stands for another machine in ``make test`` (environment variables,
#: read when torch, MKL, oneDNN and numpy start). ``OPENBLAS_*`` stay as the machine sets them:
#: some machines need them, and the results must not depend on them.
OTHER_CPU: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "default",  # ATen's scalar kernels instead of its AVX2 / AVX-512 ones
    "OMP_NUM_THREADS": "1",  # one thread: another order of every parallel reduction
    "MKL_NUM_THREADS": "1",
    "MKL_CBWR": "AVX2",  # MKL's reproducible AVX2 BLAS kernels instead of the CPU's own ones
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN's convolutions (float32 runs) as on an AVX2-only CPU
    "NPY_DISABLE_CPU_FEATURES": "X86_V4,AVX512_ICL,AVX512_SPR",  # numpy's AVX-512 loops off
}


#: Environment variable: threads every stored run computes with (default :data:`THREADS_PER_RUN`).
THREADS_ENV = "REPRO_THREADS_PER_RUN"
THREADS_PER_RUN = 1


def threads_per_run() -> int:
    """The threads of every stored run: ``$REPRO_THREADS_PER_RUN`` or :data:`THREADS_PER_RUN`."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if not value:
        return THREADS_PER_RUN
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{THREADS_ENV}={value!r}: give a positive number of threads, or unset it (default {THREADS_PER_RUN})")
    return int(value)


@contextlib.contextmanager
def threads(count: int) -> Iterator[int]:
    """Compute with ``count`` torch threads inside the block, and restore the old count after."""
    previous = torch.get_num_threads()
    if count != previous:
        torch.set_num_threads(count)
    try:
        yield count
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def describe() -> dict[str, str]:
    """The numeric setting this process runs under (what ``repro numerics`` prints)."""
    import numpy as np

    features = np.show_config(mode="dicts")["SIMD Extensions"]
    return {
        "torch CPU kernels": torch.backends.cpu.get_cpu_capability(),
        "torch threads": str(torch.get_num_threads()),
        "threads per stored run": str(threads_per_run()),
        "numpy SIMD": ", ".join(features["found"]) or "baseline only",
        **{f"float type at {scale.value}": name for scale, name in FLOAT_TYPES.items()},
    }


def dtype_for(scale: "str | Scale", *, benchmark: bool = False) -> torch.dtype:
    """The floating type of a run at ``scale`` (:data:`repro.config.FLOAT_TYPES`); ``float32`` for a
    benchmark at any scale."""
    return torch.float32 if benchmark else getattr(torch, FLOAT_TYPES[parse_scale(scale)])


@contextlib.contextmanager
def computing(dtype: torch.dtype) -> Iterator[torch.dtype]:
    """Make ``dtype`` torch's default floating type inside the block, and restore the old one after."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield dtype
    finally:
        torch.set_default_dtype(previous)


def floating(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` in the default floating type (integer and boolean tensors converted too)."""
    return tensor.to(torch.get_default_dtype())


def cache_per_dtype(maxsize: "int | None" = 8) -> Callable:
    """:func:`functools.lru_cache` keyed by the arguments *and* the default floating type, the call
    made in that type: a frozen network or data set cached during a float32 run is never handed to
    a float64 one. The decorated function has ``cache_clear()``."""

    def decorate(fn: Callable) -> Callable:
        @functools.lru_cache(maxsize=maxsize)
        def cached(dtype: torch.dtype, *args, **kwargs):
            with computing(dtype):
                return fn(*args, **kwargs)

        @functools.wraps(fn)
        def call(*args, **kwargs):
            return cached(torch.get_default_dtype(), *args, **kwargs)

        call.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return call

    return decorate
