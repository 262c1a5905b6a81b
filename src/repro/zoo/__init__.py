"""The model zoo: every network the book uses, created by name.

``create_model("vgg16_features", pretrained=True)``, ``list_models("lpips_*")``,
``list_pretrained()`` (the entries with weights). Pretrained members load genuine weights from the
cache (``make fetch``); nothing is downloaded at run time. :func:`pretrained_model` is the shared,
cached copy of a frozen pretrained network (the metrics' and perceptual losses' backbones).
The zoo knows no paper: the PGN entries (``pgn_*``) are registered by :mod:`repro.pgn` when it is
imported (``import repro.pgn``).
"""
from repro.zoo.registry import create_model, list_models, list_pretrained, pretrained_model, register_model

# Importing the model files registers their entries.
from repro.zoo import classifiers, cyclegan, inception, inpainting, lpips_net, pgn_backbones, pix2pix, srgan, vgg  # noqa: E402,F401

__all__ = ["create_model", "list_models", "list_pretrained", "pretrained_model", "register_model"]
