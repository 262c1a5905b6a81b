"""MTAdam's stored runs as observations for the claims ledger (:mod:`repro.claims`).

One row per (seed, arm, metric, cell): the arms are the tables' row names (``Unbalanced-MTAdam``,
``Balanced-Adam``, ``Hyperband-FID``, the Table 5 variants, CycleGAN's identity mapping, SRGAN's
bicubic upscaling), the cells ``t<table>/<task>[/<direction>]`` or ``t4/<test set>`` (a ledger
row picks its table's cells with a pattern such as ``t2/*``). Table 1's repeats
are its seeds (each repeat fixes the initialisation, the class weights and the batches of every
optimiser); Tables 2-5 have the one seed of the run. Read inside :func:`repro.store.stored_only`.
"""
from __future__ import annotations

import pandas as pd

from repro.mtadam.experiments import ablation, cyclegan, mnist, pix2pix, srgan
from repro.mtadam.experiments.summary import CYCLEGAN_TASKS, PIX2PIX_TASKS

#: Arm names of Table 1's (setting, optimizer) columns.
MNIST_ARMS = {(s, o): f"{s.capitalize()}-{o}" for s, o in mnist.RUNS}


def _rows(seed: int, arm: str, final: dict, cell: str, n: int, split=lambda key: (key, "")) -> list[dict]:
    out = []
    for key, value in final.items():
        metric, suffix = split(key)
        out.append({"seed": seed, "arm": arm, "metric": metric, "cell": f"{cell}/{suffix}" if suffix else cell,
                    "value": float(value), "n": n})
    return out


def _side(key: str) -> tuple[str, str]:  # "L1_A" -> ("L1", "A")
    metric, _, side = key.rpartition("_")
    return metric, side


def observations(scale: str, data_root: "str | None" = None, seed: int = 0) -> pd.DataFrame:
    """Every MTAdam table's stored runs at ``scale`` as observation rows."""
    kw = dict(seed=seed, data_root=data_root)
    rows = []
    table1 = mnist.run(mnist.config(scale, **kw))
    for r in table1["runs"]:
        rows.append({"seed": r["repeat"], "arm": MNIST_ARMS[r["setting"], r["optimizer"]], "metric": "accuracy",
                     "cell": "t1/mnist", "value": float(r["accuracy"]), "n": table1["n_test"]})
    p2p_cfgs = {t: pix2pix.config(t, scale, **kw) for t in PIX2PIX_TASKS}
    for task, cfg in p2p_cfgs.items():
        result = pix2pix.run(cfg)
        for arm, method in result["methods"].items():
            rows += _rows(seed, arm, method["final"], f"t2/{task}", result["sizes"]["test"])
    cg_cfgs = {t: cyclegan.config(t, scale, **kw) for t in CYCLEGAN_TASKS}
    for task, cfg in cg_cfgs.items():
        result = cyclegan.run(cfg)
        n = result["sizes"]["test"]
        for arm, method in result["methods"].items():
            rows += _rows(seed, arm, method["final"], f"t3/{task}", n, _side)
        rows += _rows(seed, cyclegan.IDENTITY, result["identity"], f"t3/{task}", n, _side)
    table4 = srgan.run(srgan.config(scale, **kw))
    for arm, final in [*((a, m["final"]) for a, m in table4["methods"].items()), ("Bicubic (not in the paper)", table4["bicubic"])]:
        for test_set in srgan.TEST_SETS:
            picked = {k.removeprefix(f"{test_set}_"): v for k, v in final.items() if k.startswith(f"{test_set}_")}
            rows += _rows(seed, arm, picked, f"t4/{test_set}", table4["sizes"][test_set])
    n_test = {"labels2photo": p2p_cfgs["labels2photo"].n_test, "photo2falsecolour": cg_cfgs["photo2falsecolour"].n_test}
    for task, variants, split in (("labels2photo", ablation.run_pix2pix(p2p_cfgs["labels2photo"]), lambda k: (k, "")),
                                  ("photo2falsecolour", ablation.run_cyclegan(cg_cfgs["photo2falsecolour"]), _side)):
        for arm, final in variants.items():
            rows += _rows(seed, arm, final, f"t5/{task}", n_test[task], split)
    return pd.DataFrame(rows)
