"""PGN (Nikulin et al.): perceptual gradient networks (:mod:`.pgn`). The backbones are in the
model zoo (:mod:`repro.zoo.pgn_backbones`). The training pipeline, the trained checkpoints and the
chapters are not built yet (issue 5)."""
from repro.pgn.pgn import MODES, PGN, PGNConfig, PerceptualLoss, cosine_similarity, meta_loss

__all__ = ["MODES", "PGN", "PGNConfig", "PerceptualLoss", "cosine_similarity", "meta_loss"]
