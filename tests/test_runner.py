"""The runner (repro.runner) on a real Dask LocalCluster of two worker processes, no mocks: the
stored results equal the sequential path's bit for bit, a killed worker's run is recomputed from
its checkpoint, two workers writing one key leave one valid record, and a run that raises is
reported with its config and traceback while the others are kept."""
from __future__ import annotations

import os
import signal
import time

import pytest
import torch

from repro import numerics, runner
from repro.awa import experiments as awa
from repro.mtadam.experiments import mnist, pix2pix
from repro.store import ResultStore, experiment

#: What a result records of the machine's speed (never part of the bits compared).
TIMINGS = ("seconds_per_step",)


def _bits(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in TIMINGS}


@pytest.fixture(scope="module")
def cluster():
    client = runner.local_cluster(2)
    assert len(client.nthreads()) == 2 and set(client.nthreads().values()) == {1}
    yield client
    runner.close_local_cluster()


def test_the_local_cluster_listens_on_loopback_only(cluster):
    info = cluster.scheduler_info()
    assert info["address"].startswith("tcp://127.0.0.1:")
    assert all(addr.startswith("tcp://127.0.0.1:") for addr in info["workers"])


def test_two_workers_store_the_bits_of_the_sequential_path(tmp_path, cluster):
    runs = [runner.Run(awa.run, awa.config("smoke", seed=s)) for s in (0, 1)]
    sequential = runner.gather(runs, store=ResultStore(tmp_path / "a"), client=None, show=False)
    parallel = runner.gather(runs, store=ResultStore(tmp_path / "b"), client=cluster, show=False)
    assert [_bits(r) for r in parallel] == [_bits(r) for r in sequential]
    assert _bits(sequential[0]) != _bits(sequential[1])  # the seeds differ: the comparison can fail
    for root in (tmp_path / "a", tmp_path / "b"):  # each computed run's wall time, once: loading adds nothing
        runner.gather(runs, store=ResultStore(root), client=None, show=False)
        log = runner.run_log(root)
        assert sorted(line["key"] for line in log) == sorted(r.cfg.key() for r in runs)
        assert all(line["run"] == "awa/run" and line["seconds"] > 0 and line["threads"] == 1 for line in log)


def test_a_killed_workers_run_is_recomputed_from_its_checkpoint(tmp_path, cluster):
    cfg = mnist.config("smoke")
    store = ResultStore(tmp_path / "killed")
    future = cluster.submit(runner.compute, mnist.run, cfg, str(store.root), key="killed-run", pure=False)
    checkpoint = store.checkpoint("mtadam/table1_mnist", cfg)
    deadline = time.monotonic() + 300
    while not checkpoint.exists():  # killed after its first saved state, so the rerun resumes from it
        assert time.monotonic() < deadline and not future.done(), "the run finished before it could be killed"
        time.sleep(0.05)
    (worker,) = [w for w, keys in cluster.processing().items() if "killed-run" in keys]
    pid = cluster.run(os.getpid, workers=[worker])[worker]
    os.kill(pid, signal.SIGKILL)
    assert future.result(timeout=600) == str(store.path("mtadam/table1_mnist", cfg))
    assert not checkpoint.exists()
    sequential = runner.gather([runner.Run(mnist.run, cfg)], store=ResultStore(tmp_path / "seq"), client=None, show=False)
    assert store.load("mtadam/table1_mnist", cfg) == sequential[0]


def test_two_workers_writing_one_key_leave_one_valid_result(tmp_path, cluster):
    cfg = awa.config("smoke", seed=3)
    store = ResultStore(tmp_path / "same")
    futures = [cluster.submit(runner.compute, awa.run, cfg, str(store.root), key=f"same-{i}", pure=False) for i in range(2)]
    assert len({f.result(timeout=600) for f in futures}) == 1
    assert store.verify() == [] and len(store.files(".json")) == 1
    assert not list(store.root.rglob("*.part")) and not store.files(".ckpt")
    assert store.load("awa/run", cfg)["scores"]


