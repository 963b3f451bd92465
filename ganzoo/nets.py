"""Network building blocks shared by several variants: DCGAN conv stacks, MLPs, weight init.

The generator classes here (``DCGANGenerator``, ``MLPGenerator`` and their blocks) use nothing but
torch and take flat, JSON-serialisable constructor arguments: an export stores those arguments in
config.json and its model card carries the classes' source, so a user can run a generator with
torch and safetensors alone.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def init_dcgan_(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Radford et al. 2015: all weights from N(0, 0.02); batchnorm scales from N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module


def _stages(size: int) -> int:
    """Number of x2 stages between 4x4 and ``size``; the DCGAN stacks need a power of two >= 8."""
    n = int(math.log2(size)) if size > 0 else 0
    if size < 8 or 2**n != size:
        raise ValueError(f"DCGAN stacks need a square power-of-two image side >= 8, got {size}")
    return n - 2


class UpBlock(nn.Module):
    """A fractionally-strided convolution, batchnorm (or none) and ReLU: one stage of DCGAN's G."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, padding: int, batchnorm: bool = True):
        super().__init__()
        self.conv = nn.ConvTranspose2d(in_channels, out_channels, 4, stride, padding, bias=not batchnorm)
        self.norm = nn.BatchNorm2d(out_channels) if batchnorm else nn.Identity()

    def forward(self, x):
        return torch.relu(self.norm(self.conv(x)))


class DCGANGenerator(nn.Module):
    """z (B, z_dim) or (B, z_dim, 1, 1) -> image (B, channels, size, size) in [-1, 1].

    A projection to 4x4 by a transposed convolution, then fractionally-strided 4x4 convolutions that
    double the side and halve the channels, batchnorm and ReLU after each but the last, tanh out
    (Radford et al. 2015). With size 64 and width 128 this is the paper's generator (1024 channels
    at 4x4). ``components`` > 0 makes the latent a mixture of that many components
    (LatentComponents). Plain torch, so an export's model card can show it to a user without ganzoo.
    """

    def __init__(self, z_dim: int, channels: int, size: int, width: int, batchnorm: bool = True, components: int = 0):
        super().__init__()
        stages = int(math.log2(size)) - 2 if size > 0 else 0
        if size < 8 or 2 ** (stages + 2) != size:
            raise ValueError(f"DCGAN stacks need a square power-of-two image side >= 8, got {size}")
        self.z_dim = z_dim
        self.latent = LatentComponents(components)
        ch = width * 2 ** (stages - 1)
        blocks = [UpBlock(z_dim + components, ch, 1, 0, batchnorm)]
        for _ in range(stages - 1):
            blocks.append(UpBlock(ch, ch // 2, 2, 1, batchnorm))
            ch //= 2
        self.blocks = nn.Sequential(*blocks)
        self.to_image = nn.ConvTranspose2d(ch, channels, 4, 2, 1)

    def forward(self, z):
        z = self.latent(z.flatten(1))[:, :, None, None]
        return torch.tanh(self.to_image(self.blocks(z)))


class Dense(nn.Module):
    """A linear layer, batchnorm (or none) and ReLU: one hidden layer of an MLP generator."""

    def __init__(self, in_features: int, out_features: int, batchnorm: bool = False):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.norm = nn.BatchNorm1d(out_features) if batchnorm else nn.Identity()

    def forward(self, x):
        return torch.relu(self.norm(self.linear(x)))


class LatentComponents(nn.Module):
    """z (B, z_dim) -> (B, components + z_dim): z's first coordinate picks one of ``components``
    equally likely components (its standard-normal quantile bin), prepended as a one-hot vector.
    The next layer then gives each component its own learned offset: a mixture-of-Gaussians
    latent with learned means (DeLiGAN, Gurumurthy et al. 2017) whose input stays N(0, I).

    Why: a continuous G of a connected latent must put mass on the paths between separated modes
    (Khayatkhoei et al. 2018; Tanielian et al. 2020), the bridges between a mixture's modes or
    the half-formed digits between classes; across a component's edge G can jump instead.
    ``components`` 0 passes z through unchanged."""

    def __init__(self, components: int = 0):
        super().__init__()
        self.components = components
        # The standard normal's k/components quantiles, derived from `components` (not saved with the weights).
        k = max(components, 1)
        self.register_buffer("edges", torch.special.ndtri(torch.arange(1, k, dtype=torch.float64) / k).float(), persistent=False)

    def forward(self, z):
        if not self.components:
            return z
        k = (z[:, :1] > self.edges).sum(1)
        return torch.cat([nn.functional.one_hot(k, self.components).to(z.dtype), z], 1)


class MLPGenerator(nn.Module):
    """z (B, z_dim) -> sample (B, *shape): ReLU hidden layers (with batchnorm if asked), a linear
    output, tanh for images (in [-1, 1]) and nothing for points. ``components`` > 0 makes the
    latent a mixture of that many components (LatentComponents). Plain torch."""

    def __init__(self, z_dim: int, hidden: list[int], shape: list[int], batchnorm: bool = False, tanh: bool = True,
                 components: int = 0):
        super().__init__()
        self.z_dim, self.shape, self.tanh = z_dim, tuple(shape), tanh
        self.latent = LatentComponents(components)
        sizes = [z_dim + components, *hidden]
        self.layers = nn.Sequential(*[Dense(a, b, batchnorm) for a, b in zip(sizes[:-1], sizes[1:])])
        self.out = nn.Linear(sizes[-1], math.prod(shape))

    def forward(self, z):
        x = self.out(self.layers(self.latent(z)))
        return (torch.tanh(x) if self.tanh else x).view(len(z), *self.shape)


class DCGANGeneratorHalf:
    """The generator half of a variant whose G is DCGAN's (dcgan, lsgan, wgan, wgan-gp): a mixin put
    before ``ganzoo.GDVariant``, reading ``z_dim``, ``g_width`` and, where the config has it,
    ``latent_components`` from the config, and the channels and side from the data."""

    @classmethod
    def generator_args(cls, config, data) -> dict:
        components = getattr(config, "latent_components", 0)
        return {"z_dim": config.z_dim, "channels": data.shape[0], "size": data.shape[-1], "width": config.g_width,
                **({"components": components} if components else {})}

    @classmethod
    def build_generators(cls, args: dict) -> dict:
        return {"G": init_dcgan_(DCGANGenerator(**args))}


def dcgan_discriminator_for(variant, width: int, norm: str = "batch") -> nn.Module:
    """DCGAN discriminator for ``variant``'s data, on its device, with DCGAN init. It takes
    ``variant.d_input_shape``, so PacGAN packing works."""
    size = variant.data.shape[-1]
    return init_dcgan_(dcgan_discriminator(variant.d_input_shape[0], size, width, norm=norm)).to(variant.device)


def dcgan_discriminator(channels: int, size: int, width: int, norm: str = "batch", out_features: int = 1) -> nn.Sequential:
    """image (B, channels, size, size) -> (B, out_features) raw scores.

    Strided 4x4 convolutions that halve the side and double the channels, LeakyReLU(0.2), no
    normalisation on the input layer, then a 4x4 convolution to the output. ``norm`` is "batch"
    (DCGAN), "layer" or "none" (WGAN-GP's critic must not use batchnorm).
    """
    n = _stages(size)
    layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    ch, side = width, size // 2
    for _ in range(n - 1):
        layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=norm == "none")]
        ch, side = ch * 2, side // 2
        if norm == "batch":
            layers += [nn.BatchNorm2d(ch)]
        elif norm == "layer":
            layers += [nn.GroupNorm(1, ch)]
        elif norm != "none":
            raise ValueError(f"norm must be 'batch', 'layer' or 'none', got {norm!r}")
        layers += [nn.LeakyReLU(0.2, True)]
    layers += [nn.Conv2d(ch, out_features, 4, 1, 0), nn.Flatten()]
    return nn.Sequential(*layers)


