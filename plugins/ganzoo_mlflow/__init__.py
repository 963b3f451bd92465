"""MLflow as a ganzoo tracker: `ganzoo run VARIANT --tracker mlflow`.

A plugin like any third party's, through the `register_trackers` hook. MLflow's own environment
applies: MLFLOW_TRACKING_URI (default: a file store in RUN/mlruns/), MLFLOW_EXPERIMENT_NAME
(default "ganzoo"). The run's config goes in as params, metrics.jsonl's rows as metrics at their
step, the sample grids as images.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import ganzoo
from ganzoo.trackers import Tracker, hparams

GANZOO_PLUGIN_API = 2  # the plugin API this plugin is written against (docs/plugin-api.md)


class MLflow(Tracker):
    name = "mlflow"
    summary = "MLflow tracking (a server, or a local file store in RUN/mlruns/)"
    requires = ("mlflow",)

    def __init__(self, run_dir: Path, run: dict[str, Any]):
        super().__init__(run_dir, run)
        from mlflow import MlflowClient
        from mlflow.entities import Param

        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            # The default needs no server and no database package (mlflow-skinny has none): MLflow's
            # file store, which MLflow keeps working but no longer extends, so it asks for this opt-in.
            uri = (run_dir / "mlruns").resolve().as_uri()
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = MlflowClient(tracking_uri=uri)
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "ganzoo")
        found = self.client.get_experiment_by_name(name)
        experiment = found.experiment_id if found is not None else self.client.create_experiment(name)
        self.run_id = self.client.create_run(experiment, run_name=run_dir.name, tags={"variant": str(run.get("variant", ""))}).info.run_id
        params = [Param(k, str(v)[:500]) for k, v in hparams(run).items()]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=params[i : i + 100])

    def log_metrics(self, step: int, values: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, v, now, step) for k, v in values.items()])

    def log_image(self, step: int, tag: str, png: bytes) -> None:
        import io

        from PIL import Image

        self.client.log_image(self.run_id, Image.open(io.BytesIO(png)).convert("RGB"), artifact_file=f"{tag}/step-{step:08d}.png")

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


@ganzoo.hookimpl
def register_trackers(register):
    register(MLflow)
