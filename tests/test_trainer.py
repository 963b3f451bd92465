"""The shared trainer: determinism, exact resume, EMA, atomic checkpoints, run directory."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from ganzoo._plugins import registry
import ganzoo
from ganzoo.training import prepare, prepare_resume
from ganzoo.training.checkpoint import latest_checkpoint, list_checkpoints, read_checkpoint


FAST = {"batch_size": 16, "g_width": 8, "d_width": 8, "log_every": 1, "sample_every": 2, "checkpoint_every": 2}


def weights(trainer):
    return {f"{n}.{k}": v.clone() for n, net in trainer.variant.networks().items() for k, v in net.state_dict().items()}


def train(tmp_path, name, **settings):
    t = prepare(registry(), "dcgan", settings={**FAST, **settings}, out=tmp_path / name, progress=False)
    t.fit()
    return t


def test_same_seed_gives_bit_identical_weights_and_another_seed_does_not(tmp_path):
    a, b = train(tmp_path, "a", steps=4), train(tmp_path, "b", steps=4)
    wa, wb = weights(a), weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    wc = weights(train(tmp_path, "c", steps=4, seed=1))
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


def test_resumed_run_matches_uninterrupted_run(tmp_path):
    straight = train(tmp_path, "straight", steps=6, ema=True)
    train(tmp_path, "split", steps=3, ema=True)  # checkpoints at steps 2 and 3 (the end)
    resumed = prepare_resume(registry(), tmp_path / "split", steps=6, progress=False)
    assert resumed.step == 3
    resumed.fit()
    ws, wr = weights(straight), weights(resumed)
    assert all(torch.equal(ws[k], wr[k]) for k in ws)
    assert all(torch.equal(a, b) for a, b in zip(straight.ema.shadow, resumed.ema.shadow))
    rows = [json.loads(l) for l in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]


def test_run_directory_layout(tmp_path):
    train(tmp_path, "run", steps=4, keep_checkpoints=1)
    run = tmp_path / "run"
    doc = json.loads((run / "config.json").read_text())
    assert doc["variant"] == "dcgan" and doc["dataset"] == "digits" and doc["config"]["steps"] == 4
    assert doc["train"]["seed"] == 0 and doc["data"]["shape"] == [1, 32, 32]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-00000002.png", "step-00000004.png"]
    assert (run / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert [s for s, _ in list_checkpoints(run / "checkpoints")] == [4]
    export = run / "export"
    assert {p.name for p in export.iterdir()} == {"model.safetensors", "config.json", "README.md", "samples.png"}
    card = (export / "README.md").read_text()
    assert card.startswith("---\n") and "library_name: ganzoo" in card and "- dcgan" in card
    assert "ganzoo.load(" in card and "![samples](samples.png)" in card


def test_ema_weights_are_exported_and_differ_from_live_weights(tmp_path):
    t = train(tmp_path, "ema", steps=5, ema=True)
    model = ganzoo.load(tmp_path / "ema" / "export")
    exported = model.variant.G.state_dict()
    live = t.variant.G.state_dict()
    with t.ema.applied():
        averaged = {k: v.clone() for k, v in t.variant.G.state_dict().items()}
    assert all(torch.equal(exported[k], averaged[k]) for k in exported)
    assert not all(torch.equal(exported[k], live[k]) for k in exported if exported[k].is_floating_point())
    assert all(torch.equal(t.variant.G.state_dict()[k], live[k]) for k in live)  # swapped back


def test_ema_decay_ramps_up():
    from ganzoo.training.ema import EMA

    ema = EMA({"g": torch.nn.Linear(2, 2)}, decay=0.999)
    assert ema.decay_at(0) == pytest.approx(0.1)
    assert ema.decay_at(10**6) == 0.999


def test_resume_refuses_a_finished_run_and_a_missing_one(tmp_path):
    train(tmp_path, "done", steps=2)
    with pytest.raises(ganzoo.GanzooError, match="already at step 2"):
        prepare_resume(registry(), tmp_path / "done", steps=1)
    with pytest.raises(ganzoo.GanzooError, match="run directory '.*nothing' does not exist"):
        prepare_resume(registry(), tmp_path / "nothing")


WRITER = textwrap.dedent(
    """
    import sys, types, torch
    from pathlib import Path
    from ganzoo.training.checkpoint import checkpoint_path, save_checkpoint
    net = torch.nn.Linear(2048, 2048)  # 16 MB per checkpoint: slow enough to be killed mid-write
    variant = types.SimpleNamespace(networks=lambda: {"net": net}, optimizers=lambda: {}, extra_state=lambda: {})
    stream = types.SimpleNamespace(position=0)
    folder = Path(sys.argv[1])
    step = 0
    while True:
        step += 1
        with torch.no_grad():
            net.weight.fill_(step)
        save_checkpoint(checkpoint_path(folder, step), variant=variant, ema=None, stream=stream, step=step)
        print(step, flush=True)
    """
)


@pytest.mark.parametrize("delay", [0.0, 0.013, 0.031, 0.057])
def test_a_kill_while_writing_leaves_the_previous_checkpoint_loadable(tmp_path, delay):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "ck")], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "1"  # one complete checkpoint exists
        time.sleep(delay)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    path = latest_checkpoint(tmp_path / "ck")
    tensors, meta = read_checkpoint(path)
    assert torch.all(tensors["net.net.weight"] == meta["step"])
    assert meta["step"] >= 1
