"""The MTAdam part's closing page: every table and figure of the paper with its verdicts.

Re-uses the stored results of the chapters (each ``run`` returns its stored result; at a scale
that was not run yet it computes it).
"""
from __future__ import annotations

import pandas as pd

from repro.experiments import mtadam_ablation, mtadam_cost, mtadam_cyclegan, mtadam_mnist, mtadam_pix2pix, mtadam_srgan
from repro.report import Verdict

PIX2PIX_TASKS = {"labels2photo": "facades", "photo2map": "maps"}
CYCLEGAN_TASKS = {"photo2falsecolour": "horse2zebra", "photo2map": "maps2aerial"}


def _rows(item: str, shown: str, verdicts: "list[Verdict]") -> list[dict]:
    return [{"item": item, "what we show": shown, **v.as_row()} for v in verdicts]


def closing(scale: str, seed: int = 0, data_root: "str | None" = None) -> pd.DataFrame:
    """One row per (table/figure, claim): what the book shows and the verdict computed from the data."""
    kw = dict(seed=seed, data_root=data_root)
    mnist = mtadam_mnist.run(mtadam_mnist.config(scale, **kw))
    p2p_cfgs = {t: mtadam_pix2pix.config(t, scale, **kw) for t in PIX2PIX_TASKS}
    p2p = {t: mtadam_pix2pix.run(c) for t, c in p2p_cfgs.items()}
    cg_cfgs = {t: mtadam_cyclegan.config(t, scale, **kw) for t in CYCLEGAN_TASKS}
    cg = {t: mtadam_cyclegan.run(c) for t, c in cg_cfgs.items()}
    sr = mtadam_srgan.run(mtadam_srgan.config(scale, **kw))
    ablation = mtadam_ablation.summary(mtadam_ablation.run_pix2pix(p2p_cfgs["labels2photo"]),
                                       mtadam_ablation.run_cyclegan(cg_cfgs["photo2falsecolour"]))
    rows = (_rows("Table 1", "MNIST, 10 weighted class terms, 5 optimisers", mtadam_mnist.verdicts(mnist))
            + _rows("Table 2, Figs. 1-2", "pix2pix: table, L1/FID curves, samples", mtadam_pix2pix.verdicts(p2p))
            + _rows("Table 3, Figs. 3-6", "CycleGAN: table, L1 curves, samples per direction", mtadam_cyclegan.verdicts(cg))
            + _rows("Table 4, Fig. 7", "SRGAN: table, PSNR curves, samples", mtadam_srgan.verdicts(sr))
            + _rows("Table 5", "ablation (i)-(v) on pix2pix and CycleGAN", mtadam_ablation.verdicts(ablation)))
    return pd.DataFrame(rows).set_index(["item", "what we show"])


def step_costs(scale: str, seed: int = 0) -> pd.DataFrame:
    """The step-cost benchmark of chapter 1 (stored): MTAdam step / N backward passes, per N."""
    rows = mtadam_cost.run(mtadam_cost.config(scale, seed=seed))["rows"]
    return pd.DataFrame(rows).set_index("n_terms")
