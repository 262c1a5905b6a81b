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

from repro.claims import observe
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


def _mnist(scale: str, data_root, seed: int) -> list[dict]:
    table1 = mnist.run(mnist.config(scale, seed=seed, data_root=data_root))
    return [{"seed": r["repeat"], "arm": MNIST_ARMS[r["setting"], r["optimizer"]], "metric": "accuracy", "cell": "t1/mnist",
             "value": float(r["accuracy"]), "n": table1["n_test"]} for r in table1["runs"]]


def _pix2pix(scale: str, data_root, seed: int) -> list[dict]:
    rows = []
    for task in PIX2PIX_TASKS:
        result = pix2pix.run(pix2pix.config(task, scale, seed=seed, data_root=data_root))
        for arm, method in result["methods"].items():
            rows += _rows(seed, arm, method["final"], f"t2/{task}", result["sizes"]["test"])
    return rows


def _cyclegan(scale: str, data_root, seed: int) -> list[dict]:
    rows = []
    for task in CYCLEGAN_TASKS:
        result = cyclegan.run(cyclegan.config(task, scale, seed=seed, data_root=data_root))
        n = result["sizes"]["test"]
        for arm, method in result["methods"].items():
            rows += _rows(seed, arm, method["final"], f"t3/{task}", n, _side)
        rows += _rows(seed, cyclegan.IDENTITY, result["identity"], f"t3/{task}", n, _side)
    return rows


def _srgan(scale: str, data_root, seed: int) -> list[dict]:
    table4, rows = srgan.run(srgan.config(scale, seed=seed, data_root=data_root)), []
    for arm, final in [*((a, m["final"]) for a, m in table4["methods"].items()), ("Bicubic (not in the paper)", table4["bicubic"])]:
        for test_set in srgan.TEST_SETS:
            picked = {k.removeprefix(f"{test_set}_"): v for k, v in final.items() if k.startswith(f"{test_set}_")}
            rows += _rows(seed, arm, picked, f"t4/{test_set}", table4["sizes"][test_set])
    return rows


def _ablation(scale: str, data_root, seed: int) -> list[dict]:
    p2p_cfg = pix2pix.config("labels2photo", scale, seed=seed, data_root=data_root)
    cg_cfg = cyclegan.config("photo2falsecolour", scale, seed=seed, data_root=data_root)
    rows = []
    for task, variants, n, split in (("labels2photo", ablation.run_pix2pix(p2p_cfg), p2p_cfg.n_test, lambda k: (k, "")),
                                     ("photo2falsecolour", ablation.run_cyclegan(cg_cfg), cg_cfg.n_test, _side)):
        for arm, final in variants.items():
            rows += _rows(seed, arm, final, f"t5/{task}", n, split)
    return rows


#: The chapter whose runs test a claim (the ledger's ``chapter``) -> its observations.
CHAPTERS = {"mtadam_01_optimizer_mnist": _mnist, "mtadam_02_pix2pix": _pix2pix, "mtadam_03_cyclegan": _cyclegan,
            "mtadam_04_srgan": _srgan, "mtadam_05_ablation": _ablation}


def observations(scale: str, data_root: "str | None" = None, chapters: "tuple | None" = None, seed: int = 0) -> pd.DataFrame:
    """The stored runs of ``chapters`` (default: every MTAdam chapter) at ``scale`` as observation rows."""
    return observe(CHAPTERS, scale, data_root, chapters, seed=seed)
