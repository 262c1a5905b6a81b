"""Where things live: the repository's committed data and the (uncommitted) cache.

The cache holds downloaded package archives, converted weights, extracted data and stored
experiment results. It defaults to ``~/.cache/repro`` and is moved with the environment
variable ``REPRO_CACHE``; the results alone (``<cache>/results``) are moved with
``REPRO_RESULTS`` (``make test`` points it at a new empty folder, so the smoke results it checks
are always recomputed, while the fetched weights and data are reused). Nothing in the cache is
ever committed to git.
"""
from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the cache directory.
CACHE_ENV = "REPRO_CACHE"
#: Environment variable naming the folder of stored results (default ``<cache>/results``).
RESULTS_ENV = "REPRO_RESULTS"
#: Environment variable naming the run bank's folder (default ``<repo>/data/bank``; tests point it elsewhere).
BANK_ENV = "REPRO_BANK"

_PACKAGE_DIR = Path(__file__).resolve().parent


def repo_root() -> Path:
    """The repository root (the folder holding ``pyproject.toml``).

    ``repro`` is installed in editable mode (``pip install -e .``), so the committed data
    folder sits next to ``src/``.
    """
    root = _PACKAGE_DIR.parent.parent
    if not (root / "pyproject.toml").is_file():
        raise RuntimeError(
            f"repro is not running from its repository (looked in {root}); "
            "install it with `pip install -e .` from a clone (the README's `make venv`)."
        )
    return root


def data_dir() -> Path:
    """Committed data: manifests and the papers' tables (``<repo>/data``)."""
    return repo_root() / "data"


def cache_dir() -> Path:
    """The cache directory (``$REPRO_CACHE`` or ``~/.cache/repro``), created on demand."""
    path = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "repro").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir() -> Path:
    """The folder of stored experiment results (``$REPRO_RESULTS`` or ``<cache>/results``)."""
    value = os.environ.get(RESULTS_ENV)
    return Path(value).expanduser() if value else cache_dir() / "results"


def bank_dir() -> Path:
    """The run bank: committed results of runs too long for the book's build (``$REPRO_BANK`` or
    ``<repo>/data/bank``; :mod:`repro.bank`)."""
    value = os.environ.get(BANK_ENV)
    return Path(value).expanduser() if value else data_dir() / "bank"
