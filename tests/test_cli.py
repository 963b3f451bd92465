"""The command line through a real subprocess: the happy path and every user error."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

FAST = ["--batch-size", "16", "--set", "g_width=8", "--set", "d_width=8", "--set", "sample_every=2"]


def test_help_documents_every_command(cli):
    top = cli("--help")
    assert top.returncode == 0
    for command in ("list", "plugins", "datasets", "metrics", "run", "sample", "eval"):
        assert command in top.stdout
        sub = cli(command, "--help")
        assert sub.returncode == 0 and "usage: ganzoo " + command in sub.stdout


def test_run_then_sample(real_cli, tmp_path):  # the happy path through the real console script
    ran = real_cli("run", "dcgan", "--steps", "3", *FAST, "--out", "r")
    assert ran.returncode == 0, ran.stderr
    assert "samples: r/samples/step-00000003.png" in ran.stdout
    assert "weights: r/export/model.safetensors" in ran.stdout
    assert "metrics: r/metrics.jsonl" in ran.stdout
    assert "images/s" in ran.stdout
    assert "Traceback" not in ran.stderr
    sampled = real_cli("sample", "r/export", "-n", "9", "--seed", "1", "-o", "g.png")
    assert sampled.returncode == 0, sampled.stderr
    from PIL import Image

    with Image.open(tmp_path / "g.png") as im:
        assert im.size == (3 * 34 + 2, 3 * 34 + 2)  # 3x3 grid of 32px images with 2px padding


def test_cli_resume_is_bit_identical(cli, tmp_path):
    assert cli("run", "dcgan", "--steps", "4", *FAST, "--out", "straight").returncode == 0
    assert cli("run", "dcgan", "--steps", "2", *FAST, "--out", "split").returncode == 0
    resumed = cli("run", "dcgan", "--resume", "split", "--steps", "4")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at step 2" in resumed.stderr
    a = load_file(tmp_path / "straight" / "export" / "model.safetensors")
    b = load_file(tmp_path / "split" / "export" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    "args,message",
    [
        (["run", "dcgn"], "unknown variant 'dcgn'; did you mean 'dcgan'? Known variants: cgan, cyclegan, dcgan"),
        (["run", "dcgan", "--set", "lrr=1"], "unknown config key 'lrr' (did you mean 'lr'?)"),
        (["run", "dcgan", "--set", "lr=fast"], "config key 'lr' expects float, got 'fast'"),
        (["run", "dcgan", "--set", "lr=nan"], "config key 'lr' must be a finite number, got nan"),
        (["run", "dcgan", "--set", "g_width=0"], "config key 'g_width' must be >= 1 and <= 8192, got 0"),
        (["run", "dcgan", "--set", "z_dim=-1"], "config key 'z_dim' must be >= 1, got -1"),
        (["run", "dcgan", "--set", "ema_decay=2"], "config key 'ema_decay' must be >= 0 and < 1, got 2.0"),
        (["run", "dcgan", "--out", "afile"], "--out 'afile' is a file"),
        (["sample", "empty", "-o", "empty"], "output 'empty' is a folder"),
        (["run", "dcgan", "--set", "image_size=48"], "config key 'image_size' expects 32 | 64, got '48'"),
        (["run", "dcgan", "--set", "lr"], "--set expects key=value"),
        (["run", "dcgan", "--steps", "0"], "config key 'steps' must be >= 1, got 0"),
        (["run", "dcgan", "--data", "./no/such/folder"], "dataset path './no/such/folder' does not exist"),
        (["run", "dcgan", "--data", "empty"], "dataset folder 'empty' holds no images"),
        (["run", "dcgan", "--data", "nodata"], "unknown dataset 'nodata'"),
        (["run", "dcgan", "--device", "cuda"], "no CUDA GPU"),
        (["run", "dcgan", "--resume", "empty", "--data", "digits"], "cannot be combined with --data"),
        (["run", "dcgan", "--resume", "empty"], "'empty' is not a run directory"),
        (["sample", "no-such-export"], "'no-such-export' is not a folder, a pretrained model or a Hub id"),
        (["sample", "empty"], "'empty' is not a ganzoo export: it has no config.json"),
        (["sample", "pickles"], "pickle-format files (model.bin) are never loaded"),
        (["sample", "empty", "-o", "grid.jpg"], "must end in .png"),
    ],
)
def test_user_errors_exit_2_with_one_clear_line(main_cli, tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "pickles").mkdir()
    (tmp_path / "pickles" / "model.bin").write_bytes(b"\x80\x04")
    (tmp_path / "afile").write_text("not a folder")
    done = main_cli(*args)  # in-process; test_a_user_error_through_the_real_console_script runs the same path as a subprocess
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_user_error_through_the_real_console_script(cli):
    done = cli("run", "dcgan", "--set", "g_width=0")
    assert done.returncode == 2 and done.stderr == "ganzoo: error: config key 'g_width' must be >= 1 and <= 8192, got 0\n"


def test_export_with_wrong_tensors_is_refused_by_name(cli, tmp_path):
    from safetensors.torch import save_file

    assert cli("run", "dcgan", "--steps", "1", *FAST, "--out", "r").returncode == 0
    weights = tmp_path / "r" / "export" / "model.safetensors"
    assert "G.blocks.0.conv.weight" in load_file(weights)
    tensors = load_file(weights)
    tensors["G.blocks.0.conv.weight"] = tensors["G.blocks.0.conv.weight"][:, :4].contiguous()
    del tensors["G.blocks.0.norm.bias"]
    save_file(tensors, weights)
    done = cli("sample", "r/export")
    assert done.returncode == 2
    assert "'G.blocks.0.conv.weight' has shape" in done.stderr and "missing tensor 'G.blocks.0.norm.bias'" in done.stderr


def test_export_of_an_uninstalled_variant_names_it(cli, tmp_path):
    import json

    assert cli("run", "dcgan", "--steps", "1", *FAST, "--out", "r").returncode == 0
    cfg = tmp_path / "r" / "export" / "config.json"
    doc = json.loads(cfg.read_text())
    doc["variant"] = "stylegan9"
    cfg.write_text(json.dumps(doc))
    done = cli("sample", "r/export")
    assert done.returncode == 2
    assert "holds a model of variant 'stylegan9', which no installed plugin provides" in done.stderr


def test_list_plugins_datasets(cli):
    listed = cli("list")
    import ganzoo

    assert listed.returncode == 0 and "dcgan" in listed.stdout and f"ganzoo {ganzoo.__version__}" in listed.stdout
    plugins = cli("plugins")
    assert "ganzoo.data.builtin" in plugins.stdout and "register_datasets" in plugins.stdout
    datasets = cli("datasets")
    assert "digits" in datasets.stdout and "download" in datasets.stdout


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_saves_a_checkpoint_and_the_run_resumes(tmp_path, signum):
    import os
    import signal
    import subprocess
    import sys
    import time

    import random

    exe = os.path.join(os.path.dirname(sys.executable), "ganzoo")
    cmd = [exe, "run", "dcgan", "--steps", "100000", *FAST, "--set", "log_every=1", "--out", "r"]
    at = random.Random().randint(2, 6)  # a different step each run: the interrupt lands wherever it lands
    # A child of a background job inherits SIGINT ignored; restore the default a terminal gives.
    reset = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=reset)
    metrics = tmp_path / "r" / "metrics.jsonl"
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (metrics.exists() and metrics.read_text().count("\n") >= at):
            time.sleep(0.2)
        proc.send_signal(getattr(signal, signum))
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()  # never leave a 100,000-step run behind
        proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted at step" in err and "--resume r" in err and "Traceback" not in err
    step = int(err.split("interrupted at step ")[1].split()[0])
    assert (tmp_path / "r" / "checkpoints" / f"step-{step:08d}.safetensors").is_file()
    from .conftest import run_main

    resumed = run_main("run", "dcgan", "--resume", "r", "--steps", str(step + 2), cwd=tmp_path)  # the signal needed the subprocess; this does not
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming at step {step}" in resumed.stderr
    # Exact: every tensor of the final checkpoint (weights, batchnorm counters, optimizer state, RNG)
    # equals that of a run that was never interrupted.
    straight = run_main("run", "dcgan", "--steps", str(step + 2), *FAST, "--set", "log_every=1", "--out", "s", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr
    final = f"step-{step + 2:08d}.safetensors"
    a, b = load_file(tmp_path / "r" / "checkpoints" / final), load_file(tmp_path / "s" / "checkpoints" / final)
    assert a.keys() == b.keys()
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f"interrupted at step {step} and resumed: {differ[:5]} differ from the uninterrupted run"


def test_cgan_samples_the_label_asked_for(cli, tmp_path):
    ran = cli("run", "cgan", "--steps", "2", "--batch-size", "20", "--out", "c")
    assert ran.returncode == 0, ran.stderr
    done = cli("sample", "c/export", "--label", "7", "-n", "4", "-o", "sevens.png")
    assert done.returncode == 0, done.stderr
    bad = cli("sample", "c/export", "--label", "12", "-n", "4")
    assert bad.returncode == 2 and "labels must be 4 class indices in 0..9" in bad.stderr
    assert cli("run", "dcgan", "--steps", "1", *FAST, "--out", "d").returncode == 0
    unconditional = cli("sample", "d/export", "--label", "3")
    assert unconditional.returncode == 2 and "variant 'dcgan' is unconditional and takes no labels" in unconditional.stderr


def test_under_scripts_and_batch_jobs(cli, tmp_path):
    """stderr a pipe (nohup, a scheduler): plain progress lines; stdout closed early: a quiet exit."""
    import re
    import subprocess

    ran = cli("run", "dcgan", "--steps", "6", *FAST, "--set", "progress_every=0.01", "--out", "r")
    assert ran.returncode == 0, ran.stderr
    lines = [l for l in ran.stderr.splitlines() if l.startswith("ganzoo: step ")]
    assert len(lines) >= 3 and lines[-1].startswith("ganzoo: step 6/6 (100%) loss_d ")
    assert re.fullmatch(r"ganzoo: step \d+/6 \(\d+%\) loss_d \S+ loss_g \S+ \| \d+ images/s \| ETA \S+", lines[0]), lines[0]
    quiet = cli("run", "dcgan", "--steps", "2", *FAST, "--set", "progress_every=0", "--out", "q")
    assert quiet.returncode == 0 and "ganzoo: step" not in quiet.stderr

    exe = Path(sys.executable).parent / "ganzoo"
    reader = subprocess.Popen([str(exe), "metrics"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    reader.stdout.close()  # like `ganzoo metrics | head -0`: the reader is gone before ganzoo writes
    err = reader.stderr.read().decode()
    assert reader.wait() == 141 and err == "", err


# -- a new user's first half hour (#31), replayed -----------------------------------------------------


def test_the_pretrained_listing_says_how_to_use_each_kind(cli):
    listed = cli("list", "--pretrained")
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[2:] if line.strip() and not line.startswith("in Python")}
    assert rows["dcgan-digits"].rstrip().endswith("ganzoo sample dcgan-digits")
    assert rows["cgan-digits"].rstrip().endswith("ganzoo sample cgan-digits --label L")
    assert rows["cyclegan-digits-m"].rstrip().endswith("ganzoo translate cyclegan-digits-m IMAGE")
    assert rows["srgan-photos"].rstrip().endswith("ganzoo upscale srgan-photos IMAGE")
    assert rows["gan-ring8"].rstrip().endswith("ganzoo.load('gan-ring8').sample(n)")


def test_labels_by_index_or_name_and_a_grid_that_cannot_hold_n_says_so(cli, tmp_path):
    seven = cli("sample", "cgan-digits", "--label", "7", "-n", "4", "-o", "7.png")
    assert seven.returncode == 0 and seven.stderr == "", seven.stderr
    word = cli("sample", "cgan-digits", "--label", "seven", "-o", "w.png")
    assert word.returncode == 2 and word.stderr.strip() == "ganzoo: error: no class named 'seven'; classes: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9"
    rows = cli("sample", "cgan-digits", "-n", "64", "-o", "g.png")
    assert rows.returncode == 0 and ("drew 60 samples, not 64: the grid has one row per class (10 classes x 6); "
                                     "give -n as a multiple of 10") in rows.stderr


def test_small_models_are_drawn_larger_and_scale_is_a_choice(cli, tmp_path):
    from PIL import Image

    assert cli("sample", "r3gan-digits", "-n", "4", "-o", "auto.png").returncode == 0  # 16x16: enlarged twice by default
    assert Image.open(tmp_path / "auto.png").size == (2 * (32 + 2) + 2,) * 2
    assert cli("sample", "r3gan-digits", "-n", "4", "--scale", "1", "-o", "one.png").returncode == 0
    assert Image.open(tmp_path / "one.png").size == (2 * (16 + 2) + 2,) * 2
    assert cli("sample", "r3gan-digits", "--scale", "0", "-o", "x.png").returncode == 2


def test_the_eval_table_has_a_heading_per_column_spreads_beside_values_and_units(cli, tmp_path):
    done = cli("eval", "dcgan-digits", "--metrics", "kid-digitscnn-x5", "--out", tmp_path / "e")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["metric", "key", "value", "±", "spread", "unit"]
    keys = [line.split()[1] for line in lines[2:] if line.startswith("kid-")]
    assert "kid_mean" in keys and "kid_std" not in keys and "kid_real_floor_std" not in keys  # folded into their values
    kid = next(line for line in lines if " kid_mean " in line)
    assert " ± " in kid and "e+" not in kid and "MMD^2" in kid


def test_the_demo_names_the_zoo_recipe_that_does_better(cli):
    done = cli("run", "dcgan", "--steps", "2", "--batch-size", "16", "--set", "g_width=8", "--set", "d_width=8", "--out", "r")
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("better: the zoo's dcgan-digits (fid-digitscnn-x5 fid ") and "ganzoo run dcgan --set ema=true --set lr=0.0005 --set r1=1.0 --set steps=4000" in last


def test_the_python_api_reports_progress_through_logging(tmp_path, caplog):
    import logging

    import ganzoo

    with caplog.at_level(logging.INFO, logger="ganzoo"):
        ganzoo.train("dcgan", steps=2, batch_size=16, g_width=8, d_width=8, out=str(tmp_path / "r"))
    assert any(r.name.startswith("ganzoo") and r.getMessage().startswith("step 2/2 (100%)") for r in caplog.records)


def test_bash_completion_completes_commands_variants_names_and_set_keys(cli, tmp_path):
    import shutil

    script = cli("completion", "bash")
    assert script.returncode == 0, script.stderr
    (tmp_path / "ganzoo.bash").write_text(script.stdout)
    probe = """
