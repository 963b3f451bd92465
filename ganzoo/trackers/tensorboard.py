"""The TensorBoard tracker: event files in RUN/tensorboard/, through torch.utils.tensorboard.

Scalars under their metrics.jsonl names (loss_d, images_per_s, lr/generator, eval/METRIC/KEY), the
sample grid as the image "samples", and the run's config as hparams, so TensorBoard's HParams tab
compares runs. `tensorboard --logdir runs/` shows every run side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import Tracker, hparams


class TensorBoard(Tracker):
    name = "tensorboard"
    summary = "TensorBoard event files in RUN/tensorboard/"
    requires = ("tensorboard",)

    def __init__(self, run_dir: Path, run: dict[str, Any]):
        super().__init__(run_dir, run)
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))

    def log_config(self, config: dict[str, Any]) -> None:
        from torch.utils.tensorboard.summary import hparams as hparams_summary

        # add_hparams would open a second writer in a sub-folder; written here, the HParams tab
        # finds the run's own scalars beside its config.
        writer = self.writer._get_file_writer()
        for summary in hparams_summary(hparams(self.run), {}):
            writer.add_summary(summary)

    def log_metrics(self, step: int, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)

    def log_image(self, step: int, tag: str, png: bytes) -> None:
        import io

        import numpy as np
        from PIL import Image

        array = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        self.writer.add_image(tag, array, step, dataformats="HWC")

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()
