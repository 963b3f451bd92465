"""Network building blocks shared by several variants: DCGAN conv stacks, MLPs, weight init."""

from __future__ import annotations

import math

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


def dcgan_generator(z_dim: int, channels: int, size: int, width: int, batchnorm: bool = True) -> nn.Sequential:
    """z (B, z_dim, 1, 1) -> image (B, channels, size, size) in [-1, 1].

    A projection to 4x4 by a transposed convolution, then fractionally-strided 4x4 convolutions that
    double the side and halve the channels, batchnorm and ReLU after each but the last, tanh out.
    With size 64 and width 128 this is the paper's generator (1024 channels at 4x4).
    """
    n = _stages(size)
    ch = width * 2 ** (n - 1)
    layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, ch, 4, 1, 0, bias=not batchnorm)]
    layers += [nn.BatchNorm2d(ch)] if batchnorm else []
    layers += [nn.ReLU(True)]
    for _ in range(n - 1):
        layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=not batchnorm)]
        layers += [nn.BatchNorm2d(ch // 2)] if batchnorm else []
        layers += [nn.ReLU(True)]
        ch //= 2
    layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]
    return nn.Sequential(*layers)


def dcgan_pair(variant, z_dim: int, g_width: int, d_width: int, d_norm: str = "batch") -> tuple[nn.Module, nn.Module]:
    """DCGAN generator and discriminator for ``variant``'s data, on its device, with DCGAN init.
    The discriminator takes ``variant.d_input_shape``, so PacGAN packing works."""
    channels, size = variant.data.shape[0], variant.data.shape[-1]
    G = init_dcgan_(dcgan_generator(z_dim, channels, size, g_width)).to(variant.device)
    D = init_dcgan_(dcgan_discriminator(variant.d_input_shape[0], size, d_width, norm=d_norm)).to(variant.device)
    return G, D


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
