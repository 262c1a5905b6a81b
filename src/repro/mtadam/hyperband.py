r"""The Hyperband baseline of the MTAdam tables: a search over loss weights minimising validation FID.

Optuna's :class:`~optuna.pruners.HyperbandPruner` (Li et al. 2017) with random sampling, as in
the paper ("each trial randomly sampled a different lambda"); one resource unit is one training
epoch. Every experiment supplies what a trial samples and how it trains; this module runs the
study and collects the trials.
"""
from __future__ import annotations

import warnings
from typing import Callable


def _optuna():
    with warnings.catch_warnings():  # optuna imports tqdm.auto, which warns in a kernel without ipywidgets
        warnings.simplefilter("ignore")
        import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def search(study_name: str, suggest: Callable, train: Callable, n_trials: int, max_epochs: int, seed: int) -> dict:
    """Run the study; ``suggest(trial) -> params``; ``train(params, number, report) -> dict``.

    ``report(epoch, value)`` records a trial's validation FID after an epoch and raises
    ``optuna.TrialPruned`` when Hyperband stops it; ``train`` returns the trial's final test
    metrics (stored for the best trial). The study name must be fixed: HyperbandPruner assigns
    trials to brackets by hashing it.

    Returns ``{"best_params", "best" (the best trial's ``train`` output plus ``val_FID``),
    "trials" (number, params, state, epochs run, val_FID)}``.
    """
    optuna = _optuna()
    sampler = optuna.samplers.RandomSampler(seed=seed)
    pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs, reduction_factor=3)
    study = optuna.create_study(study_name=study_name, direction="minimize", sampler=sampler, pruner=pruner)
    finished: dict[int, dict] = {}

    def objective(trial) -> float:
        params = suggest(trial)
        last = {}

        def report(epoch: int, value: float) -> None:
            last["fid"] = value
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()

        out = train(params, trial.number, report)
        finished[trial.number] = {**params, "val_FID": last["fid"], **out}
        return last["fid"]

    study.optimize(objective, n_trials=n_trials)
    best = study.best_trial
    trials = [{"trial": t.number, **t.params, "state": t.state.name, "epochs": len(t.intermediate_values),
               "val_FID": t.value if t.value is not None else float("nan")} for t in study.trials]
    return {"best_params": dict(best.params), "best": finished[best.number], "trials": trials}
