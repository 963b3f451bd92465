"""Weights & Biases as a ganzoo tracker: `ganzoo run VARIANT --tracker wandb`.

A plugin like any third party's, through the `register_trackers` hook. W&B's own environment
applies: WANDB_PROJECT (default "ganzoo"), WANDB_ENTITY, WANDB_MODE=offline (the run is kept under
RUN/wandb/ and synced later with `wandb sync`), WANDB_API_KEY. The run's config goes in as W&B's
config, metrics.jsonl's rows as logged values at their step, the sample grids as images.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ganzoo
from ganzoo.trackers import Tracker, hparams

GANZOO_PLUGIN_API = 2  # the plugin API this plugin is written against (docs/plugin-api.md)


class WandB(Tracker):
    name = "wandb"
    summary = "Weights & Biases (online, or offline with WANDB_MODE=offline)"
    requires = ("wandb",)

    def __init__(self, run_dir: Path, run: dict[str, Any]):
        super().__init__(run_dir, run)
        import wandb

        self.wandb = wandb
        self.session = wandb.init(project=os.environ.get("WANDB_PROJECT", "ganzoo"), name=run_dir.name, dir=str(run_dir),
                                  config=hparams(run), job_type="train", tags=[str(run.get("variant", ""))])

    def log_metrics(self, step: int, values: dict[str, float]) -> None:
        self.session.log(values, step=step)

    def log_image(self, step: int, tag: str, png: bytes) -> None:
        import io

        from PIL import Image

        self.session.log({tag: self.wandb.Image(Image.open(io.BytesIO(png)).convert("RGB"))}, step=step)

    def close(self) -> None:
        self.session.finish()


@ganzoo.hookimpl
def register_trackers(register):
    register(WandB)
