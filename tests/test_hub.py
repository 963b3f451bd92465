"""Publishing to and pulling from the Hub: the real huggingface_hub client against a Hub-protocol
server on 127.0.0.1 (tests/hubserver.py), through the `ganzoo` command.

huggingface_hub reads HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE once, at import, into
``huggingface_hub.constants``. Most tests run `ganzoo` in this process and set those constants as
the environment would (a subprocess costs 4 s of torch import per command);
``test_offline_uses_the_cache_and_says_so_without_it`` runs the real console script in subprocesses,
so the environment variables themselves are tested too."""

import contextlib
import json
import os

import pytest
import yaml
from safetensors.torch import load as load_bytes
from safetensors.torch import load_file

from hubserver import LocalHub, Repo

FAST = ["--batch-size", "8", "--set", "g_width=8", "--set", "d_width=8"]


@contextlib.contextmanager
def hub_constants(env):
    """huggingface_hub's import-time settings as a process started with ``env`` would have them."""
    from huggingface_hub import constants

    home = env["HF_HOME"]
    settings = {
        "ENDPOINT": env["HF_ENDPOINT"],
        "HUGGINGFACE_CO_URL_TEMPLATE": env["HF_ENDPOINT"] + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HOME": home,
        "HF_HUB_CACHE": os.path.join(home, "hub"),
        "HF_XET_CACHE": os.path.join(home, "xet"),
        "HF_TOKEN_PATH": os.path.join(home, "token"),
        "HF_STORED_TOKENS_PATH": os.path.join(home, "stored_tokens"),
        "HF_HUB_OFFLINE": env.get("HF_HUB_OFFLINE") == "1",
        "HF_HUB_DISABLE_TELEMETRY": True,
    }
    newer = {"HF_XET_CACHE", "HF_STORED_TOKENS_PATH"}  # not in every huggingface_hub the pyproject allows
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings.items():
            if name in newer and not hasattr(constants, name):
                continue
            assert hasattr(constants, name), name  # a renamed constant would otherwise be patched in vain
            patch.setattr(constants, name, value)
        yield


def _local_hub(tmp_path, in_process):
    """A local Hub, and `ganzoo` pointed at it with its own HF_HOME and a token: ``server.run(*args,
    **env)`` runs one command, in this process or as the real console script."""
    from conftest import run_cli, run_main

    with LocalHub() as server:
        env = {"HF_ENDPOINT": server.endpoint, "HF_HOME": str(tmp_path / "hf"), "HF_TOKEN": "hf_test_token",
               "HF_HUB_DISABLE_TELEMETRY": "1"}

        def call(*args, **extra):
            full = {**env, **extra}
            if not in_process:
                return run_cli(*args, env=full, cwd=tmp_path)
            with hub_constants(full):
                return run_main(*args, env=full, cwd=tmp_path)

        server.run = call
        yield server


@pytest.fixture
def hub(tmp_path):
    yield from _local_hub(tmp_path, in_process=True)


