"""Shared fixtures. Tests that need the fetched weights/data skip nothing: `make test` fetches first."""
from __future__ import annotations

import pytest
import torch


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
