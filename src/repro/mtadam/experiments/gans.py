r"""What the GAN tables of MTAdam (Tables 2-4: pix2pix, CycleGAN, SRGAN) share: their rows, the
loop that trains the rows one after another with a checkpoint after each, and the image-to-image
evaluation of Tables 2-3 (L1 and L2 on 0-255 pixels, NMSE, FID against the targets), and the seed
spread of the tables' reference row (:data:`REFERENCE`, :func:`reference_runs`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from repro import metrics, report, runner

#: The rows of Tables 2-4: (name, generator optimiser, loss-weight setting).
METHODS: tuple[tuple[str, str, str], ...] = (
    ("Unbalanced-SGD-Momentum", "SGD-Momentum", "unbalanced"),
    ("Unbalanced-RMSProp", "RMSProp", "unbalanced"),
    ("Unbalanced-Adam", "Adam", "unbalanced"),
    ("Unbalanced-MTAdam", "MTAdam", "unbalanced"),
    ("Balanced-Adam", "Adam", "balanced"),
)
#: The row whose seed-to-seed spread each of Tables 2-5 shows: MTAdam on the unbalanced weights, the row
#: every comparison of the tables involves (Table 5's full method).
REFERENCE = "Unbalanced-MTAdam"
#: The tables' row order: the trained rows, with the Hyperband search before balanced Adam.
ORDER = [m[0] for m in METHODS[:4]] + ["Hyperband-FID", "Balanced-Adam"]


def train_methods(state: dict, checkpoint, desc: str, train_one) -> None:
    """Train the table's rows (:data:`METHODS`) not yet in ``state["methods"]``; checkpoint after each.

    ``train_one(optimizer, setting)`` returns a run with ``final``, ``curves`` and ``samples``.
    """
    for name, optimizer, setting in tqdm(METHODS, desc=desc):
        if name in state["methods"]:
            continue
        out = train_one(optimizer, setting)
        state["methods"][name] = {"final": out["final"], "curves": out["curves"], "samples": out["samples"]}
        checkpoint.save(state)


def predict(generator, x: torch.Tensor, batch: int = 16) -> torch.Tensor:
    """The generator's outputs in [0, 1] for inputs ``x`` in [0, 1] (it works in [-1, 1]), in eval mode."""
    generator.eval()
    with torch.no_grad():
        out = torch.cat([generator(x[i : i + batch] * 2 - 1) for i in range(0, len(x), batch)])
    generator.train()
    return ((out + 1) / 2).clamp(0, 1)


def evaluate(fake: torch.Tensor, target: torch.Tensor, target_features: "np.ndarray | None") -> dict:
    """L1, L2 (0-255), NMSE and, given the targets' Inception features, FID (NaN for a diverged run).
    The features come from :data:`repro.metrics.REFERENCE_FEATURES`, so every run of a table (its
    rows, Hyperband trials, ablation variants) computes them once."""
    if not torch.isfinite(fake).all():
        return {k: float("nan") for k in ("L1", "L2", "NMSE", "FID")}
    row = {"L1": float(metrics.l1(fake, target).mean()), "L2": float(metrics.l2(fake, target).mean()),
           "NMSE": float(metrics.nmse(fake, target).mean())}
    row["FID"] = float("nan") if target_features is None else metrics.frechet_distance(metrics.inception_features(fake), target_features)
    return row


def reference_runs(run, reference, cfg) -> dict:
    """``{seed: final metrics}`` of :data:`REFERENCE` at every seed of :data:`repro.report.SEEDS`: the
    table's own run (``run``) at ``cfg.seed``, the reference-only experiment (``reference``) at the others."""
    return report.at_seeds(cfg, lambda c: run(c)["methods"][REFERENCE]["final"], reference)


def chapter_runs(module, configs: dict) -> list:
    """The runs of a table's chapter (:func:`repro.runner.gather`): ``module.run`` for each ``{task: config}``
    and its reference alone at the other seeds (:func:`reference_runs`)."""
    return [r for cfg in configs.values() for r in runner.at_seeds(module.run, module.reference, cfg)]


def reference_spread(module, configs: dict) -> pd.DataFrame:
    """The seed spread (:func:`repro.report.seed_spread`) of :data:`REFERENCE` for each ``{task: config}``
    of ``module`` (``pix2pix``, ``cyclegan`` or ``srgan``: its ``run`` and ``reference`` experiments), rows
    ``(task, metric)``."""
    return pd.concat({task: report.seed_spread(reference_runs(module.run, module.reference, cfg)) for task, cfg in configs.items()},
                     names=["task"])
