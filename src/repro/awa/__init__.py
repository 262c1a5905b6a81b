"""AWA (Hui et al.): TPL/TSL (:mod:`.losses`), Auxiliary Weights Adaptation (:mod:`.awa`), the
objective seen by a reweighting method (:mod:`.objective`), the interface every reweighting method
offers the training loop (:mod:`.weighting`), the competitors GradNorm, GradSim and AdaLoss
(:mod:`.baselines`) and the step-cost benchmark (:mod:`.benchmark`); the chapters' stored runs
(:mod:`.experiments`) and the paper's tables and figures built from them (:mod:`.tables`)."""
from repro.awa.awa import AWA, AWAConfig
from repro.awa.baselines import AdaLoss, Fixed, GradNorm, GradSim
from repro.awa.losses import DEFAULT_WEIGHTS, TERM_NAMES, UPPER_BOUNDS, AuxiliaryTerms, MainWeights, TunableWeights

__all__ = ["AWA", "AWAConfig", "AdaLoss", "Fixed", "GradNorm", "GradSim", "DEFAULT_WEIGHTS", "TERM_NAMES",
           "UPPER_BOUNDS", "AuxiliaryTerms", "MainWeights", "TunableWeights"]
