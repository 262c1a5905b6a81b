"""PGN: the proxy's gradient in closed form, the true perceptual gradient against autograd and
finite differences, the backbones' sizes (paper Table 1) and the meta-loss."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from repro.pgn import PGNConfig, PerceptualLoss, cosine_similarity, meta_loss
from repro.zoo import create_model


@pytest.mark.parametrize("mode", ["proxy", "constrained", "hybrid"])
def test_proxy_gradient_equals_the_closed_form(mode):
    torch.manual_seed(0)
    pgn = create_model("pgn_resnet4", width=4, mode=mode).double().eval()
    y_hat, y = torch.randn(2, 3, 8, 8, dtype=torch.float64), torch.randn(2, 3, 8, 8, dtype=torch.float64)
    grad, proxy = pgn(y_hat, y)
    x = y_hat.clone().requires_grad_(True)
    mse = ((x - proxy.detach()) ** 2).flatten(1).mean(1).sum()  # per-image MSE
    expected = pgn.cfg.effective_alpha * torch.autograd.grad(mse, x)[0]
    assert torch.allclose(grad, expected, rtol=1e-10, atol=1e-12)
    assert torch.allclose(grad, 40 * 2 * (y_hat - proxy) / (3 * 8 * 8))


def test_constrained_proxy_stays_in_the_widened_colour_range():
    pgn = create_model("pgn_resnet4", width=4).eval()
    _, proxy = pgn(torch.randn(2, 3, 8, 8) * 100, torch.randn(2, 3, 8, 8) * 100)
    from repro.pgn.pgn import denormalize, normalize

    low, high = 1.1 * normalize(torch.zeros(1, 3, 1, 1)), 1.1 * normalize(torch.ones(1, 3, 1, 1))
    assert (proxy >= low - 1e-5).all() and (proxy <= high + 1e-5).all()
    x = torch.rand(1, 3, 4, 4)
    assert torch.allclose(denormalize(normalize(x)), x, atol=1e-6)


def test_true_perceptual_gradient_matches_finite_differences(tiny_features):
    loss = PerceptualLoss(tiny_features().double())
    torch.manual_seed(1)
    y_hat, y = torch.randn(1, 3, 8, 8, dtype=torch.float64), torch.randn(1, 3, 8, 8, dtype=torch.float64)
    g = loss.gradient(y_hat, y)
    direction = torch.randn_like(y_hat)
    eps = 1e-6
    fd = (loss(y_hat + eps * direction, y) - loss(y_hat - eps * direction, y)) / (2 * eps)
    assert float((g * direction).sum()) == pytest.approx(float(fd), rel=1e-6)


def test_backbones_match_the_papers_sizes():
    sizes = {n: sum(p.numel() for p in create_model(n).backbone.parameters()) / 1e6 for n in
             ("pgn_resnet4", "pgn_resnet6", "pgn_resnet8", "pgn_unet")}
    assert sizes["pgn_resnet4"] == pytest.approx(1.34, abs=0.02)
    assert sizes["pgn_resnet6"] == pytest.approx(1.93, abs=0.02)
    assert sizes["pgn_resnet8"] == pytest.approx(2.52, abs=0.02)
    assert sizes["pgn_unet"] == pytest.approx(1.77, rel=0.1)
    with pytest.raises(ValueError, match="6, H, W"):
        create_model("pgn_resnet4").backbone(torch.zeros(1, 3, 8, 8))


@pytest.mark.parametrize("mode", ["direct", "constrained"])
def test_meta_loss_trains_the_backbone_towards_the_true_gradient(mode, tiny_features):
    torch.manual_seed(0)
    loss_fn = PerceptualLoss(tiny_features())
    pgn = create_model("pgn_resnet4", width=4, mode=mode)
    opt = torch.optim.Adam(pgn.parameters(), lr=1e-2)
    y = torch.randn(4, 3, 8, 8)
    y_hat = y + 0.5 * torch.randn_like(y)
    first = None
    for _ in range(30):
        loss, parts = meta_loss(pgn, loss_fn, y_hat, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else parts["grad"]
    assert parts["grad"] < first
    grad, _ = pgn.eval()(y_hat, y)
    assert cosine_similarity(grad, loss_fn.gradient(y_hat, y)).shape == (4,)
    with pytest.raises(ValueError, match="valid: direct"):
        PGNConfig(mode="magic")


def test_folding_batchnorm_keeps_the_outputs(randomise_batchnorm):
    from repro.pgn.cost import fold_batchnorm

    torch.manual_seed(0)
    for name in ("pgn_resnet4", "pgn_unet"):
        net = randomise_batchnorm(create_model(name).backbone)
        folded = fold_batchnorm(net)
        assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
        x = torch.randn(1, 6, 32, 32)
        with torch.no_grad():
            assert torch.allclose(folded(x), net(x), atol=1e-4)


def test_mac_count_of_a_convolution():
    from repro.pgn.cost import count_macs

    conv = nn.Conv2d(6, 8, 3, padding=1)
    assert count_macs(conv, torch.zeros(1, 6, 10, 10)) == 10 * 10 * 8 * 6 * 9
    assert count_macs(create_model("pgn_resnet4").backbone, torch.zeros(1, 6, 64, 64)) > 0
