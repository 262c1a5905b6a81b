"""PGN (Nikulin et al.): perceptual gradient networks.

* :mod:`.pgn` — the four gradient parametrisations (Eqs. 2-9), the perceptual loss, the meta-loss (Eq. 10);
* :mod:`.training` — the autoencoder-zoo training pipeline (Fig. 1) and ``repro train-pgn``;
* :mod:`.checkpoints` — trained PGNs as files (``data/pgn/``), loaded by ``create_model(..., pretrained=True)``;
* :mod:`.tasks` — gradient sources and the three tasks (Deep Image Prior, latent inversion, fine-tuning);
* :mod:`.cost` — MACs, inference rewrites, time and peak memory of producing a gradient;
* :mod:`.experiments` — the chapters' stored runs (cost, Deep Image Prior, inversion, talking heads);
* :mod:`.tables` — the paper's tables and figures and their verdicts, from those runs.

The backbones are in the model zoo (:mod:`repro.zoo.pgn_backbones`); :mod:`.models` registers the
``pgn_*`` zoo entries (a backbone plus its mode, trained or fresh).
"""
from repro.pgn import models  # noqa: F401  (registers create_model("pgn_*"))
from repro.pgn.pgn import MODES, PGN, PGNConfig, PerceptualLoss, cosine_similarity, meta_loss

__all__ = ["MODES", "PGN", "PGNConfig", "PerceptualLoss", "cosine_similarity", "meta_loss"]
