"""The run bank (repro.bank): an entry built by the project's command is served by the store when the
cache has no result, carries its provenance, is ignored by --recompute, and `verify` reports a
damaged or stale entry (which the store never uses)."""
from __future__ import annotations

import json

import pytest

from repro import bank, runner
from repro.awa import experiments as awa
from repro.store import RECOMPUTE_ENV, MissingResultError, ResultStore, stored_only

NAME = "test-awa-smoke"


@pytest.fixture
def banked(tmp_path, monkeypatch):
    """A bank at tmp_path/bank holding one built entry (a smoke AWA run; the 5-minute floor lifted)."""
    run = runner.Run(awa.run, awa.config("smoke", seed=4))
    monkeypatch.setitem(bank._ENTRIES, NAME, lambda: run)
    root = tmp_path / "bank"
    folder = bank.build(NAME, root, min_seconds=0)
    return run, root, folder


def test_an_entry_carries_its_record_and_provenance(banked):
    run, root, folder = banked
    assert sorted(p.name for p in folder.iterdir()) == ["entry.json", "record.json"]
    info = json.loads((folder / "entry.json").read_text())
    assert info["config"] == run.cfg.to_dict() and info["key"] == run.cfg.key() and info["experiment"] == run.name
    assert info["command"] == f"repro bank build {NAME}" and info["wall_s"] > 0 and len(info["commit"]) >= 7
    assert {"cpu", "cores", "gpu", "torch", "threads_per_run"} <= set(info["machine"])
    label = bank.provenance(folder)
    assert label.startswith("bank: ") and "CPU cores" in label and f"repro bank build {NAME}" in label
    assert bank.verify(root) == []


def test_the_store_serves_a_banked_run_and_recompute_ignores_it(banked, tmp_path, monkeypatch, capsys):
    run, root, folder = banked
    store = ResultStore(tmp_path / "cache", bank=root)
    with stored_only():  # nothing is computed: the result comes from the bank
        (result,) = runner.gather([run], store=store, client=None)
    assert result == ResultStore(tmp_path / "x", bank=root).load(run.name, run.cfg)
    assert store.banked(run.name, run.cfg) == folder and "bank: " in capsys.readouterr().out
    assert not store.files(".json")  # the cache is untouched
    monkeypatch.setenv(RECOMPUTE_ENV, "1")
    assert store.banked(run.name, run.cfg) is None and not store.has(run.name, run.cfg)
    with stored_only(), pytest.raises(MissingResultError):
        awa.run(run.cfg, store=store)


def test_verify_reports_a_damaged_entry_and_the_store_refuses_it(banked, tmp_path):
    run, root, folder = banked
    record = folder / "record.json"
    record.write_bytes(record.read_bytes().replace(b'"seed": 4', b'"seed": 5'))
    ((name, problem),) = bank.verify(root)
    assert name == NAME and "sha256" in problem
    with pytest.raises(Exception, match="sha256"):
        ResultStore(tmp_path / "cache", bank=root).load(run.name, run.cfg)


def test_a_stale_entry_is_reported_and_never_used(banked, tmp_path, monkeypatch):
    run, root, folder = banked
    monkeypatch.setattr(type(run.cfg), "VERSION", type(run.cfg).VERSION + 1)  # the experiment's code changed
    ((name, problem),) = bank.verify(root)
    assert name == NAME and problem.startswith("stale")
    assert not ResultStore(tmp_path / "cache", bank=root).has(run.name, run.cfg)


def test_a_short_cpu_run_is_not_banked_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setitem(bank._ENTRIES, NAME, lambda: runner.Run(awa.run, awa.config("smoke", seed=4)))
    with pytest.raises(ValueError, match="computed by the book"):
        bank.build(NAME, tmp_path / "bank")
    assert not (tmp_path / "bank" / NAME).exists()
    with pytest.raises(ValueError, match="repro bank list"):
        bank.build("no-such-entry", tmp_path / "bank")


def test_the_committed_bank_is_sound_current_and_small():
    from repro.cli import experiment_modules

    experiment_modules()
    assert bank.verify() == []


def test_every_declared_entry_is_banked_and_read_by_its_chapter():
    """A declared entry missing from data/bank/ would make `make book` compute a run of more than 5
    minutes; and each entry must be a run some chapter actually declares (else it banks nothing)."""
    from repro.awa import tables
    from repro.cli import experiment_modules
    from repro.mtadam.experiments import cyclegan, gans, mnist, pix2pix, srgan, summary

    experiment_modules()
    rows = bank.listing()
    assert rows and all(row["banked"] for row in rows), [row["name"] for row in rows if not row["banked"]]
    declared = {r.key for chapter in ("awa_01", "awa_02", "awa_03", "awa_04")
                for stage in tables.chapter_stages(chapter, "cpu") for r in stage}
    declared |= {r.key for module, tasks in ((pix2pix, summary.PIX2PIX_TASKS), (cyclegan, summary.CYCLEGAN_TASKS))
                 for r in gans.chapter_runs(module, {t: module.config(t, "cpu") for t in tasks})}
    declared |= {r.key for r in gans.chapter_runs(srgan, {"sr": srgan.config("cpu")})}
    declared.add(runner.Run(mnist.run, mnist.config("cpu")).key)
    assert {make().key for make in bank.entries().values()} <= declared
