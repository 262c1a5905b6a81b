"""MTAdam against Adam, against a plain re-computation of Algorithm 1, and on degenerate terms."""
import copy

import numpy as np
import pytest
import torch
import torch.nn as nn

from repro.mtadam import ABLATIONS, MTAdam, layer_param_groups


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))


def _batch(seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(16, 5, generator=g), torch.randn(16, 3, generator=g)


def test_one_term_is_exactly_adam():
    a, b = _model(), _model()
    adam = torch.optim.Adam(a.parameters(), lr=1e-2, betas=(0.9, 0.999), eps=1e-8)
    mt = MTAdam(b, lr=1e-2, betas=(0.9, 0.999, 0.9), eps=1e-8)
    for step in range(20):
        x, y = _batch(step)
        adam.zero_grad()
        ((a(x) - y) ** 2).mean().backward()
        adam.step()
        mt.step([((b(x) - y) ** 2).mean()])
        for pa, pb in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(pb, pa, rtol=1e-6, atol=1e-7)


# ---- a plain re-computation of Algorithm 1 (float64, explicit loops) -------------------------
def reference(params, grads, layers, lr, betas, eps, wd=0.0, wd_per_term=False, init="zero",
              normalize=True, anchor_scale=True, denominator="max", ranks=None):
    """params: list of arrays; grads[t][n][i]: term n's raw gradient of param i at step t."""
    b1, b2, b3 = betas
    params = [p.astype(np.float64).copy() for p in params]
    n_terms = len(grads[0])
    ranks = np.ones(n_terms) if ranks is None else np.asarray(ranks, float)
    m = [[np.zeros_like(p) for p in params] for _ in range(n_terms)]
    v = [[np.zeros_like(p) for p in params] for _ in range(n_terms)]
    a = [[None] * n_terms for _ in layers]
    for t, step_grads in enumerate(grads, start=1):
        g = [[np.array(step_grads[n][i], dtype=np.float64) for i in range(len(params))] for n in range(n_terms)]
        for i, p in enumerate(params):
            for n in range(n_terms):
                if wd and (wd_per_term or n == 0):
                    g[n][i] = g[n][i] + wd * p
        for n in range(n_terms):
            for i in range(len(params)):
                if not normalize:
                    g[n][i] = g[n][i] * ranks[n]
        if normalize:
            for l, ids in enumerate(layers):
                for n in range(n_terms):
                    norm = np.sqrt(sum(np.sum(g[n][i] ** 2) for i in ids))
                    if a[l][n] is None:
                        a[l][n] = norm if init == "first" else (1 - b3) * norm
                    else:
                        a[l][n] = b3 * a[l][n] + (1 - b3) * norm
                alive = [n for n in range(n_terms) if a[l][n] > 1e-12]
                anchor = (a[l][alive[0]] if alive else 0.0) if anchor_scale else 1.0
                for n in range(n_terms):
                    scale = anchor / a[l][n] * ranks[n] if a[l][n] > 1e-12 else 0.0
                    for i in ids:
                        g[n][i] = g[n][i] * scale
        for i, p in enumerate(params):
            for n in range(n_terms):
                m[n][i] = b1 * m[n][i] + (1 - b1) * g[n][i]
                v[n][i] = b2 * v[n][i] + (1 - b2) * g[n][i] ** 2
            mhat = [m[n][i] / (1 - b1**t) for n in range(n_terms)]
            vhat = [v[n][i] / (1 - b2**t) for n in range(n_terms)]
            if denominator == "max":
                step = sum(mhat) / (np.sqrt(np.maximum.reduce(vhat)) + eps)
            elif denominator == "mean":
                step = sum(mhat) / (np.mean([np.sqrt(x) for x in vhat], axis=0) + eps)
            else:
                step = sum(mh / (np.sqrt(vh) + eps) for mh, vh in zip(mhat, vhat))
            params[i] = p - lr * step
    return params


CASES = [
    dict(scope="layer"),
    dict(scope="tensor"),
    dict(scope="model"),
    dict(magnitude_init="first"),
    dict(normalize=False),
    dict(anchor_scale=False),
    dict(denominator="own"),
    dict(denominator="mean"),
    dict(weight_decay=0.1),
    dict(weight_decay=0.1, weight_decay_per_term=True),
    dict(ranks=(1.0, 0.5, 2.0)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_a_plain_recomputation_of_algorithm_1(case, seed):
    case = dict(case)
    ranks = case.pop("ranks", None)
    rng = np.random.default_rng(seed)
    shapes = [(4, 3), (4,), (2, 4), (2,)]
    init = [rng.normal(size=s) for s in shapes]
    params = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in init]
    groups = [{"params": params[:2]}, {"params": params[2:]}]  # two layers: weight + bias each
    # Linear terms with given gradients; term scales differ by orders of magnitude.
    n_terms, steps = 3, 6
    coeffs = [[[rng.normal(size=s) * 10.0**n for s in shapes] for n in range(n_terms)] for _ in range(steps)]
    opt = MTAdam(groups, lr=0.01, betas=(0.9, 0.99, 0.8), eps=1e-8, **case)
    for t in range(steps):
        losses = [sum((torch.from_numpy(c) * p).sum() for c, p in zip(coeffs[t][n], params)) for n in range(n_terms)]
        opt.step(losses, ranks=ranks)
    scope = case.get("scope", "layer")
    layers = {"layer": [[0, 1], [2, 3]], "tensor": [[0], [1], [2], [3]], "model": [[0, 1, 2, 3]]}[scope]
    expected = reference(init, coeffs, layers, 0.01, (0.9, 0.99, 0.8), 1e-8,
                         wd=case.get("weight_decay", 0.0), wd_per_term=case.get("weight_decay_per_term", False),
                         init=case.get("magnitude_init", "zero"), normalize=case.get("normalize", True),
                         anchor_scale=case.get("anchor_scale", True), denominator=case.get("denominator", "max"),
                         ranks=ranks)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.detach().numpy(), e, rtol=1e-10, atol=1e-12)


def _losses(model, seed):
    x, y = _batch(seed)
    out = model(x)
    return [((out - y) ** 2).mean(), out.abs().mean() * 100.0, (out[:, 0] - 1).pow(2).mean() * 1e-3]


def test_state_dict_round_trip_keeps_optimizers_in_lockstep():
    a = _model()
    opt_a = MTAdam(a, lr=1e-2)
    for step in range(5):
        opt_a.step(_losses(a, step))
    b = copy.deepcopy(a)
    opt_b = MTAdam(b, lr=1e-2)
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))
    state = opt_a.state_dict()["state"]
    assert any("magnitude" in s for s in state.values()), "balancing state must be in the state dict"
    for step in range(5, 12):
        opt_a.step(_losses(a, step))
        opt_b.step(_losses(b, step))
        for pa, pb in zip(a.parameters(), b.parameters()):
            assert torch.equal(pa, pb)


