r"""The Hyperband baseline of the MTAdam tables: a search over loss weights minimising validation FID.

Optuna's :class:`~optuna.pruners.HyperbandPruner` (Li et al. 2017) with random sampling, as in
the paper ("each trial randomly sampled a different lambda"); one resource unit is one training
epoch. Every experiment supplies what a trial samples and how it trains; this module runs the
study and collects the trials.

**Trials as tasks.** When the search runs inside a task of the runner's Dask cluster
(:mod:`repro.runner`: a table's run computed on a worker), each trial is a task of its own, on an
Optuna storage that every worker reaches: an SQLite file under the result store by default
(``<results>/.hyperband/``), or ``$REPRO_OPTUNA_STORAGE`` (an RDB URL such as
``postgresql://user@host/optuna`` for a cluster). The search process samples every trial (the
seeded sampler lives there) and tells Optuna each outcome; the worker that trains a trial reports its
epochs and asks the pruner through the storage. ``$REPRO_HYPERBAND_TRIALS_AT_ONCE`` trials run at
once (default 1): with one at a time the trial sequence, every pruning decision and the best trial
are those of the in-process search, bit for bit (``tests/test_runner.py``); with more, Hyperband's
pruning depends on the order in which trials finish, so the table's run is no longer a function of
its config alone (the MTAdam pages say so).
"""
from __future__ import annotations

import os
import uuid
import warnings
from typing import Callable

#: Environment variable: the Optuna storage URL the trials of a search share (default: an SQLite file).
STORAGE_ENV = "REPRO_OPTUNA_STORAGE"
#: Environment variable: how many trials of one search train at once on the cluster (default 1).
AT_ONCE_ENV = "REPRO_HYPERBAND_TRIALS_AT_ONCE"


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
    from repro import runner

    optuna = _optuna()
    sampler = optuna.samplers.RandomSampler(seed=seed)
    pruner = _pruner(max_epochs)
    if runner.inside_task():
        return _search_as_tasks(study_name, suggest, train, n_trials, max_epochs, sampler, pruner)
    study = optuna.create_study(study_name=study_name, direction="minimize", sampler=sampler, pruner=pruner)
    finished: dict[int, dict] = {}

    def objective(trial) -> float:
        params = suggest(trial)
        last: dict = {}
        out = train(params, trial.number, _reporter(trial, last))
        finished[trial.number] = {**params, "val_FID": last["fid"], **out}
        return last["fid"]

    study.optimize(objective, n_trials=n_trials)
    return _outcome(study, finished)


def _reporter(trial, last: dict) -> Callable[[int, float], None]:
    """``report(epoch, value)`` of one trial: keep the value in ``last["fid"]``, record it with
    Optuna, and raise ``optuna.TrialPruned`` when Hyperband stops the trial."""
    optuna = _optuna()

    def report(epoch: int, value: float) -> None:
        last["fid"] = value
        trial.report(value, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()

    return report


def _pruner(max_epochs: int):
    return _optuna().pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs, reduction_factor=3)


def _outcome(study, finished: dict) -> dict:
    best = study.best_trial
    trials = [{"trial": t.number, **t.params, "state": t.state.name, "epochs": len(t.intermediate_values),
               "val_FID": t.value if t.value is not None else float("nan")} for t in study.trials]
    return {"best_params": dict(best.params), "best": finished[best.number], "trials": trials}


def _storage_url() -> str:
    url = os.environ.get(STORAGE_ENV, "").strip()
    if url:
        return url
    from repro.paths import results_dir

    folder = results_dir() / ".hyperband"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / f'{uuid.uuid4().hex}.db'}"


def _at_once() -> int:
    value = os.environ.get(AT_ONCE_ENV, "1").strip()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{AT_ONCE_ENV}={value!r}: give a positive number of trials (default 1)")
    return int(value)


def train_trial(storage: str, study_name: str, trial_id: int, max_epochs: int, params: dict, train: Callable,
                dtype_name: str) -> tuple:
    """One trial, as a task on a worker: train with ``params`` in the search's floating type and with
    the threads of every stored run (:mod:`repro.numerics`), reporting each epoch's validation FID to
    the shared storage and asking the pruner there. Returns ``(state, last FID, train's output)``."""
    import torch

    from repro import numerics

    with numerics.computing(getattr(torch, dtype_name)), numerics.threads(numerics.threads_per_run()):
        return _train_trial(storage, study_name, trial_id, max_epochs, params, train)


def _train_trial(storage: str, study_name: str, trial_id: int, max_epochs: int, params: dict, train: Callable) -> tuple:
    optuna = _optuna()
    study = optuna.load_study(study_name=study_name, storage=storage, pruner=_pruner(max_epochs))
    trial = optuna.trial.Trial(study, trial_id)
    last: dict = {}
    try:
        out = train(params, trial.number, _reporter(trial, last))
    except optuna.TrialPruned:
        return "PRUNED", last.get("fid"), None
    return "COMPLETE", last["fid"], out


def _search_as_tasks(study_name: str, suggest: Callable, train: Callable, n_trials: int, max_epochs: int,
                     sampler, pruner) -> dict:
    """:func:`search` with every trial a task on the cluster this search runs on (module docstring)."""
    from distributed import wait, worker_client

    import torch

    optuna = _optuna()
    storage = _storage_url()
    dtype = str(torch.get_default_dtype()).removeprefix("torch.")
    study = optuna.create_study(study_name=study_name, storage=storage, direction="minimize", sampler=sampler, pruner=pruner)
    finished: dict[int, dict] = {}
    running: dict = {}
    asked = 0
    try:
        with worker_client() as client:  # secedes: the worker's thread is free for the trials meanwhile
            while asked < n_trials or running:
                while asked < n_trials and len(running) < _at_once():
                    trial = study.ask()
                    params = suggest(trial)
                    future = client.submit(train_trial, storage, study_name, trial._trial_id, max_epochs, params, train, dtype,
                                           key=f"{study_name}-trial-{trial.number}-{uuid.uuid4().hex[:8]}", pure=False)
                    running[future] = (trial, params)
                    asked += 1
                done = next(iter(wait(list(running), return_when="FIRST_COMPLETED").done))
                trial, params = running.pop(done)
                state, fid, out = done.result()
                if state == "PRUNED":
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                else:
                    study.tell(trial, fid)
                    finished[trial.number] = {**params, "val_FID": fid, **out}
        return _outcome(study, finished)
    finally:
        if storage.startswith("sqlite:///") and not os.environ.get(STORAGE_ENV):
            from pathlib import Path

            Path(storage.removeprefix("sqlite:///")).unlink(missing_ok=True)
