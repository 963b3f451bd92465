"""The Inception-v3 feature network of FID/KID/IS as the literature computes them, loaded without pickle.

The standard network is the TensorFlow graph of 2015-12-05 that TTUR's FID code uses; torch-fidelity
ships a bit-exact PyTorch port (its ``FeatureExtractorInceptionV3``, including TF1's bilinear resize
to 299x299). We reuse that module, but not its loader: it reads the weights with ``torch.load`` on a
pickle. ganzoo keeps a safetensors copy instead (``$GANZOO_INCEPTION_WEIGHTS``, else the cache;
online, made once from torch-fidelity's hash-checked file): see ``ganzoo._weights``.
"""

from __future__ import annotations

import torch

from .._weights import RemoteWeights
from ..errors import GanzooError

WEIGHTS = RemoteWeights(
    what="the Inception weights",
    url="https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
    sha256="6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2",
    env="GANZOO_INCEPTION_WEIGHTS",
    filename="inception-2015-12-05.safetensors",
)
FEATURES = "2048"  # pool3 features: what FID and KID use
LOGITS = "logits_unbiased"  # the 1008-way logits without the bias, what Inception Score uses (as in TTUR/torch-fidelity)


class InceptionFeatures(torch.nn.Module):
    """Images in [-1, 1] (1 or 3 channels, any size) -> {"2048": pool3 features, "logits_unbiased": ...}."""

    def __init__(self, state_dict: dict[str, torch.Tensor]):
        super().__init__()
        from unittest import mock

        from torch_fidelity import feature_extractor_inceptionv3 as fe

        # torch-fidelity's constructor builds the network and then fetches its pickle; hand it our
        # tensors at that point instead, so the architecture stays theirs and nothing is unpickled.
        with mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: state_dict):
            self.net = fe.FeatureExtractorInceptionV3("inception-v3-compat", [FEATURES, LOGITS])

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        # The network expects uint8 RGB, the format FID's reference code quantises to.
        images = ((x.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        features, logits = self.net(images)
        return {FEATURES: features, LOGITS: logits}


def load(device: str | torch.device = "cpu", download: bool = True) -> InceptionFeatures:
    state = WEIGHTS.load(download)
    try:
        return InceptionFeatures(state).to(device).eval()
    except RuntimeError as exc:  # wrong tensor names or shapes
        raise GanzooError(f"{WEIGHTS.path(False)} does not hold the Inception-v3 FID weights: {str(exc).splitlines()[0]}") from None