source ./ganzoo.bash
t() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMPREPLY=(); _ganzoo; echo "${COMPREPLY[*]}"; }
t ganzoo ru
t ganzoo run dc
t ganzoo run dcgan --set g_w
t ganzoo run dcgan --set ema_d
t ganzoo sample dcgan-di
t ganzoo run dcgan --data ring
t ganzoo eval x --metrics label-acc
t ganzoo run dcgan --show-c
complete -p ganzoo
"""
    done = subprocess.run([shutil.which("bash"), "--norc", "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["run", "dcgan", "g_width=", "ema_decay=", "dcgan-digits", "ring8",
                                        "label-accuracy-digitscnn-n10000 label-accuracy-digitslenet-n10000", "--show-config",
                                        "complete -F _ganzoo ganzoo"]  # both judges' accuracy metrics match the prefix


def test_zsh_and_fish_completion_scripts_hold_the_same_names(cli):
    zsh, fish = cli("completion", "zsh").stdout, cli("completion", "fish").stdout
    assert "bashcompinit" in zsh and "complete -F _ganzoo ganzoo" in zsh
    assert "complete -c ganzoo -n __fish_use_subcommand -a 'list plugins prepare datasets run" in fish and "g_width=" in fish and "dcgan-digits" in fish and "-l show-config" in fish
    assert cli("completion", "tcsh").returncode == 2
