r"""What a PGN is used for (Nikulin et al., Sec. 4): image-space gradient sources and three tasks.

**Gradient sources.** Every task optimises parameters through an image :math:`\hat y \in [0, 1]`
and only needs :math:`g = \partial L / \partial \hat y` *per image* (the gradient of each image's own
loss, so that batched independent problems stay independent). A :class:`Source` returns it for:

* ``MSE`` — :math:`2(\hat y - y)/(CHW)`;
* ``PL-VGG-16`` / ``PL-AlexNet`` — autograd through the AvgPool perceptual loss on ImageNet-normalised
  inputs (the paper's VGG-19 and VGG-11 are not offline);
* a PGN — its synthetic gradient in normalised space, mapped back by the chain rule
  :math:`\partial L/\partial \hat y = g_{norm} / \sigma_{ImageNet}`;
* any of them plus :math:`\lambda_{MSE}` times the MSE gradient (Image2StyleGAN and talking heads).

**Tasks** (all optimise with Adam, the optimiser only ever sees :math:`g`):

* :func:`deep_image_prior` — one DIP "skip" network per image (:class:`DIPSkip`; N networks are run
  as one grouped network, exactly independent), fixed noise input, Adam lr 0.01; the true VGG
  perceptual loss is tracked for the stability rules (:func:`stability`);
* :func:`invert` — Image2StyleGAN analogue: optimise the latent codes of a fixed generator;
* :func:`fit` — talking-heads analogue: fine-tune a pretrained generator on a few images.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from repro.pgn.pgn import PGN, PerceptualLoss, cosine_similarity, normalize
from repro.runtime import progress as bar
from repro.zoo import create_model
from repro.zoo.vgg import IMAGENET_STD


# ---- gradient sources ------------------------------------------------------------------------------
class Source:
    """``source(y_hat, y)`` -> per-image gradient w.r.t. ``y_hat`` (both (N, 3, H, W) in [0, 1]).

    ``pgn``: the network of a PGN source (its cosine to the true gradient is reported); ``control``:
    an untrained PGN of the same architecture, scored on the images this source produced (the floor
    a trained PGN's cosine must beat, Table 4).
    """

    def __init__(self, name: str, fn, pgn: "PGN | None" = None, control: "Source | None" = None) -> None:
        self.name, self._fn, self.pgn, self.control = name, fn, pgn, control

    def __call__(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self._fn(y_hat.detach(), y)

    def plus_mse(self, weight: float) -> "Source":
        if weight == 0:
            return self
        return Source(f"{self.name} + {weight:g} MSE", lambda a, b: self._fn(a, b) + weight * _mse_grad(a, b), self.pgn, self.control)


def _mse_grad(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return 2 * (y_hat - y) / y_hat[0].numel()


def _std(x: torch.Tensor) -> torch.Tensor:
    return torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)


def mse_source() -> Source:
    return Source("MSE", _mse_grad)


def perceptual_source(name: str, loss: PerceptualLoss) -> Source:
    return Source(name, lambda a, b: loss.gradient(normalize(a), normalize(b)) / _std(a))


def pgn_source(name: str, pgn: PGN) -> Source:
    pgn = pgn.eval()
    return Source(name, lambda a, b: pgn(normalize(a), normalize(b))[0] / _std(a), pgn)


def true_gradient_cosine(source: Source, truth: PerceptualLoss, y_hat: torch.Tensor, y: torch.Tensor) -> list:
    """Per-image cosine similarity between a PGN's synthetic gradient and the true one (Table 4)."""
    with torch.no_grad():
        synthetic = source.pgn(normalize(y_hat), normalize(y))[0]
    return cosine_similarity(synthetic, truth.gradient(normalize(y_hat), normalize(y))).tolist()


def perceptual_values(truth: PerceptualLoss, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return truth.per_image(normalize(y_hat), normalize(y))


# ---- Deep Image Prior ------------------------------------------------------------------------------
def _interleave(a: torch.Tensor, b: torch.Tensor, groups: int) -> torch.Tensor:
    """Concatenate channels per group: (1, G*Ca, H, W), (1, G*Cb, H, W) -> (1, G*(Ca+Cb), H, W)."""
    h, w = a.shape[-2:]
    return torch.cat([a.view(groups, -1, h, w), b.view(groups, -1, h, w)], 1).view(1, -1, h, w)


class DIPSkip(nn.Module):
    """Deep Image Prior's "skip" encoder-decoder, ``n`` independent copies run as one grouped network.

    Per copy: ``depth`` levels of (3x3 stride-2 conv, BN, LeakyReLU, 3x3 conv, BN, LeakyReLU) down;
    a 1x1 skip branch of ``skip`` channels at every level; up: bilinear x2, concatenation with the
    skip, BN, 3x3 conv, BN, LeakyReLU, 1x1 conv, BN, LeakyReLU; a 1x1 conv and a sigmoid at the end.
    Grouped convolutions and per-channel BatchNorm keep the copies exactly independent.
    """

    def __init__(self, n: int, width: int = 32, depth: int = 3, skip: int = 4, in_ch: int = 16) -> None:
        super().__init__()
        self.n, self.in_ch, self.depth = n, in_ch, depth

        def conv(cin, cout, k, stride=1):
            return nn.Conv2d(n * cin, n * cout, k, stride, k // 2, groups=n, padding_mode="reflect")

        def act(c):
            return [nn.BatchNorm2d(n * c), nn.LeakyReLU(0.2)]

        cins = [in_ch] + [width] * (depth - 1)
        self.down = nn.ModuleList(nn.Sequential(conv(cins[i], width, 3, 2), *act(width), conv(width, width, 3), *act(width))
                                  for i in range(depth))
        self.skips = nn.ModuleList(nn.Sequential(conv(cins[i], skip, 1), *act(skip)) for i in range(depth))
        self.up = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(n * (width + skip)), conv(width + skip, width, 3), *act(width), conv(width, width, 1), *act(width))
            for _ in range(depth))
        self.out = conv(width, 3, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        feats, h = [], z
        for down, skip in zip(self.down, self.skips):
            feats.append(skip(h))
            h = down(h)
        for i in reversed(range(self.depth)):
            h = F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False)
            h = self.up[i](_interleave(h, feats[i], self.n))
        return torch.sigmoid(self.out(h)).view(self.n, 3, *z.shape[-2:])


def deep_image_prior(targets: torch.Tensor, source: Source, truth: PerceptualLoss, steps: int, lr: float = 0.01,
                     track_every: int = 1, seed: int = 0, width: int = 32, depth: int = 3, progress: bool = True) -> dict:
    """Fit one DIP network per target image with ``source``'s gradients.

    Returns ``{"iterations": [...], "perceptual": [[per image] per tracked iteration], "images": final
    outputs}``; the true perceptual loss is tracked every ``track_every`` iterations (and at the last).
    """
    n, _, h, w = targets.shape
    if h % 2**depth or w % 2**depth:
        raise ValueError(f"deep_image_prior needs H and W divisible by {2**depth}, got {(h, w)}")
    torch.manual_seed(seed)
    net = DIPSkip(n, width, depth)
    z = (torch.rand(1, n * net.in_ch, h, w) * 0.1).to(targets.device)  # DIP's fixed uniform noise input
    net.to(targets.device)
    opt = torch.optim.Adam(net.parameters(), lr)
    curve = {"iterations": [], "perceptual": []}
    for it in tqdm(range(steps), desc=f"DIP {source.name}", leave=False, **bar(progress)):
        out = net(z)
        grad = source(out, targets)
        opt.zero_grad()
        out.backward(grad)
        opt.step()
        if it % track_every == 0 or it == steps - 1:
            with torch.no_grad():
                current = net(z)
            curve["iterations"].append(it + 1)
            curve["perceptual"].append(perceptual_values(truth, current, targets).tolist())
    with torch.no_grad():
        curve["images"] = net(z)
    return curve


def stability(iterations: list, losses: list, patience: int) -> dict:
    """Table 5's rules on one image's tracked true perceptual loss: ``diverged`` the first time it reaches
    twice its first value; ``stagnated`` when it has not improved for ``patience`` iterations; otherwise
    ``successful``. The run counts as stopped there; best iteration / loss are taken up to the stop."""
    first, best, best_it = losses[0], math.inf, iterations[0]
    for it, value in zip(iterations, losses):
        if not math.isfinite(value) or value >= 2 * first:
            return {"outcome": "diverged", "last_it": it, "last_PL": value, "best_it": best_it, "best_PL": best}
        if value < best:
            best, best_it = value, it
        elif it - best_it >= patience:
            return {"outcome": "stagnated", "last_it": it, "last_PL": value, "best_it": best_it, "best_PL": best}
    return {"outcome": "successful", "last_it": iterations[-1], "last_PL": losses[-1], "best_it": best_it, "best_PL": best}


# ---- Image2StyleGAN analogue: latent optimisation ----------------------------------------------------
class PatchDecoder(nn.Module):
    r"""A small generator (latent vector -> 32x32 image in [0, 1]): linear to 4x4, three x2 upsampling
    blocks, each ending in a per-channel modulation :math:`h \mapsto h\,(1 + s) + t` by its *style*
    :math:`(s, t)` (zero when generating). Inverting it over the latent **and** the per-block styles is
    the analogue of Image2StyleGAN's extended latent space :math:`W^+` (one style per layer)."""

    def __init__(self, latent: int = 64, width: int = 64, blocks: int = 3) -> None:
        super().__init__()
        self.latent, self.width, self.blocks = latent, width, blocks
        self.fc = nn.Linear(latent, width * 16)
        self.body = nn.ModuleList(
            nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(width, width, 3, 1, 1), nn.BatchNorm2d(width),
                          nn.LeakyReLU(0.2))
            for _ in range(blocks))
        self.out = nn.Conv2d(width, 3, 3, 1, 1)

    def zero_styles(self, n: int) -> torch.Tensor:
        """Neutral styles for ``n`` images: (n, blocks, 2, width) zeros."""
        return torch.zeros(n, self.blocks, 2, self.width)

    def forward(self, z: torch.Tensor, styles: "torch.Tensor | None" = None) -> torch.Tensor:
        h = self.fc(z).view(-1, self.width, 4, 4)
        for i, block in enumerate(self.body):
            h = block(h)
            if styles is not None:
                h = h * (1 + styles[:, i, 0, :, None, None]) + styles[:, i, 1, :, None, None]
        return torch.sigmoid(self.out(h))


