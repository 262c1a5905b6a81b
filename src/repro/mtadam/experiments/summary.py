"""What the MTAdam part's closing page needs besides the ledger (its verdicts are
:func:`repro.ledger.part`): the tasks standing in for the paper's datasets, and the step-cost table.
"""
from __future__ import annotations

import pandas as pd

from repro.mtadam.experiments import cost

PIX2PIX_TASKS = {"labels2photo": "facades", "photo2map": "maps"}
CYCLEGAN_TASKS = {"photo2falsecolour": "horse2zebra", "photo2map": "maps2aerial"}


def step_costs(scale: str, seed: int = 0) -> pd.DataFrame:
    """The step-cost benchmark of chapter 1 (stored): MTAdam step / N backward passes, per N."""
    rows = cost.run(cost.config(scale, seed=seed))["rows"]
    return pd.DataFrame(rows).set_index("n_terms")
