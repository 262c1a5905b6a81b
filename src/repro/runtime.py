"""Where computations run: the GPU when there is one, else the CPU. Nothing requires a GPU."""
from __future__ import annotations

import torch


def device() -> torch.device:
    """``cuda`` when available, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