def test_a_run_that_raises_is_reported_and_the_others_are_kept(tmp_path, cluster):
    empty = tmp_path / "no-datasets"
    empty.mkdir()
    good = runner.Run(awa.run, awa.config("smoke", seed=0))
    bad = runner.Run(pix2pix.run, pix2pix.config("labels2photo", "paper", data_root=str(empty)))
    store = ResultStore(tmp_path / "fail")
    for client in (None, cluster):
        with pytest.raises(runner.RunsFailed) as err:
            runner.gather([bad, good], store=store, client=client, show=False)
        assert len(err.value.failures) == 1 and err.value.failures[0][0] == bad
        message = str(err.value)
        assert "mtadam/table2_pix2pix" in message and repr(bad.cfg) in message and "Traceback" in message
        assert store.has(good.name, good.cfg) and not store.has(bad.name, bad.cfg)


def test_hyperband_trials_run_as_tasks_with_the_in_process_bits(tmp_path, cluster):
    """A table's run on a worker trains its Hyperband trials as tasks of their own (on a shared Optuna
    storage), one at a time: the same trials, pruning decisions and best trial as the in-process search."""
    cfg = pix2pix.config("labels2photo", "smoke", hyperband_trials=HYPERBAND_TRIALS, epochs=3, fid_every=1, n_train=8)
    run = runner.Run(pix2pix.run, cfg)
    (sequential,) = runner.gather([run], store=ResultStore(tmp_path / "a"), client=None, show=False)
    (parallel,) = runner.gather([run], store=ResultStore(tmp_path / "b"), client=cluster, show=False)
    trials = sequential["hyperband"]["trials"]
    assert len(trials) == HYPERBAND_TRIALS and {"COMPLETE", "PRUNED"} <= {t["state"] for t in trials}
    assert parallel == sequential
    keys = cluster.run_on_scheduler(lambda dask_scheduler: [str(t[0]) for t in dask_scheduler.transition_log])
    assert sum("-trial-" in k for k in set(keys)) >= HYPERBAND_TRIALS  # the trials were tasks of their own


HYPERBAND_TRIALS = 6


def test_a_stage_starts_after_the_previous_one(tmp_path):
    cfg = mnist.config("smoke", train_limit=200)
    first, second = runner.Run(mnist.run, cfg), runner.Run(mnist.run, mnist.config("smoke", train_limit=100))
    store = ResultStore(tmp_path)
    results = runner.gather([first], [second, first], store=store, client=None, show=False)
    order = [p.stem for p in sorted(store.files(".json"), key=lambda p: p.stat().st_mtime_ns)]
    assert order == [cfg.key(), second.cfg.key()] and len(results) == 3 and results[0] == results[2]


@experiment("test/threads")
def _threads(cfg) -> dict:
    return {"threads": torch.get_num_threads()}


def test_every_stored_run_computes_with_the_fixed_threads(tmp_path, monkeypatch):
    cfg = awa.config("smoke")
    with numerics.threads(2):
        assert _threads(cfg, store=ResultStore(tmp_path / "one"))["threads"] == numerics.THREADS_PER_RUN == 1
        assert torch.get_num_threads() == 2  # restored after the run
    monkeypatch.setenv(numerics.THREADS_ENV, "2")
    assert _threads(cfg, store=ResultStore(tmp_path / "two"))["threads"] == 2
    monkeypatch.setenv(numerics.THREADS_ENV, "many")
    with pytest.raises(ValueError, match=numerics.THREADS_ENV):
        numerics.threads_per_run()


def test_where_runs_compute_is_chosen_by_the_environment(monkeypatch):
    monkeypatch.delenv(runner.SCHEDULER_ENV, raising=False)
    monkeypatch.delenv(runner.WORKERS_ENV, raising=False)
    assert runner.executor("smoke") is None  # smoke runs take less than starting a worker
    monkeypatch.setenv(runner.WORKERS_ENV, "0")
    assert runner.executor("cpu") is None
    monkeypatch.setenv(runner.WORKERS_ENV, "two")
    with pytest.raises(ValueError, match=runner.WORKERS_ENV):
        runner.executor("cpu")
    with pytest.raises(ValueError, match="tcp://"):
        runner.executor("cpu", scheduler="localhost:8786")
    monkeypatch.setenv(runner.RESOURCES_ENV, "GPU=1")
    assert runner.resources() == {"GPU": 1.0}
    monkeypatch.setenv(runner.RESOURCES_ENV, "GPU")
    with pytest.raises(ValueError, match="GPU=1"):
        runner.resources()
    with pytest.raises(TypeError, match="stored experiment"):
        runner.Run(print, awa.config("smoke"))
