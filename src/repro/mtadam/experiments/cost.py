"""MTAdam's step cost against its floor (N backward passes), stored like any experiment.

A benchmark on random MNIST-sized tensors: it reads nothing under ``data_root`` at any scale.
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

from repro.config import ExperimentConfig, Scale
from repro.mtadam.benchmark import step_costs
from repro.store import experiment


@dataclasses.dataclass(frozen=True)
class StepCostConfig(ExperimentConfig):
    n_terms: tuple[int, ...] = (2, 6, 10)
    batch_size: int = 64
    repeats: int = 20

    NAME = "mtadam.step_costs"
    PRESETS: ClassVar[dict] = {Scale.SMOKE: dict(repeats=3), Scale.CPU: dict(repeats=20), Scale.PAPER: dict(repeats=50)}


#: The config of a scale (:meth:`ExperimentConfig.create`)
config = StepCostConfig.create


@experiment("mtadam/step_costs", benchmark=True)
def run(cfg: StepCostConfig) -> dict:
    return {"rows": step_costs(cfg.n_terms, batch_size=cfg.batch_size, repeats=cfg.repeats, seed=cfg.seed)}