def test_state_is_the_moments_per_parameter_and_one_magnitude_vector_per_layer():
    """Exactly: step, (N, ...) first and second moments per tensor, and an (N,) magnitude vector on
    the first tensor of each layer (one balancing unit per layer); any extra state key fails."""
    model = _model()
    opt = MTAdam(model)
    opt.step(_losses(model, 0))
    n = 3
    firsts = {id(group["params"][0]) for group in opt.param_groups}
    for p in model.parameters():
        st = opt.state[p]
        expected = {"step", "exp_avg", "exp_avg_sq"} | ({"magnitude"} if id(p) in firsts else set())
        assert set(st) == expected
        assert st["exp_avg"].shape == st["exp_avg_sq"].shape == (n, *p.shape)
        if "magnitude" in st:
            assert st["magnitude"].shape == (n,)
    assert sum("magnitude" in opt.state[p] for p in model.parameters()) == len(opt.param_groups)


def test_options_round_trip_through_the_state_dict():
    """The options are param-group defaults: loading a state dict restores them, like lr and betas."""
    a = _model()
    opt_a = MTAdam(a, lr=1e-2, betas=(0.9, 0.999, 0.5), denominator="mean", anchor_scale=False, magnitude_init="first")
    for step in range(3):
        opt_a.step(_losses(a, step))
    b = copy.deepcopy(a)
    opt_b = MTAdam(b, lr=1e-2)  # built with the default options
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))
    assert opt_b.options == opt_a.options and opt_b.param_groups[0]["betas"][2] == 0.5
    for step in range(3, 6):
        opt_a.step(_losses(a, step))
        opt_b.step(_losses(b, step))
    assert all(torch.equal(pa, pb) for pa, pb in zip(a.parameters(), b.parameters()))


