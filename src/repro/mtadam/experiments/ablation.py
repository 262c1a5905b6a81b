r"""MTAdam, Table 5: the ablation (i)–(v) on unbalanced pix2pix and CycleGAN.

Each variant of :data:`repro.mtadam.ABLATIONS` replaces MTAdam in the unbalanced runs of
Table 2 (pix2pix, the *facades* analogue ``labels2photo``) and Table 3 (CycleGAN, the
*horse2zebra* analogue ``photo2falsecolour``), with the same configuration, data and seed.
The "full method" row is Table 2's / Table 3's own Unbalanced-MTAdam run, read back from the
result store (run again only if it is not there), so the rows differ in the optimiser only.
"""
from __future__ import annotations

import pandas as pd
from tqdm import tqdm

from repro.mtadam.experiments import cyclegan, pix2pix
from repro.mtadam import ABLATIONS
from repro.store import experiment

#: Our Table 5 label -> the paper's row label in data/paper_tables/mtadam_table5.csv.
PAPER_ROWS = dict(zip(ABLATIONS, ("(i)", "(ii)", "(iii)", "(iv)", "(v)", "full")))
FULL = "full method"
VARIANTS = [v for v in ABLATIONS if v != FULL]


def _variants(module, cfg, lam: float, checkpoint, desc: str) -> dict:
    """Final test metrics of each variant (``module.train`` with MTAdam options), then the full method
    read back from the module's own table (``module.run``)."""
    data = module.datasets(cfg)
    state = checkpoint.load() if checkpoint.exists() else {}
    for name in tqdm(VARIANTS, desc=desc):
        if name not in state:
            state[name] = module.train(cfg, "MTAdam", lam, data, options=ABLATIONS[name], curve=False)["final"]
            checkpoint.save(state)
    return {**state, FULL: module.run(cfg)["methods"]["Unbalanced-MTAdam"]["final"]}


@experiment("mtadam/table5_pix2pix", resumable=True)
def run_pix2pix(cfg: pix2pix.Pix2PixConfig, checkpoint) -> dict:
    """Final test metrics of each variant on unbalanced pix2pix."""
    return _variants(pix2pix, cfg, cfg.lambda_l1_unbalanced, checkpoint, f"Table 5 (pix2pix, {cfg.task})")


@experiment("mtadam/table5_cyclegan", resumable=True)
def run_cyclegan(cfg: cyclegan.CycleGANConfig, checkpoint) -> dict:
    """Final test metrics of each variant on unbalanced CycleGAN."""
    return _variants(cyclegan, cfg, cfg.lambda_cycle_unbalanced, checkpoint, f"Table 5 (CycleGAN, {cfg.task})")


def summary(p2p: dict, cg: dict) -> pd.DataFrame:
    """Our Table 5 in the paper's layout."""
    rows = []
    for name in ABLATIONS:
        a, b = p2p[name], cg[name]
        rows.append({"variant": PAPER_ROWS[name], "description": name,
                     "facades_L1": a["L1"], "facades_L2": a["L2"], "facades_NMSE": a["NMSE"], "facades_FID": a["FID"],
                     "h2z_L1_A": b["L1_A"], "h2z_FID_A": b["FID_A"], "h2z_L1_B": b["L1_B"], "h2z_FID_B": b["FID_B"]})
    return pd.DataFrame(rows)


