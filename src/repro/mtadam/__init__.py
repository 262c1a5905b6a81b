r"""MTAdam (Malkiel & Wolf): automatic balancing of multiple training loss terms.

* :class:`MTAdam` — the optimizer (:mod:`repro.mtadam.optimizer`), with the paper's Table 5
  ablations as options (:data:`ABLATIONS`).
"""
from repro.mtadam.optimizer import ABLATIONS, PAPER_VS_CODE, MTAdam, layer_param_groups

__all__ = ["ABLATIONS", "PAPER_VS_CODE", "MTAdam", "layer_param_groups"]
