r"""What producing a gradient costs (PGN Tables 1/6, Figs. 2/8): parameters, MACs, time and peak memory
of the VGG perceptual loss's forward-backward against a PGN's forward.

* :func:`count_macs` — multiply-accumulates of one call, from ``torch.utils.flop_counter`` (FLOPs / 2).
* :func:`fold_batchnorm` — inference copy of a network with every Conv2d -> BatchNorm2d pair fused
  into one convolution (:math:`w' = w\,\gamma/\sqrt{\sigma^2+\epsilon}`,
  :math:`b' = (b - \mu)\,\gamma/\sqrt{\sigma^2+\epsilon} + \beta`); same outputs in eval mode.
* :func:`peak_memory_mb` — peak resident memory a call adds, measured in a fresh subprocess (CPU
  allocations do not go through Python's allocator, and a process's peak cannot be reset).
"""
from __future__ import annotations

import copy
import multiprocessing
import resource

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode


def count_macs(fn, *args) -> int:
    """MACs of ``fn(*args)`` (convolutions and matrix products; FLOPs / 2)."""
    with FlopCounterMode(display=False) as counter:
        fn(*args)
    return counter.get_total_flops() // 2


def _fuse(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    fused = copy.deepcopy(conv)
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    fused.weight = nn.Parameter(conv.weight.detach() * scale.view(-1, 1, 1, 1))
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
    fused.bias = nn.Parameter((bias - bn.running_mean) * scale + bn.bias.detach())
    return fused


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """An eval-mode copy of ``module`` with Conv2d -> BatchNorm2d pairs inside Sequentials fused."""
    model = copy.deepcopy(module).eval()
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        layers = list(seq)
        for i in range(len(layers) - 1):
            if isinstance(layers[i], nn.Conv2d) and isinstance(layers[i + 1], nn.BatchNorm2d):
                seq[i] = _fuse(layers[i], layers[i + 1])
                seq[i + 1] = nn.Identity()
    return model


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _child(build, queue) -> None:
    fn = build()
    before = _rss_mb()
    fn()
    queue.put(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before)


def peak_memory_mb(build) -> float:
    """Peak resident memory (MiB) that one call of ``build()()`` adds, in a fresh process.

    ``build`` (a picklable, module-level function) creates the networks and inputs and returns the
    call to measure, so that only the call's own allocations count.
    """
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(build, queue))
    proc.start()
    value = queue.get(timeout=600)
    proc.join()
    return float(value)
