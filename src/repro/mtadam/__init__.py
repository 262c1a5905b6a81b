r"""MTAdam (Malkiel & Wolf): automatic balancing of multiple training loss terms.

* :class:`MTAdam` — the optimizer (:mod:`repro.mtadam.optimizer`), with the paper's Table 5
  ablations as options (:data:`ABLATIONS`);
* :mod:`.baselines` — the optimisers it is compared with; :mod:`.hyperband` — the Hyperband search
  of a loss weight (Optuna); :mod:`.benchmark` — its step cost;
* :mod:`.experiments` — one module per table: ``mnist`` (Table 1), ``pix2pix`` (Table 2, Figs. 1-2),
  ``cyclegan`` (Table 3, Figs. 3-6), ``srgan`` (Table 4, Fig. 7), ``ablation`` (Table 5), ``cost``
  (the step-cost table), ``summary`` (the closing page); ``gans`` holds what Tables 2-4 share.
"""
from repro.mtadam.optimizer import ABLATIONS, PAPER_VS_CODE, MTAdam, layer_param_groups

__all__ = ["ABLATIONS", "PAPER_VS_CODE", "MTAdam", "layer_param_groups"]
