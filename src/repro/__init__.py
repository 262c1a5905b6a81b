r"""`repro`: a reproducibility book for three image-generation papers.

* **AWA** — Hui et al., *Auxiliary Loss Reweighting for Image Inpainting* (TPL/TSL + AWA).
* **PGN** — Nikulin et al., *Perceptual Gradient Networks*.
* **MTAdam** — Malkiel & Wolf, *MTAdam: Automatic Balancing of Multiple Training Loss Terms*.

The shared foundation lives here: the model zoo (:mod:`repro.zoo`, with genuine offline
VGG-16 / LPIPS / FID-Inception weights), metrics (:mod:`repro.metrics`), real data
(:mod:`repro.data`), the papers' numbers as data (:mod:`repro.paper_tables`), experiment
scales and the result store (:mod:`repro.config`, :mod:`repro.store`).
"""
from repro.config import Scale, parse_scale

__all__ = ["Scale", "parse_scale", "__version__"]
__version__ = "0.1.0"
