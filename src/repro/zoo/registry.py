"""A timm-style registry: ``@register_model`` functions, ``create_model``, ``list_models``."""
from __future__ import annotations

import fnmatch
from typing import Callable

import torch.nn as nn

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register ``fn`` under its name; ``fn(pretrained=False, **kwargs)`` returns a module."""
    name = fn.__name__
    if name in _MODELS:
        raise ValueError(f"model {name!r} is registered twice")
    _MODELS[name] = fn
    return fn


def list_models(pattern: str = "*") -> list[str]:
    """Registered names matching a shell-style pattern, sorted."""
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, pattern))


def create_model(name: str, pretrained: bool = False, **kwargs) -> nn.Module:
    """Build a registered model; ``pretrained=True`` loads its fetched weights."""
    try:
        fn = _MODELS[name]
    except KeyError:
        hint = " (the pgn_* models are registered by `import repro.pgn`)" if name.startswith("pgn_") else ""
        raise ValueError(f"unknown model {name!r}{hint}; registered: {', '.join(list_models())}") from None
    return fn(pretrained=pretrained, **kwargs)
