"""Experiment trackers: TensorBoard read back from its event files, W&B offline, MLflow's file
store, and what happens when a tracker is missing, misspelt or fails mid-run."""

import json

import pytest

import ganzoo
from ganzoo.trackers import Tracker

from conftest import run_main

FAST = ["--steps", "4", "--batch-size", "16", "--set", "g_width=8", "--set", "d_width=8", "--set", "log_every=1",
        "--set", "sample_every=2", "--set", "checkpoint_every=0"]


def test_tensorboard_gets_scalars_images_evaluations_and_hparams(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    done = run_main("run", "dcgan", *FAST, "--set", "eval_every=4", "--set", "eval_metrics=fid-digitscnn-x5",
                    "--tracker", "tensorboard", "--out", "r", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    events = EventAccumulator(str(tmp_path / "r" / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    assert {"loss_d", "loss_g", "images_per_s", "lr/generator", "lr/discriminator", "eval/fid-digitscnn-x5/fid"} <= set(tags["scalars"])
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [(s.step, round(s.value, 5)) for s in events.Scalars("loss_d")] == [(r["step"], round(r["loss_d"], 5)) for r in rows if "loss_d" in r]
    assert [s.step for s in events.Images("samples")] == [2, 4]
    start = plugin_data_pb2.HParamsPluginData.FromString(events.PluginTagToContent("hparams")["_hparams_/session_start_info"])
    assert start.session_start_info.hparams["lr"].number_value == pytest.approx(2e-4)
    assert start.session_start_info.hparams["variant"].string_value == "dcgan"


def _wandb_records(path):
    """The protobuf records of a W&B offline run file (run-*.wandb): a 7-byte header, then
    LevelDB's log format (32 KiB blocks; each chunk a 7-byte header of crc, length and type, type 1
    a whole record, 2/3/4 its first, middle and last parts). W&B syncs these files later; read
    here, they show what would reach the server."""
    import struct

    from wandb.proto import wandb_internal_pb2

    raw, pos, buf = path.read_bytes(), 7, b""
    while pos + 7 <= len(raw):
        left = 32768 - pos % 32768
        if left < 7:
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", raw[pos : pos + 7])
        buf += raw[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(buf)
            buf = b""
            yield record


def test_wandb_logs_offline(tmp_path):
    pytest.importorskip("wandb")  # the test extra installs it; a bare `pip install -e .` need not
    done = run_main("run", "dcgan", *FAST, "--tracker", "wandb", "--out", "r", cwd=tmp_path,
                    env={"WANDB_MODE": "offline", "WANDB_SILENT": "true"})
    assert done.returncode == 0, done.stderr
    (run_file,) = (tmp_path / "r" / "wandb").glob("offline-run-*/run-*.wandb")
    records = list(_wandb_records(run_file))
    config = {i.key: json.loads(i.value_json) for r in records if r.WhichOneof("record_type") == "run" for i in r.run.config.update}
    assert config["variant"] == "dcgan" and config["g_width"] == 8 and config["lr"] == pytest.approx(2e-4)
    history = [{(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in r.history.item}
               for r in records if r.WhichOneof("record_type") == "history"]
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [h["_step"] for h in history] == [1, 2, 3, 4]
    assert [h["loss_d"] for h in history] == pytest.approx([r["loss_d"] for r in rows])
    assert [h["_step"] for h in history if h.get("samples/_type") == "image-file"] == [2, 4]
    assert all(h["lr/generator"] == pytest.approx(2e-4) for h in history)


def test_mlflow_logs_to_a_local_file_store(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    done = run_main("run", "dcgan", *FAST, "--tracker", "mlflow", "--out", "r", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    client = MlflowClient(tracking_uri=(tmp_path / "r" / "mlruns").as_uri())
    (run,) = client.search_runs([client.get_experiment_by_name("ganzoo").experiment_id])
    assert run.info.status == "FINISHED" and run.data.params["g_width"] == "8" and run.data.params["variant"] == "dcgan"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss_g")] == [1, 2, 3, 4]
    assert sorted(a.path for a in client.list_artifacts(run.info.run_id, "samples")) == ["samples/step-00000002.png", "samples/step-00000004.png"]


class Missing(Tracker):
    name = "needs-a-package"
    requires = ("ganzoo_no_such_package",)


class Failing(Tracker):
    name = "failing"

    def log_metrics(self, step, values):
        raise RuntimeError("the tracking server went away")


class Registers:
    @ganzoo.hookimpl
    def register_trackers(self, register):
        register(Missing)
        register(Failing)


def test_a_missing_package_or_a_misspelt_tracker_is_one_line_before_training(register_plugin, tmp_path):
    register_plugin(Registers(), "test-trackers")
    missing = run_main("run", "dcgan", *FAST, "--tracker", "needs-a-package", "--out", "r", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.strip().splitlines() == [
        "ganzoo: error: tracker 'needs-a-package' needs the ganzoo_no_such_package package, which is not installed: "
        'pip install "torch-ganzoo[needs-a-package]"'], missing.stderr
    typo = run_main("run", "dcgan", *FAST, "--tracker", "tensorbord", "--out", "r", cwd=tmp_path)
    assert typo.returncode == 2 and "unknown tracker 'tensorbord'; did you mean 'tensorboard'?" in typo.stderr
    assert not (tmp_path / "r").exists()


def test_a_tracker_that_fails_is_dropped_and_the_run_goes_on(register_plugin, tmp_path):
    register_plugin(Registers(), "test-trackers")
    done = run_main("run", "dcgan", *FAST, "--tracker", "failing", "--out", "r", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("tracker 'failing' failed (RuntimeError: the tracking server went away)") == 1
    assert len((tmp_path / "r" / "metrics.jsonl").read_text().splitlines()) == 4  # the record is whole
