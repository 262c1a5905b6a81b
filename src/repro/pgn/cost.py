r"""What producing a gradient costs (PGN Tables 1/6, Figs. 2/8): parameters, MACs, time and peak memory
of the VGG perceptual loss's forward-backward against a PGN's forward.

* :func:`count_macs` — multiply-accumulates of one call, from ``torch.utils.flop_counter`` (FLOPs / 2).
* :func:`fold_batchnorm` — inference copy of a network with every Conv2d -> BatchNorm2d pair fused
  into one convolution (:math:`w' = w\,\gamma/\sqrt{\sigma^2+\epsilon}`,
  :math:`b' = (b - \mu)\,\gamma/\sqrt{\sigma^2+\epsilon} + \beta`); same outputs in eval mode.
* :func:`optimize_for_inference` — BatchNorm folding plus the x2 upsampling + 3x3 convolution of the
  ResNet backbones' decoder computed at low resolution (:class:`SubPixelConv`), LeakyReLUs in place.
* :func:`peak_memory_mb` — peak resident memory a call adds, measured in a fresh subprocess (CPU
  tensors do not go through Python's allocator): Linux's peak RSS (VmHWM) is reset through
  ``/proc/self/clear_refs`` right before the call and read right after it, with glibc told to give
  freed memory back at once.
"""
from __future__ import annotations

import copy
import multiprocessing

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode
from tqdm import tqdm

from repro.pgn.pgn import alexnet_loss, vgg_loss
from repro.runtime import median_seconds, progress as bar
from repro.zoo.pgn_backbones import backbone


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