def test_beta3_is_read_per_group():
    """Two layers with different beta3: each layer's magnitude EMA (from a = 0) uses its own."""
    model = _model()
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    losses = _losses(model, 0)
    norms = [torch.stack([torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(layer.parameters()), retain_graph=True)]).norm()
                          for loss in losses]) for layer in layers]
    opt = MTAdam([{"params": layers[0].parameters(), "betas": (0.9, 0.999, 0.0)},
                  {"params": layers[1].parameters()}], lr=1e-3)
    opt.step(_losses(model, 0))
    for layer, norm, beta3 in zip(layers, norms, (0.0, 0.9)):
        assert torch.allclose(opt.state[next(layer.parameters())]["magnitude"], (1 - beta3) * norm, rtol=1e-5)
    with pytest.raises(ValueError, match="disagree on 'scope'"):
        MTAdam([{"params": layers[0].parameters(), "scope": "tensor"}, {"params": layers[1].parameters()}])


def _all_finite_and_moved(before, model):
    after = list(model.parameters())
    assert all(torch.isfinite(p).all() for p in after)
    return [not torch.equal(b, a) for b, a in zip(before, after)]


def test_terms_that_miss_parameters_zero_and_vanishing_terms():
    torch.manual_seed(0)
    head_a, head_b, trunk = nn.Linear(4, 1), nn.Linear(4, 1), nn.Linear(3, 4)
    model = nn.ModuleList([trunk, head_a, head_b])
    opt = MTAdam(model, lr=1e-2)
    x = torch.randn(8, 3)
    before = [p.detach().clone() for p in model.parameters()]
    for step in range(3):
        h = torch.tanh(trunk(x))
        losses = [
            head_a(h).pow(2).mean(),          # anchor: never reaches head_b
            head_b(h).pow(2).mean() * 50.0,   # never reaches head_a
            (head_a(h) * 0.0).sum(),          # zero gradient everywhere
            torch.tensor(3.0),                # constant: reaches nothing
        ]
        opt.step(losses)
    moved = _all_finite_and_moved(before, model)
    assert all(moved), "every parameter must be updated by the terms that reach it"


def test_anchor_that_vanishes_does_not_silence_the_others():
    model = _model()
    opt = MTAdam(model, lr=1e-2)
    before = [p.detach().clone() for p in model.parameters()]
    x, y = _batch(0)
    for _ in range(3):
        out = model(x)
        opt.step([torch.zeros((), requires_grad=True) * out.sum(), ((out - y) ** 2).mean()])
    assert all(_all_finite_and_moved(before, model))


@pytest.mark.parametrize("variant", list(ABLATIONS))
def test_every_table5_variant_trains(variant):
    model = _model()
    opt = MTAdam(model, lr=1e-2, **ABLATIONS[variant])
    first = sum(l.item() for l in _losses(model, 0)[:1])
    for step in range(30):
        opt.step(_losses(model, 0))
    assert sum(l.item() for l in _losses(model, 0)[:1]) < first


def test_bad_arguments_fail_clearly():
    params = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="learning rate"):
        MTAdam(params, lr=0)
    with pytest.raises(ValueError, match="three values"):
        MTAdam(params, betas=(0.9, 0.999))
    with pytest.raises(ValueError, match="valid values are layer, tensor, model"):
        MTAdam(params, scope="block")
    opt = MTAdam(params)
    loss = (params[0] ** 2).sum()
    opt.step([loss, loss * 2])
    with pytest.raises(ValueError, match="2 terms before, now 1"):
        opt.step([(params[0] ** 2).sum()])
    with pytest.raises(ValueError, match="ranks"):
        opt.step([(params[0] ** 2).sum()] * 2, ranks=[1.0])
    with pytest.raises(ValueError, match="scalar"):
        MTAdam(params).step([params[0] * 2])


def test_layer_groups_follow_modules():
    groups = layer_param_groups(_model())
    assert [g["layer"] for g in groups] == ["0", "2"] and all(len(g["params"]) == 2 for g in groups)


def test_baselines_share_the_step_interface():
    from repro.mtadam.baselines import BASELINES, SummedTerms, make_optimizer

    for name in BASELINES:
        model = _model()
        opt = make_optimizer(name, model, lr=1e-2)
        before = [p.detach().clone() for p in model.parameters()]
        opt.step(_losses(model, 0))
        assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters())), name
    # SummedTerms == a plain optimiser on the summed loss
    a, b = _model(), _model()
    plain, wrapped = torch.optim.Adam(a.parameters(), lr=1e-2), SummedTerms(torch.optim.Adam(b.parameters(), lr=1e-2))
    plain.zero_grad()
    sum(_losses(a, 1)).backward()
    plain.step()
    wrapped.step(_losses(b, 1))
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)
    with pytest.raises(ValueError, match="valid: SGD-Momentum"):
        make_optimizer("Adagrad", _model(), lr=1e-2)
