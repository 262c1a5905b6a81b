r"""What an MTAdam step costs, measured against its floor in the same run.

MTAdam needs one vector-Jacobian product per loss term, so N backward passes are its floor
(batched VJPs were measured no faster than N sequential ones for a small CNN on 2 cores). For
N terms on the MNIST CNN this reports, per step (fastest of interleaved repeats, forward
included):

* ``adam_ms`` — one Adam step on the summed loss (one backward),
* ``backward_ms`` — N bare backward passes (``autograd.grad`` per term, no optimizer),
* ``mtadam_ms`` — one MTAdam step,

* ``optimizer_ms`` — MTAdam's own work alone (:meth:`MTAdam.apply_gradients` on gradients
  computed beforehand),

with ``ratio = mtadam_ms / backward_ms`` (target <= 1.1) and ``optimizer_share =
optimizer_ms / backward_ms`` (target < 10 %). On a shared 2-core machine the whole-step ratio
carries a few per cent of timing noise; the optimizer's share is measured directly.
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from repro.mtadam.optimizer import MTAdam
from repro.zoo import create_model


def _interleaved_times(fns: dict[str, Callable[[], None]], repeats: int, warmup: int) -> dict[str, float]:
    """Fastest wall time (ms) of each function over ``repeats``, run in turn so that drifts hit
    all alike (the minimum is the least noisy estimate of the work on a shared machine)."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: min(values) for name, values in times.items()}


def step_costs(n_terms: Sequence[int] = (2, 6, 10), batch_size: int = 64, repeats: int = 20, warmup: int = 3, seed: int = 0) -> list[dict]:
    """Median step times (ms) of Adam, N backward passes and MTAdam, per number of terms."""
    torch.manual_seed(seed)
    model = create_model("mnist_cnn").eval()  # eval: no dropout, identical work every call
    x = torch.rand(batch_size, 1, 28, 28)
    y = torch.randint(0, 10, (batch_size,))
    params = list(model.parameters())
    rows = []
    for n in n_terms:
        def terms() -> list[torch.Tensor]:
            per_sample = F.nll_loss(model(x), y, reduction="none")
            return [per_sample[y % n == k].sum() / batch_size for k in range(n)]

        adam = torch.optim.Adam(params, lr=1e-3)
        mtadam = MTAdam(model, lr=1e-3)

        def adam_step() -> None:
            adam.zero_grad(set_to_none=True)
            sum(terms()).backward()
            adam.step()

        def backward_only() -> None:
            losses = terms()
            for k, loss in enumerate(losses):
                torch.autograd.grad(loss, params, retain_graph=k < n - 1, allow_unused=True)

        def mtadam_step() -> None:
            mtadam.step(terms())

        own_times = []

        def optimizer_only() -> None:
            """The optimizer's own work: MTAdam's update from gradients computed beforehand."""
            losses = terms()
            grads = [list(torch.autograd.grad(l, params, retain_graph=k < n - 1)) for k, l in enumerate(losses)]
            start = time.perf_counter()
            mtadam.apply_gradients(iter(grads), n_terms=n)
            own_times.append((time.perf_counter() - start) * 1e3)

        row = {"n_terms": n, **_interleaved_times(
            {"adam_ms": adam_step, "backward_ms": backward_only, "mtadam_ms": mtadam_step, "_own": optimizer_only}, repeats, warmup)}
        del row["_own"]
        row["optimizer_ms"] = min(own_times)
        row["ratio"] = row["mtadam_ms"] / row["backward_ms"]
        row["optimizer_share"] = row["optimizer_ms"] / row["backward_ms"]
        rows.append(row)
    return rows