class SubPixelConv(nn.Module):
    r"""``conv(upsample_nearest_x2(x))`` computed at low resolution: one convolution with 4x the output
    channels, then a pixel shuffle. For output phase :math:`(a, b)` the 3x3 kernel :math:`W` collapses
    onto the low-resolution grid row-wise as :math:`a = 0: (W_{-1}, W_0 + W_1, 0)`,
    :math:`a = 1: (0, W_{-1} + W_0, W_1)` (offsets -1, 0, +1), and likewise column-wise; zero padding
    agrees at the borders. Same outputs, without the 4x larger upsampled tensor."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        if conv.kernel_size != (3, 3) or conv.stride != (1, 1) or conv.padding != (1, 1) or conv.groups != 1:
            raise ValueError("SubPixelConv rewrites 3x3, stride-1, padding-1 convolutions only")
        w = conv.weight.detach()
        cout = w.shape[0]
        rows = {0: lambda k: torch.stack([k[..., 0, :], k[..., 1, :] + k[..., 2, :], torch.zeros_like(k[..., 0, :])], -2),
                1: lambda k: torch.stack([torch.zeros_like(k[..., 0, :]), k[..., 0, :] + k[..., 1, :], k[..., 2, :]], -2)}
        cols = {0: lambda k: torch.stack([k[..., 0], k[..., 1] + k[..., 2], torch.zeros_like(k[..., 0])], -1),
                1: lambda k: torch.stack([torch.zeros_like(k[..., 0]), k[..., 0] + k[..., 1], k[..., 2]], -1)}
        # pixel_shuffle reads channel c * 4 + a * 2 + b as output channel c at phase (a, b)
        phases = torch.stack([cols[b](rows[a](w)) for a in (0, 1) for b in (0, 1)], 1).reshape(4 * cout, *w.shape[1:])
        self.conv = nn.Conv2d(w.shape[1], 4 * cout, 3, 1, 1, bias=conv.bias is not None)
        self.conv.weight = nn.Parameter(phases)
        if conv.bias is not None:
            self.conv.bias = nn.Parameter(conv.bias.detach().repeat_interleave(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.conv(x), 2)


def optimize_for_inference(module: nn.Module) -> nn.Module:
    """An eval-mode copy of a PGN backbone for producing gradients: BatchNorm folded
    (:func:`fold_batchnorm`), each nearest x2 upsampling followed by a 3x3 convolution computed as a
    :class:`SubPixelConv`, and LeakyReLUs in place. Same outputs (tested); less memory and time."""
    model = fold_batchnorm(module)
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        layers = list(seq)
        for i in range(len(layers) - 1):
            up, nxt = layers[i], layers[i + 1]
            first = nxt[0] if isinstance(nxt, nn.Sequential) else nxt
            if (isinstance(up, nn.Upsample) and up.mode == "nearest" and up.scale_factor in (2, 2.0)
                    and isinstance(first, nn.Conv2d) and first.kernel_size == (3, 3) and first.stride == (1, 1)):
                seq[i] = nn.Identity()
                if isinstance(nxt, nn.Sequential):
                    nxt[0] = SubPixelConv(first)
                else:
                    seq[i + 1] = SubPixelConv(first)
    for m in model.modules():
        if isinstance(m, nn.LeakyReLU):
            m.inplace = True
    return model


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _limit_malloc_caching() -> None:
    """glibc: serve blocks >= 64 KiB by mmap with a *fixed* threshold and trim the heap on every free,
    so freed tensors go back to the OS and resident memory tracks live memory."""
    import ctypes

    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD (setting it also stops glibc raising it dynamically)
    libc.mallopt(-1, 0)  # M_TRIM_THRESHOLD


def _memory_child(jobs, queue) -> None:
    try:
        _limit_malloc_caching()
        out = []
        for job in jobs:
            fn = gradient_producer(*job)[0]
            fn()  # first call: one-off buffers and thread pools are not the call's own cost
            with open("/proc/self/clear_refs", "w") as f:  # reset the peak resident size (VmHWM) to the current one
                f.write("5")
            before = _status_mb("VmRSS")
            fn()
            out.append(_status_mb("VmHWM") - before)
        queue.put(out)
    except BaseException as err:  # report, do not hang the parent
        queue.put(err)


def peak_memory_mb(jobs: list) -> list:
    """Peak resident memory (MiB) that one call of each job's gradient producer adds, all measured in one
    fresh process: ``jobs`` are ``(model, size, batch)`` tuples of :func:`gradient_producer`.

    Method: Linux's peak resident size (VmHWM) is reset through ``/proc/self/clear_refs`` right before
    the call and read right after it; glibc is told not to keep freed memory (:func:`_limit_malloc_caching`),
    so the number is the call's own working memory (activations, workspaces), the weights excluded.
    The CPU analogue of ``torch.cuda.max_memory_allocated`` that the paper's Fig. 2 measures.
    """
    import queue as queues

    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    proc = ctx.Process(target=_memory_child, args=(list(jobs), results))
    proc.start()
    while True:
        try:
            value = results.get(timeout=1)
            break
        except queues.Empty:
            if not proc.is_alive():
                raise RuntimeError(f"the memory-measuring process died (exit code {proc.exitcode}); "
                                   "run from a script guarded by `if __name__ == '__main__':` or a notebook") from None
    proc.join()
    if isinstance(value, BaseException):
        raise RuntimeError(f"measuring memory failed: {value!r}")
    return [float(v) for v in value]


#: What Tables 1/6 compare: the perceptual losses' forward-backward (the real gradient) and each PGN's
#: forward (the synthetic one), the PGNs at the paper's width 64 (untrained: weights do not change costs).
#: "ResNet-4 (plain)" is ResNet-4 without the inference rewrites of :func:`optimize_for_inference`.
MODELS = ("VGG-16 PL", "AlexNet PL", "ResNet-4", "ResNet-6", "ResNet-8", "UNet", "ResNet-4 (plain)")


def gradient_producer(model: str, size: int, batch: int):
    """``(fn, params)``: a call that produces the gradient of ``batch`` images of ``size``^2, and the
    parameters it uses. Perceptual losses: forward of both images + backward; PGNs: one forward of the
    backbone under ``torch.inference_mode``, rewritten by :func:`optimize_for_inference` (the plain
    ResNet-4 row: in eval mode as trained)."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; valid: {', '.join(MODELS)}")
    torch.manual_seed(0)
    y_hat, y = torch.randn(batch, 3, size, size), torch.randn(batch, 3, size, size)
    if model in ("VGG-16 PL", "AlexNet PL"):
        loss = vgg_loss() if model == "VGG-16 PL" else alexnet_loss()
        used = loss.vgg.features[:12] if model == "AlexNet PL" else loss.vgg.features[:26]  # to the last ReLU used
        params = sum(p.numel() for p in used.parameters())

        def backward():  # = loss.gradient; .backward() because the flop counter cannot see into autograd.grad
            x = y_hat.clone().requires_grad_(True)
            loss.per_image(x, y).sum().backward()
            return x.grad

        return backward, params
    net = backbone(model.split()[0].replace("-", "").lower(), 64).eval()
    params = sum(p.numel() for p in net.parameters())  # the trained network's (before the rewrites)
    net = net if model.endswith("(plain)") else optimize_for_inference(net)
    x = torch.cat([y_hat, y], 1)

    def run():
        with torch.inference_mode():
            return net(x)

    return run, params


def gradient_costs(resolutions, batch: int = 2, repeats: int = 3, memory: bool = True, progress: bool = True) -> dict:
    """Tables 1/6 and Figs. 2/8: per model, parameters (M), weights (MiB, float32) and GMACs per image at
    256^2 (or the largest resolution); per resolution the median seconds of producing the gradient of
    ``batch`` images and (``memory=True``) the peak working memory it adds (MiB, :func:`peak_memory_mb`)."""
    mac_size = 256 if 256 in resolutions else max(resolutions)
    jobs = [(model, size, batch) for model in MODELS for size in resolutions]
    peaks = peak_memory_mb(jobs) if memory else [float("nan")] * len(jobs)
    rows = []
    for model in tqdm(MODELS, desc="gradient costs", **bar(progress)):
        fn, params = gradient_producer(model, mac_size, 1)
        info = {"model": model, "params_M": params / 1e6, "weights_MiB": params * 4 / 2**20, "mac_size": mac_size,
                "GMACs": count_macs(fn) / 1e9}  # the rewrites keep the MAC count (zero taps count)
        for size in resolutions:
            fn, _ = gradient_producer(model, size, batch)
            rows.append({**info, "size": size, "batch": batch, "seconds": median_seconds(fn, repeats),
                         "peak_MiB": peaks[jobs.index((model, size, batch))]})
    return {"rows": rows, "threads": torch.get_num_threads()}