class frozen:
    """``with frozen(D):`` - no weight gradients for D inside the block (the generator's step).

    Gradients still flow *through* D to the generator; skipping D's own weight gradients saves
    their computation and keeps them out of D's next update.
    """

    def __init__(self, *modules: nn.Module):
        self.params = [p for m in modules for p in m.parameters()]

    def __enter__(self) -> None:
        self.flags = [p.requires_grad for p in self.params]
        for p in self.params:
            p.requires_grad_(False)

    def __exit__(self, *exc) -> None:
        for p, flag in zip(self.params, self.flags):
            p.requires_grad_(flag)


class Maxout(nn.Module):
    """Goodfellow et al. 2013: a linear layer with ``pieces`` outputs per unit, keeping the largest."""

    def __init__(self, in_features: int, out_features: int, pieces: int):
        super().__init__()
        self.out_features, self.pieces = out_features, pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x):
        return self.linear(x).view(*x.shape[:-1], self.out_features, self.pieces).amax(-1)


def mlp(sizes: list[int], *, act: str = "relu", batchnorm: bool = False, dropout: float = 0.0,
        input_dropout: float = 0.0, maxout_pieces: int = 0, out_act: nn.Module | None = None) -> nn.Sequential:
    """sizes = [in, hidden..., out]. Hidden units are ReLU, LeakyReLU(0.2) or maxout (``maxout_pieces``
    > 0), optionally with batchnorm and dropout; the output layer is linear, then ``out_act``."""
    layers: list[nn.Module] = [nn.Dropout(input_dropout)] if input_dropout else []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        if maxout_pieces:
            layers.append(Maxout(a, b, maxout_pieces))
        else:
            layers.append(nn.Linear(a, b))
            if batchnorm:
                layers.append(nn.BatchNorm1d(b))
            layers.append(nn.ReLU() if act == "relu" else nn.LeakyReLU(0.2))
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    if out_act is not None:
        layers.append(out_act)
    return nn.Sequential(*layers)


# -- names removed in 0.2, kept importable until 0.4 with a warning (ganzoo._plugin_api) --------------


def _dcgan_generator_0_1(z_dim: int, channels: int, size: int, width: int, batchnorm: bool = True) -> nn.Module:
    """0.1's ``dcgan_generator``: the same network, now the class :class:`DCGANGenerator`."""
    return DCGANGenerator(z_dim, channels, size, width, batchnorm)


def _dcgan_pair_0_1(variant, z_dim: int, g_width: int, d_width: int, d_norm: str = "batch") -> tuple[nn.Module, nn.Module]:
    """0.1's ``dcgan_pair``: DCGAN's G and D for ``variant``'s data, on its device, with DCGAN init."""
    channels, size = variant.data.shape[0], variant.data.shape[-1]
    G = init_dcgan_(DCGANGenerator(z_dim, channels, size, g_width)).to(variant.device)
    return G, dcgan_discriminator_for(variant, d_width, norm=d_norm)


_REMOVED = {"dcgan_pair": _dcgan_pair_0_1, "dcgan_generator": _dcgan_generator_0_1}


def __getattr__(name: str):
    if name in _REMOVED:
        from ._plugin_api import deprecated

        deprecated(f"{__name__}.{name}")
        return _REMOVED[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
