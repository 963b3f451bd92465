"""Pretrained weights that ganzoo does not ship (Inception for FID, VGG19 for SRGAN's content
loss), kept as safetensors so that nothing is ever unpickled at load time.

Each is looked up in order: the environment variable naming a ``.safetensors`` copy; the cache
(``$GANZOO_DATA_DIR/weights/``, default ~/.cache/ganzoo/datasets/weights/); and, online only, the
publisher's file, checked against its full sha256 (recorded here, not just the prefix in its name), parsed
once with torch's tensors-only loader (``weights_only=True`` refuses anything but tensors) and
stored in the cache as safetensors — the pickle is read once, from a pinned URL, and deleted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
import urllib.error
from pathlib import Path

import torch

from .errors import GanzooError


@dataclasses.dataclass
class RemoteWeights:
    what: str  # for messages, e.g. "the Inception weights"
    url: str  # the publisher's file
    sha256: str  # of the publisher's file, all 64 hex digits
    env: str  # environment variable that names a local .safetensors copy
    filename: str  # name of the safetensors copy in the cache
    keep: str = ""  # only tensors whose names start with this (e.g. VGG's "features.")

    def cached_path(self) -> Path:
        from .data.sources import data_root

        return data_root() / "weights" / self.filename

    def available(self) -> bool:
        """Whether a local copy exists (no download)."""
        try:
            self.path(download=False)
            return True
        except GanzooError:
            return False

    def path(self, download: bool = True) -> Path:
        env = os.environ.get(self.env)
        if env:
            path = Path(env).expanduser()
            if path.suffix != ".safetensors":
                raise GanzooError(f"{self.env}={env} must name a .safetensors file (ganzoo never unpickles weights)")
            if not path.is_file():
                raise GanzooError(f"{self.env}={env}: no such file")
            return path
        path = self.cached_path()
        if path.is_file():
            return path
        if not download:
            raise GanzooError(f"{self.what} are not available: set {self.env} to a safetensors copy or run once online")
        self._download_and_convert(path)
        return path

    def _download_and_convert(self, dest: Path) -> None:
        from safetensors.torch import save_file

        dest.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
            pth = Path(tmp) / "download.pth"
            try:
                torch.hub.download_url_to_file(self.url, str(pth), progress=False)
            except (urllib.error.URLError, OSError) as exc:
                raise GanzooError(f"cannot download {self.what} from {self.url} ({exc}); offline, set {self.env} to a safetensors copy") from None
            digest = hashlib.sha256(pth.read_bytes()).hexdigest()
            if digest != self.sha256:
                raise GanzooError(f"the downloaded file for {self.what} has sha256 {digest[:16]}..., expected {self.sha256[:16]}...; not using it")
            state = torch.load(pth, map_location="cpu", weights_only=True)  # tensors only; see the module docstring
            staged = Path(tmp) / self.filename
            save_file({k: v.contiguous() for k, v in state.items() if k.startswith(self.keep)}, str(staged))
            with open(staged, "rb") as f:
                os.fsync(f.fileno())
            os.replace(staged, dest)

    def load(self, download: bool = True) -> dict[str, torch.Tensor]:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = self.path(download)
        try:
            state = load_file(str(path))
        except (OSError, SafetensorError) as exc:
            raise GanzooError(f"{path} cannot be read as {self.what}: {str(exc).splitlines()[0]}") from None
        # A user's file may hold the whole network (torchvision's vgg19().state_dict(), classifier
        # included): what is used is the part this copy keeps, and a file without it is refused.
        kept = {k: v for k, v in state.items() if k.startswith(self.keep)}
        if not kept:
            sample = ", ".join(sorted(state)[:3]) or "no tensors"
            raise GanzooError(f"{path} holds no '{self.keep}*' tensors ({sample}...), so it is not {self.what} in torchvision's layout")
        return kept
