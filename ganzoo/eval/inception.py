"""The Inception-v3 feature network of FID/KID/IS as the literature computes them, loaded without pickle.

The standard network is the TensorFlow graph of 2015-12-05 that TTUR's FID code uses; torch-fidelity
ships a bit-exact PyTorch port (its ``FeatureExtractorInceptionV3``, including TF1's bilinear resize
to 299x299). We reuse that module, but not its loader: it reads the weights with ``torch.load`` on a
pickle. ganzoo keeps a safetensors copy instead and looks for it in this order:

1. ``$GANZOO_INCEPTION_WEIGHTS`` (a ``.safetensors`` file you copied or converted yourself);
2. ``$GANZOO_DATA_DIR/weights/inception-2015-12-05.safetensors`` (default dir ~/.cache/ganzoo/datasets);
3. online only: torch-fidelity's published file, checked against the hash in its name, parsed once with
   torch's tensors-only loader (``weights_only=True`` refuses any object that is not a tensor) and
   stored as the safetensors copy of 2. — so the pickle is read once, from a pinned URL, never again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
from pathlib import Path

import torch

from ..errors import GanzooError

URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
SHA256_PREFIX = "6726825d"  # torch.hub's convention: the file name carries the first hex digits of its sha256
ENV = "GANZOO_INCEPTION_WEIGHTS"
FILENAME = "inception-2015-12-05.safetensors"
FEATURES = "2048"  # pool3 features: what FID and KID use
LOGITS = "logits_unbiased"  # the 1008-way logits without the bias, what Inception Score uses (as in TTUR/torch-fidelity)


def cached_path() -> Path:
    from ..data.sources import data_root

    return data_root() / "weights" / FILENAME


def weights_file(download: bool = True) -> Path:
    """The safetensors weights, downloading and converting them once if allowed and needed."""
    env = os.environ.get(ENV)
    if env:
        path = Path(env).expanduser()
        if path.suffix != ".safetensors":
            raise GanzooError(f"{ENV}={env} must name a .safetensors file (ganzoo never unpickles weights)")
        if not path.is_file():
            raise GanzooError(f"{ENV}={env}: no such file")
        return path
    path = cached_path()
    if path.is_file():
        return path
    if not download:
        raise GanzooError(f"the Inception weights are not available: set {ENV} to a safetensors copy or run once online")
    _download_and_convert(path)
    return path


def _download_and_convert(dest: Path) -> None:
    from safetensors.torch import save_file

    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        pth = Path(tmp) / "inception.pth"
        try:
            torch.hub.download_url_to_file(URL, str(pth), progress=False)
        except (urllib.error.URLError, OSError) as exc:
            raise GanzooError(
                f"cannot download the Inception weights from {URL} ({exc}); offline, set {ENV} to a safetensors copy"
            ) from None
        digest = hashlib.sha256(pth.read_bytes()).hexdigest()
        if not digest.startswith(SHA256_PREFIX):
            raise GanzooError(f"the downloaded Inception weights have sha256 {digest[:16]}..., expected {SHA256_PREFIX}...; not using them")
        state = torch.load(pth, map_location="cpu", weights_only=True)  # tensors only; see the module docstring
        staged = Path(tmp) / FILENAME
        save_file({k: v.contiguous() for k, v in state.items()}, str(staged))
        with open(staged, "rb") as f:
            os.fsync(f.fileno())
        os.replace(staged, dest)


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
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = weights_file(download)
    try:
        state = load_file(str(path))
        return InceptionFeatures(state).to(device).eval()
    except (RuntimeError, OSError, SafetensorError) as exc:  # wrong names/shapes or a damaged file
        raise GanzooError(f"{path} does not hold the Inception-v3 FID weights: {str(exc).splitlines()[0]}") from None
