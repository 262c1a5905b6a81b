"""A timm-style registry: ``@register_model`` functions, ``create_model``, ``list_models``,
``list_pretrained``; and :func:`pretrained_model`, the one cache of frozen pretrained networks.

An entry with trained weights is registered with ``@register_model(pretrained=True)`` and takes
``pretrained`` as its first argument; every other entry only builds an architecture. The registry
alone refuses ``pretrained=True`` for an entry without weights, so no entry carries its own check.
"""
from __future__ import annotations

import fnmatch
from typing import Callable

import torch
import torch.nn as nn

from repro.numerics import cache_per_dtype

_MODELS: dict[str, Callable[..., nn.Module]] = {}
_PRETRAINED: set[str] = set()


def register_model(fn: "Callable[..., nn.Module] | None" = None, *, pretrained: bool = False):
    """Register ``fn`` under its name. ``@register_model`` for an architecture without weights
    (``fn(**kwargs)``); ``@register_model(pretrained=True)`` for one whose trained weights ship
    with the book or its cache (``fn(pretrained=False, **kwargs)``)."""

    def register(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = fn.__name__
        if name in _MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        _MODELS[name] = fn
        if pretrained:
            _PRETRAINED.add(name)
        return fn

    return register if fn is None else register(fn)


def list_models(pattern: str = "*") -> list[str]:
    """Registered names matching a shell-style pattern, sorted."""
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, pattern))


def list_pretrained(pattern: str = "*") -> list[str]:
    """Registered names with trained weights (``create_model(name, pretrained=True)``), sorted."""
    return sorted(n for n in _PRETRAINED if fnmatch.fnmatch(n, pattern))


def create_model(name: str, pretrained: bool = False, **kwargs) -> nn.Module:
    """Build a registered model; ``pretrained=True`` loads its fetched or shipped weights."""
    try:
        fn = _MODELS[name]
    except KeyError:
        hint = " (the pgn_* models are registered by `import repro.pgn`)" if name.startswith("pgn_") else ""
        raise ValueError(f"unknown model {name!r}{hint}; registered: {', '.join(list_models())}") from None
    if name not in _PRETRAINED:
        if pretrained:
            raise ValueError(f"{name} has no pretrained weights (the book trains it); create it with "
                             f"pretrained=False. Models with weights: {', '.join(list_pretrained())}")
        return fn(**kwargs)
    return fn(pretrained=pretrained, **kwargs)


@cache_per_dtype(maxsize=16)
def pretrained_model(name: str, **kwargs) -> nn.Module:
    """``create_model(name, pretrained=True, **kwargs)``, built once per (arguments, floating type)
    and shared by every caller: the frozen networks of the metrics and perceptual losses.

    Building a network draws its initial weights from the global RNG before the pretrained ones
    replace them; that draw happens on a forked RNG, so whether and when a frozen network is first
    built never changes what a seeded run computes.
    """
    with torch.random.fork_rng(devices=[]):
        return create_model(name, pretrained=True, **kwargs)
