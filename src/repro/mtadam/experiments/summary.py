"""The MTAdam part's closing page: every table and figure of the paper with its verdicts.

Re-uses the stored results of the chapters (each ``run`` returns its stored result; at a scale
that was not run yet it computes it).
"""
from __future__ import annotations

import pandas as pd

from repro.mtadam.experiments import ablation, cost, cyclegan, mnist, pix2pix, srgan
from repro.report import Verdict

PIX2PIX_TASKS = {"labels2photo": "facades", "photo2map": "maps"}
CYCLEGAN_TASKS = {"photo2falsecolour": "horse2zebra", "photo2map": "maps2aerial"}


def _rows(item: str, shown: str, verdicts: "list[Verdict]") -> list[dict]:
    return [{"item": item, "what we show": shown, **v.as_row()} for v in verdicts]


def closing(scale: str, seed: int = 0, data_root: "str | None" = None) -> pd.DataFrame:
    """One row per (table/figure, claim): what the book shows and the verdict computed from the data."""
    kw = dict(seed=seed, data_root=data_root)
    table1 = mnist.run(mnist.config(scale, **kw))
    p2p_cfgs = {t: pix2pix.config(t, scale, **kw) for t in PIX2PIX_TASKS}
    table2 = {t: pix2pix.run(c) for t, c in p2p_cfgs.items()}
    cg_cfgs = {t: cyclegan.config(t, scale, **kw) for t in CYCLEGAN_TASKS}
    table3 = {t: cyclegan.run(c) for t, c in cg_cfgs.items()}
    table4 = srgan.run(srgan.config(scale, **kw))
    table5 = ablation.summary(ablation.run_pix2pix(p2p_cfgs["labels2photo"]),
                              ablation.run_cyclegan(cg_cfgs["photo2falsecolour"]))
    rows = (_rows("Table 1", "MNIST, 10 weighted class terms, 5 optimisers", mnist.verdicts(table1))
            + _rows("Table 2, Figs. 1-2", "pix2pix: table, L1/FID curves, samples", pix2pix.verdicts(table2))
            + _rows("Table 3, Figs. 3-6", "CycleGAN: table, L1 curves, samples per direction", cyclegan.verdicts(table3))
            + _rows("Table 4, Fig. 7", "SRGAN: table, PSNR curves, samples", srgan.verdicts(table4))
            + _rows("Table 5", "ablation (i)-(v) on pix2pix and CycleGAN", ablation.verdicts(table5)))
    return pd.DataFrame(rows).set_index(["item", "what we show"])


def step_costs(scale: str, seed: int = 0) -> pd.DataFrame:
    """The step-cost benchmark of chapter 1 (stored): MTAdam step / N backward passes, per N."""
    rows = cost.run(cost.config(scale, seed=seed))["rows"]
    return pd.DataFrame(rows).set_index("n_terms")
