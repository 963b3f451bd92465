"""The offline feature network for digit data: a small CNN trained on the embedded digits.

FID, KID and precision/recall need a feature network, and Inception's weights cannot be
downloaded offline; class-based metrics (stacked-digits modes, CGAN label accuracy, Inception
Score) need a classifier. This network is both: its 128-d penultimate layer is the feature space,
its logits the judge. Its weights ship with ganzoo (``weights/digits-cnn.safetensors``) and are
reproduced bit-for-bit on CPU by ``python benchmarks/train_digits_cnn.py``.
"""

from __future__ import annotations

import json
from importlib import resources

import torch
import torch.nn.functional as F
from torch import nn

SIZE = 32  # input side; samples at other sizes are resized to this
WEIGHTS = "digits-cnn.safetensors"
# The judge of domain B of digits-typeset (typeset digits), same architecture, trained by
# `python benchmarks/train_digits_cnn.py --domain typeset` on rendered digits disjoint from its test set.
TYPESET_WEIGHTS = "typeset-cnn.safetensors"
# The judge of domain B of digits-m (digits blended with photo crops), on colour input: in grey, a
# stroke |crop - 255| and its background |crop| can be the same mid-grey. Trained by
# `python benchmarks/train_digits_cnn.py --domain digits-m`, tested on held-out digits.
DIGITS_M_WEIGHTS = "digits-m-cnn.safetensors"
# The second judge of handwritten digits: another architecture (Caffe's LeNet: 5x5 convolutions, a
# 500-d penultimate layer) trained from another seed, `python benchmarks/train_digits_cnn.py --arch
# lenet`. Every judge-based number on digits is reported under both, so a claim that holds under one
# network's quirks only shows as such.
LENET_WEIGHTS = "digits-lenet.safetensors"
HELD_OUT_SEED = 0  # the permutation that splits digits into train (first 80 %) and held-out (last 20 %)


class DigitsCNN(nn.Module):
    """(B, C, 32, 32) in [-1, 1] -> 10 logits; ``features`` gives the 128-d penultimate activations.
    ``channels``: 1 (grey, the digit judges) or 3 (colour, the digits-m judge)."""

    arch = "digits-cnn"
    num_features = 128

    def __init__(self, channels: int = 1):
        super().__init__()
        self.channels = channels
        self.body = self._body(channels)
        self.head = nn.Linear(self.num_features, 10)

    def _body(self, channels: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(128 * 4 * 4, self.num_features), nn.ReLU(),
        )

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Any (B, C, H, W) in [-1, 1] -> (B, channels, 32, 32): grey by channel mean (or grey
        repeated to colour), bilinear resize."""
        x = x.float()
        if x.shape[1] != self.channels:
            x = x.mean(1, keepdim=True).expand(-1, self.channels, -1, -1)
        if x.shape[-1] != SIZE or x.shape[-2] != SIZE:
            x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", antialias=True, align_corners=False)
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.prepare(x)
        if not self.training:  # judging: channels-last is the same math in half the time on a CPU
            x = x.contiguous(memory_format=torch.channels_last)  # (training keeps NCHW: the shipped bytes reproduce)
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class LeNet(DigitsCNN):
    """The second digit judge, Caffe's LeNet on 32x32 input: two unpadded 5x5 convolutions (20 and 50
    channels) with max pooling, then a 500-d fully connected layer, the feature space."""

    arch = "lenet"
    num_features = 500

    def _body(self, channels: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(channels, 20, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(50 * 5 * 5, self.num_features), nn.ReLU(),
        )


ARCHS = {net.arch: net for net in (DigitsCNN, LeNet)}


def held_out_split(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the training and held-out parts of the digits (fixed for everyone)."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(HELD_OUT_SEED))
    cut = int(n * 0.8)
    return perm[:cut], perm[cut:]


def load(device: str | torch.device = "cpu", weights: str = WEIGHTS) -> DigitsCNN:
    """A shipped network (the handwritten-digits one by default) in eval mode, its weights read with
    safetensors (never unpickled)."""
    from safetensors.torch import load

    data = resources.files("ganzoo.eval").joinpath("weights").joinpath(weights).read_bytes()
    state = load(data)
    net = ARCHS[metadata(weights).get("arch", DigitsCNN.arch)](channels=state["body.0.weight"].shape[1])
    net.load_state_dict(state)
    return net.to(device).to(memory_format=torch.channels_last).eval()


def metadata(weights: str = WEIGHTS) -> dict:
    """What the shipped weights were trained with and how accurate they are (from the file's metadata)."""
    from safetensors import safe_open

    path = resources.files("ganzoo.eval").joinpath("weights").joinpath(weights)
    with resources.as_file(path) as p, safe_open(str(p), framework="pt") as f:
        return json.loads(f.metadata()["ganzoo"])
