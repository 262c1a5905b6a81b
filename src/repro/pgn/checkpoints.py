"""Trained PGNs as files: float16 weights + config + sha256, listed in ``data/pgn/manifest.json``.

``repro train-pgn --scale cpu`` trains the book's PGNs (:mod:`repro.pgn.training`) and :func:`save`
writes ``<name>-<mode>.pt`` and ``<name>-<mode>.log.json`` (the training curve) next to the
manifest. :func:`load` (what ``create_model("pgn_resnet4", pretrained=True)`` calls) rebuilds the
backbone from the stored config, checks the file's sha256 and returns the PGN in eval mode.
Checkpoints of other scales go to the cache (``<cache>/pgn/<scale>/``), never into the repository.
"""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import torch

from repro.paths import cache_dir, repo_root
from repro.pgn.pgn import PGN, PGNConfig
from repro.store import atomic_write_bytes
from repro.zoo.pgn_backbones import backbone

#: The scale of the PGNs shipped in data/pgn/ (trained by `repro train-pgn --scale cpu`); other scales live in the cache.
SHIPPED_PGN_SCALE = "cpu"


def folder(scale: str = SHIPPED_PGN_SCALE) -> Path:
    """``data/pgn`` for the committed (cpu-scale) PGNs, the cache for the others."""
    return repo_root() / "data" / "pgn" if scale == SHIPPED_PGN_SCALE else cache_dir() / "pgn" / scale


def manifest(scale: str = SHIPPED_PGN_SCALE) -> dict:
    path = folder(scale) / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _key(name: str, mode: str) -> str:
    return f"{name}-{mode}"


def save(result: dict, cfg, scale: "str | None" = None) -> Path:
    """Write a :func:`repro.pgn.training.train` result; returns the checkpoint's path."""
    scale = scale or cfg.scale.value
    out = folder(scale)
    out.mkdir(parents=True, exist_ok=True)
    key = _key(cfg.name, cfg.mode)
    buffer = io.BytesIO()
    state = {k: v.cpu().half() if v.is_floating_point() else v.cpu() for k, v in result["pgn"].backbone.state_dict().items()}
    torch.save(state, buffer)
    data = buffer.getvalue()
    path = atomic_write_bytes(out / f"{key}.pt", data)
    atomic_write_bytes(out / f"{key}.log.json", json.dumps(result["log"]).encode())
    entries = manifest(scale)
    entries[key] = {"file": path.name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                    "config": cfg.to_dict(), "seconds": round(result["seconds"], 1),
                    "final_cosine": result["log"]["cosine"][-1]}
    atomic_write_bytes(out / "manifest.json", json.dumps(entries, indent=1, sort_keys=True).encode())
    return path


def entry(name: str, mode: str = "constrained", scale: str = SHIPPED_PGN_SCALE) -> dict:
    entries = manifest(scale)
    key = _key(name, mode)
    if key not in entries:
        have = ", ".join(sorted(entries)) or "none"
        raise FileNotFoundError(
            f"no trained PGN {key!r} at scale {scale!r} (have: {have}); train it with "
            f"`repro train-pgn --scale {scale} --backbone {name.removeprefix('pgn_')} --mode {mode}`")
    return entries[key]


def training_log(name: str, mode: str = "constrained", scale: str = SHIPPED_PGN_SCALE) -> dict:
    entry(name, mode, scale)
    return json.loads((folder(scale) / f"{_key(name, mode)}.log.json").read_text())


def load(name: str, mode: str = "constrained", scale: str = SHIPPED_PGN_SCALE):
    """The trained PGN ``name`` (e.g. ``pgn_resnet4``) in ``mode``, eval mode, float32."""
    info = entry(name, mode, scale)
    path = folder(scale) / info["file"]
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != info["sha256"]:
        raise RuntimeError(f"{path} is corrupt (sha256 {digest[:12]}..., manifest says {info['sha256'][:12]}...): "
                           f"restore it with `git checkout -- {path.name}` or retrain with `repro train-pgn`")
    net = backbone(info["config"]["backbone"], info["config"]["width"])
    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return PGN(net, PGNConfig(mode=mode)).eval()
