"""Shared fixtures. Tests that need the fetched weights/data skip nothing: `make test` fetches first."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(0)


@pytest.fixture
def photos64():
    from repro.data import random_crops

    return random_crops(8, 64, seed=1)


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """A cache directory with nothing fetched in it."""
    monkeypatch.setenv("REPRO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


class TinyFeatures(nn.Module):
    """A frozen random 2-layer stand-in for the AvgPool VGG (ReLU outputs, AvgPool between) so perceptual
    gradient tests run in milliseconds; ``layers`` is accepted and ignored (VGG's signature)."""

    def __init__(self) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.convs = nn.ModuleList([nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 5, 3, padding=1)])
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
                p.requires_grad_(False)

    def forward(self, x, layers=None):
        out, h = [], x
        for conv in self.convs:
            h = torch.relu(conv(h))
            out.append(h)
            h = nn.functional.avg_pool2d(h, 2)
        return out


def _randomise_batchnorm(net: nn.Module) -> nn.Module:
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return net.eval()


@pytest.fixture
def randomise_batchnorm():
    """Give every BatchNorm of a network non-trivial statistics and affine parameters; eval mode."""
    return _randomise_batchnorm


@pytest.fixture
def tiny_features():
    """Factory of :class:`TinyFeatures` (call ``.double()`` for finite-difference checks)."""
    return TinyFeatures