@pytest.fixture
def hub_subprocess(tmp_path):
    yield from _local_hub(tmp_path, in_process=False)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Two tiny trained runs with different weights (seeds 0 and 1)."""
    from conftest import run_main

    root = tmp_path_factory.mktemp("exports")
    for seed in (0, 1):
        done = run_main("run", "dcgan", "--steps", "1", "--seed", seed, *FAST, "--out", f"r{seed}", cwd=root)
        assert done.returncode == 0, done.stderr
    return root


def card_metadata(text: str) -> dict:
    return yaml.safe_load(text.split("---")[1])


def test_push_then_pull_gives_the_same_tensors_and_config(hub, exports):
    pushed = hub.run("push", exports / "r0", "--repo", "me/dcgan-digits")
    assert pushed.returncode == 0, pushed.stderr
    assert "/me/dcgan-digits/commit/" in pushed.stdout
    files = hub.files("me/dcgan-digits")
    assert {"model.safetensors", "config.json", "README.md", "samples.png"} <= set(files)
    assert "Bearer hf_test_token" in hub.state.auth  # the token reached the server the usual way
    meta = card_metadata(files["README.md"].decode())
    assert meta["library_name"] == "ganzoo" and meta["license"] == "mit"
    assert "dcgan" in meta["tags"] and not any(t.startswith("dataset:") for t in meta["tags"])  # digits is not a Hub dataset

    pulled = hub.run("pull", "me/dcgan-digits")
    assert pulled.returncode == 0, pulled.stderr
    folder = pulled.stdout.strip().splitlines()[-1]
    local = load_file(exports / "r0" / "export" / "model.safetensors")
    remote = load_file(f"{folder}/model.safetensors")
    assert local.keys() == remote.keys() and all((local[k] == remote[k]).all() for k in local)
    assert json.loads(open(f"{folder}/config.json").read()) == json.loads((exports / "r0" / "export" / "config.json").read_text())

    sampled = hub.run("sample", "hf-hub:me/dcgan-digits", "-n", "4", "-o", "grid.png")
    assert sampled.returncode == 0, sampled.stderr


def test_evaluated_export_carries_model_index_to_the_hub(hub, exports, tmp_path):
    import shutil

    shutil.copytree(exports / "r0" / "export", tmp_path / "e")
    assert hub.run("eval", "e", "--metrics", "fid-digitscnn-x5").returncode == 0
    assert hub.run("push", "e", "--repo", "me/evald").returncode == 0
    files = hub.files("me/evald")
    assert "eval.json" in files
    index = card_metadata(files["README.md"].decode())["model-index"][0]["results"][0]
    assert index["metrics"][0]["name"] == "fid-digitscnn-x5 fid"


def test_revisions_pin_exactly(hub, exports):
    assert hub.run("push", exports / "r0", "--repo", "me/m").returncode == 0
    first = hub.state.repos["me/m"].branches["main"]
    assert hub.run("push", exports / "r1", "--repo", "me/m").returncode == 0
    assert hub.state.repos["me/m"].branches["main"] != first
    assert hub.run("push", exports / "r0", "--repo", "me/m", "--revision", "experiment").returncode == 0

    def pulled_weights(spec):
        done = hub.run("pull", spec)
        assert done.returncode == 0, done.stderr
        return (f := done.stdout.strip().splitlines()[-1]) and open(f"{f}/model.safetensors", "rb").read()

    r0 = (exports / "r0" / "export" / "model.safetensors").read_bytes()
    r1 = (exports / "r1" / "export" / "model.safetensors").read_bytes()
    assert r0 != r1
    assert pulled_weights(f"me/m@{first}") == r0  # the pinned commit, after a newer one landed
    assert pulled_weights("me/m") == r1
    assert pulled_weights("me/m@experiment") == r0
    assert hub.files("me/m", "main")["model.safetensors"] == r1  # the branch push left main alone


@pytest.mark.parametrize("fault", [500, "drop"])
def test_a_failed_download_says_so_and_leaves_nothing_half_written(hub, exports, tmp_path, fault):
    assert hub.run("push", exports / "r0", "--repo", "me/f").returncode == 0
    hub.state.fail["resolve"] = fault
    failed = hub.run("pull", "me/f")
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert failed.stderr.strip().splitlines()[-1].startswith("ganzoo: error:") and "'me/f'" in failed.stderr
    cache = tmp_path / "hf" / "hub" / "models--me--f"
    assert not list(cache.glob("snapshots/*/*")) and not list(cache.glob("blobs/*"))
    offline = hub.run("sample", "hf-hub:me/f", "-o", "g.png", HF_HUB_OFFLINE="1")  # nothing usable was cached
    assert offline.returncode == 2 and "not in the Hugging Face cache" in offline.stderr
    hub.state.fail.clear()
    assert hub.run("pull", "me/f").returncode == 0


def test_offline_uses_the_cache_and_says_so_without_it(hub_subprocess, exports, tmp_path):
    hub = hub_subprocess
    assert hub.run("push", exports / "r0", "--repo", "me/o").returncode == 0
    assert hub.run("pull", "me/o").returncode == 0
    cached = hub.run("sample", "hf-hub:me/o", "-n", "4", "-o", "g.png", HF_HUB_OFFLINE="1")
    assert cached.returncode == 0, cached.stderr
    missing = hub.run("pull", "me/o", HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "empty"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        f"ganzoo: error: 'me/o' is not in the Hugging Face cache ({tmp_path / 'empty' / 'hub'}) and the Hub cannot be reached (offline)"
    )
    assert "no model repo 'me/nothing'" in hub.run("pull", "me/nothing").stderr
    assert "has no revision 'nope'" in hub.run("pull", "me/o@nope").stderr
    assert "is not a Hub model id" in hub.run("pull", "not-a-repo").stderr


def _put(hub, repo_id, files):
    repo = Repo(private=False)
    sha = "a" * 40
    repo.commits[sha] = files
    repo.branches["main"] = sha
    hub.state.repos[repo_id] = repo


def test_refuses_pickles_unknown_variants_and_mismatched_tensors(hub, exports):
    export = exports / "r0" / "export"
    config = json.loads((export / "config.json").read_text())
    weights = (export / "model.safetensors").read_bytes()

    _put(hub, "other/pickled", {"config.json": b"{}", "pytorch_model.bin": b"\x80\x04not loaded"})
    done = hub.run("pull", "other/pickled")
    assert done.returncode == 2 and "pickle-format weights (pytorch_model.bin)" in done.stderr and "never loads pickles" in done.stderr

    alien = {**config, "variant": "stylegan9", "plugin": {"distribution": "ganzoo-stylegan9", "version": "1.0"}}
    _put(hub, "other/alien", {"config.json": json.dumps(alien).encode(), "model.safetensors": weights})
    done = hub.run("sample", "hf-hub:other/alien", "-o", "g.png")
    assert done.returncode == 2 and "holds a model of variant 'stylegan9', which no installed plugin provides" in done.stderr
    assert "the distribution 'ganzoo-stylegan9' provides it" in done.stderr

    wider = {**config, "generator": {**config["generator"], "args": {**config["generator"]["args"], "width": 16}}}
    _put(hub, "other/wider", {"config.json": json.dumps(wider).encode(), "model.safetensors": weights})
    done = hub.run("pull", "other/wider")
    assert done.returncode == 2 and "do not match its config" in done.stderr and "has shape" in done.stderr
    assert load_bytes(weights)  # the served weights themselves were fine: the config was the problem


def test_a_card_the_user_wrote_on_the_hub_is_kept_unless_asked(hub, exports):
    _put(hub, "me/card", {"README.md": b"# My careful card\n"})
    done = hub.run("push", exports / "r0", "--repo", "me/card")
    assert done.returncode == 0 and "kept the README.md" in done.stderr
    assert hub.files("me/card")["README.md"] == b"# My careful card\n" and "model.safetensors" in hub.files("me/card")
    assert hub.run("push", exports / "r0", "--repo", "me/card", "--overwrite-card").returncode == 0
    assert b"library_name: ganzoo" in hub.files("me/card")["README.md"]


def test_push_refuses_a_folder_that_is_not_an_export(hub, tmp_path):
    (tmp_path / "junk").mkdir()
    done = hub.run("push", "junk", "--repo", "me/junk")
    assert done.returncode == 2 and "not a ganzoo export" in done.stderr and "me/junk" not in hub.state.repos


def test_create_gives_a_fresh_model_and_load_reads_a_run_directory(exports):
    import torch

    import ganzoo

    fresh = ganzoo.create("dcgan", g_width=8, d_width=8)
    images = fresh.sample(4, seed=0)
    assert images.shape == (4, 1, 32, 32) and 0 <= images.min() and images.max() <= 1
    assert torch.equal(ganzoo.create("dcgan", g_width=8, d_width=8).sample(4), images)  # seeded init
    trained = ganzoo.load(str(exports / "r0"))
    assert trained.name == "dcgan" and trained.info.training.steps == 1
    with pytest.raises(ganzoo.GanzooError, match="is not a Hub model id"):
        ganzoo.load("hf-hub:nope")