class PatchEncoder(nn.Module):
    def __init__(self, latent: int = 64, width: int = 64) -> None:
        super().__init__()
        layers, cin = [], 3
        for _ in range(3):
            layers += [nn.Conv2d(cin, width, 4, 2, 1), nn.LeakyReLU(0.2)]
            cin = width
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(width * 16, latent)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x).flatten(1))


def train_generator(images: torch.Tensor, steps: int, batch: int = 32, latent: int = 64, width: int = 64, lr: float = 2e-3,
                    seed: int = 0, progress: bool = True) -> tuple[PatchDecoder, list]:
    """Train the Image2StyleGAN analogue's generator: the decoder of an MSE autoencoder on 32x32 crops."""
    torch.manual_seed(seed)
    enc, dec = PatchEncoder(latent, width).to(images.device), PatchDecoder(latent, width).to(images.device)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in tqdm(range(steps), desc="train generator", leave=False, **bar(progress)):
        x = images[torch.randint(len(images), (batch,), generator=gen)]
        loss = F.mse_loss(dec(enc(x)), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return dec.eval().requires_grad_(False), losses


class Code(nn.Module):
    """The extended latent code of :class:`PatchDecoder` images: ``z`` (n, latent) and ``styles``."""

    def __init__(self, z: torch.Tensor, styles: torch.Tensor) -> None:
        super().__init__()
        self.z, self.styles = nn.Parameter(z.clone()), nn.Parameter(styles.clone())

    def render(self, generator: nn.Module) -> torch.Tensor:
        return generator(self.z, self.styles)

    def state(self) -> dict:
        return {"z": self.z.detach().clone(), "styles": self.styles.detach().clone()}


def invert(generator: PatchDecoder, targets: torch.Tensor, source: Source, steps: int, start: "dict | None" = None,
           lr: float = 0.01, progress: bool = True) -> dict:
    """Optimise one extended latent code (``z`` and per-block styles) per target so that the generator's
    image matches it, with ``source``'s image gradients and Adam; ``start`` is a previous result (the
    MSE warm start), else the zero code. Returns ``{"z", "styles"}``."""
    n = len(targets)
    start = start or {"z": torch.zeros(n, generator.latent), "styles": generator.zero_styles(n)}
    code = Code(start["z"], start["styles"]).to(targets.device)
    opt = torch.optim.Adam(code.parameters(), lr)
    for _ in tqdm(range(steps), desc=f"invert {source.name}", leave=False, **bar(progress)):
        out = code.render(generator)
        grad = source(out, targets)
        opt.zero_grad()
        out.backward(grad)
        opt.step()
    return code.state()


def render(generator: PatchDecoder, code: dict) -> torch.Tensor:
    with torch.no_grad():
        return generator(code["z"], code["styles"])


# ---- talking-heads analogue: few-shot fine-tuning --------------------------------------------------
def edge_sketch(images: torch.Tensor) -> torch.Tensor:
    """The generator's input ("landmarks" analogue): Sobel edge magnitude of the grey image, in [-1, 1]."""
    grey = (images * torch.tensor([0.299, 0.587, 0.114], device=images.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], device=images.device).view(1, 1, 3, 3)
    gx, gy = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), kx), F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), kx.transpose(-1, -2))
    return (torch.sqrt(gx**2 + gy**2 + 1e-12).clamp(0, 1) * 2 - 1)


class SketchGenerator(nn.Module):
    """Edge sketch (1 channel) -> RGB image in [0, 1]: the zoo's pix2pix U-Net (depth 3, no dropout)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.net = create_model("pix2pix_unet", in_ch=1, out_ch=3, ngf=width, depth=3)

    def forward(self, sketch: torch.Tensor) -> torch.Tensor:
        return (self.net(sketch) + 1) / 2


def fit(generator: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, source: Source, steps: int, lr: float,
        batch: "int | None" = None, seed: int = 0, progress: bool = True, desc: str = "fit") -> nn.Module:
    """Train ``generator`` (in place) on ``(inputs, targets)`` with ``source``'s gradients and Adam."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(generator.parameters(), lr)
    generator.train()
    for _ in tqdm(range(steps), desc=desc, leave=False, **bar(progress)):
        idx = torch.randint(len(inputs), (batch,), generator=gen) if batch else torch.arange(len(inputs))
        out = generator(inputs[idx])
        grad = source(out, targets[idx])
        opt.zero_grad()
        out.backward(grad)
        opt.step()
    return generator.eval()
