r"""The PGN entries of the model zoo: ``create_model("pgn_resnet4", pretrained=True)`` and its kin.

Each returns a :class:`repro.pgn.PGN` (a backbone of :mod:`repro.zoo.pgn_backbones` plus the mode
that turns its output into a gradient); ``pretrained=True`` loads the PGN ``repro train-pgn``
trained, from ``data/pgn/`` (sha256-checked, :mod:`repro.pgn.checkpoints`). They are registered
when :mod:`repro.pgn` is imported: the zoo itself knows no paper.
"""
from __future__ import annotations

from repro.pgn.checkpoints import load
from repro.pgn.pgn import PGN, PGNConfig
from repro.zoo.pgn_backbones import backbone
from repro.zoo.registry import register_model


def _pgn(name: str, pretrained: bool, mode: str, width: int) -> PGN:
    """A fresh PGN on backbone ``name``, or (``pretrained=True``) the trained one of ``data/pgn/``
    (its width, mode and sha256 come from the manifest there)."""
    if pretrained:
        return load(f"pgn_{name}", mode)
    return PGN(backbone(name, width), PGNConfig(mode=mode))


@register_model(pretrained=True)
def pgn_resnet4(pretrained: bool = False, mode: str = "constrained", width: int = 64):
    """ResNet-4 PGN (1.34 M parameters at width 64); returns a :class:`repro.pgn.PGN`."""
    return _pgn("resnet4", pretrained, mode, width)


@register_model(pretrained=True)
def pgn_resnet6(pretrained: bool = False, mode: str = "constrained", width: int = 64):
    """ResNet-6 PGN (1.93 M parameters at width 64); returns a :class:`repro.pgn.PGN`."""
    return _pgn("resnet6", pretrained, mode, width)


@register_model(pretrained=True)
def pgn_resnet8(pretrained: bool = False, mode: str = "constrained", width: int = 64):
    """ResNet-8 PGN (2.52 M parameters at width 64); returns a :class:`repro.pgn.PGN`."""
    return _pgn("resnet8", pretrained, mode, width)


@register_model(pretrained=True)
def pgn_unet(pretrained: bool = False, mode: str = "constrained", width: int = 64):
    """Double-Blaze UNet PGN (1.71 M parameters at width 64); returns a :class:`repro.pgn.PGN`."""
    return _pgn("unet", pretrained, mode, width)
