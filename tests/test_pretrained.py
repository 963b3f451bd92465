"""The pretrained zoo: every built-in variant ships a model that loads offline, checked by sha256."""

import hashlib
import json
import shutil

import pytest
import torch

import ganzoo
from ganzoo.errors import ExportError, PluginError
from ganzoo._plugins import registry
from ganzoo.pretrained import Pretrained

EXPECTED = {
    "dcgan-digits", "gan-digits", "cgan-digits", "lsgan-digits", "wgan-gp-digits",
    "cyclegan-digits-typeset", "srgan-photos", "r3gan-digits", "gan-ring8",
    "dcgan-stacked-digits", "gan-grid25", "cyclegan-digits-m",
}


# Variants whose zoo model left the zoo for staying poor (benchmarks/_runs.py, LEFT_THE_ZOO; #32)
WITHOUT_A_MODEL = {"wgan"}


def test_every_builtin_variant_ships_a_pretrained_model():
    names = set(ganzoo.list_pretrained())
    assert EXPECTED <= names
    assert {registry().pretrained[n].variant for n in EXPECTED} == set(ganzoo.list_variants()) - WITHOUT_A_MODEL


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pretrained_entry_is_what_its_metadata_says(name):
    entry = registry().pretrained[name]
    weights = (entry.folder / "model.safetensors").read_bytes()
    assert hashlib.sha256(weights).hexdigest() == entry.sha256 and len(weights) == entry.file_size
    assert entry.file_size <= 2_000_000, f"{name} is {entry.file_size / 1e6:.2f} MB"
    assert entry.metrics and all("protocol" in r and r["values"] for r in entry.metrics.values())
    assert entry.command == f"python benchmarks/pretrained.py --only {name}"
    # each recorded result was measured under the protocol its metric id stands for today
    # (a protocol change renames the id and `benchmarks/pretrained.py --rescore` scores the zoo again)
    from ganzoo.truncation import protocol as sampler, split_name

    for name_recorded, result in entry.metrics.items():
        metric, q = split_name(name_recorded)  # METRIC+jbtQ: METRIC's protocol, sampled with truncation Q
        assert metric in registry().metrics, f"{name} records a retired metric {metric}"
        assert result["protocol"] == {**registry().metrics[metric].protocol, **(sampler(q) if q else {})}
    # `ganzoo list --pretrained` shows each telling number with its spread, never a bare value
    shown = entry.headline[1:] if entry.headline else (1,)
    assert entry.summary().count(" ± ") >= len(shown), entry.summary()
    model = ganzoo.load(name)
    assert model.name == entry.variant and list(model.variant.data.shape) == list(entry.resolution)
    c = entry.resolution[0]
    if model.variant.task == ganzoo.Task.UNPAIRED_TRANSLATION:
        out = model.translate(torch.rand(2, c, 32, 32))
    elif model.variant.task == ganzoo.Task.SUPER_RESOLUTION:
        out = model.upscale(torch.rand(1, c, 12, 10))
        assert out.shape == (1, c, 48, 40)
    else:
        out = model.sample(4, seed=0)
        assert torch.equal(out, ganzoo.load(name).sample(4, seed=0))
    if model.variant.data.kind == "points":
        assert out.shape == (4, 2) and torch.isfinite(out).all()  # points are unbounded
    else:
        assert out.min() >= 0 and out.max() <= 1


def test_sample_a_pretrained_model_offline_from_the_cli(cli, tmp_path):
    done = cli("sample", "dcgan-digits", "-n", "16", "-o", "grid.png", env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "grid.png").stat().st_size > 0
    listed = cli("list", "--pretrained")
    assert listed.returncode == 0 and all(n in listed.stdout for n in EXPECTED)
    rows = {line.split()[0]: line for line in listed.stdout.splitlines() if line.split()}
    # what a reader must see side by side: a translation's worse direction, a mixture's modes and
    # quality together, an FID with the real-vs-real floor it is read against, each with its spread
    assert "accuracy_a2b" in rows["cyclegan-digits-m"] and "accuracy_b2a" in rows["cyclegan-digits-m"]
    assert "modes 25 ± 0, high_quality_percent" in rows["gan-grid25"]
    assert "fid" in rows["dcgan-digits"] and "(real-vs-real" in rows["dcgan-digits"] and "±" in rows["dcgan-digits"]
    labelled = cli("sample", "cgan-digits", "-n", "10", "--label", "3", "-o", "threes.png")
    assert labelled.returncode == 0, labelled.stderr


def test_tampered_weights_are_refused(tmp_path, register_plugin):
    original = registry().pretrained["dcgan-digits"]
    folder = tmp_path / "copy"
    shutil.copytree(original.folder, folder)
    meta = json.loads((folder / "pretrained.json").read_text())
    meta["name"] = "dcgan-tampered"
    (folder / "pretrained.json").write_text(json.dumps(meta))
    weights = bytearray((folder / "model.safetensors").read_bytes())
    weights[-1] ^= 1
    (folder / "model.safetensors").write_bytes(bytes(weights))

    class Plugin:
        @ganzoo.hookimpl
        def register_pretrained(self, register):
            register(Pretrained.from_folder(folder))

    register_plugin(Plugin(), "tampered")
    with pytest.raises(ExportError, match="dcgan-tampered.*sha256"):
        ganzoo.load("dcgan-tampered")


def test_duplicate_pretrained_names_are_refused(register_plugin):
    original = registry().pretrained["dcgan-digits"]

    class Plugin:
        @ganzoo.hookimpl
        def register_pretrained(self, register):
            register(original)

    register_plugin(Plugin(), "dup")
    reg = registry()
    assert reg.pretrained_plugin["dcgan-digits"] != "dup"
    assert any(f.plugin == "dup" and "already registered" in f.error for f in reg.failures)


def test_unknown_source_is_one_clear_error():
    with pytest.raises(ExportError, match=r"'dcgan-nope' is not a folder, a pretrained model or a Hub id \(hf-hub:USER/NAME\); "
                       r"'dcgan' is a variant: its pretrained models are dcgan-digits, dcgan-stacked-digits"):
        ganzoo.load("dcgan-nope")
    with pytest.raises(ExportError, match=r"did you mean 'dcgan-digits'"):
        ganzoo.load("dcgan-digit")


MIXTURE_ENTRIES = sorted(n for n in EXPECTED if n.endswith(("-ring8", "-grid25")))


@pytest.mark.parametrize("name", MIXTURE_ENTRIES)
def test_shipped_mixture_models_rescore_to_their_recorded_numbers(name):
    """An independent scoring (numpy, written from PacGAN's text, not ganzoo's code) of the samples
    the protocol string names gives the numbers the zoo records: as trained, and for each result
    recorded with Jacobian-based truncation (METRIC+jbtQ), of Model.generate(..., truncation=Q)."""
    import numpy as np

    from ganzoo.truncation import split_name

    entry = registry().pretrained[name]
    model = ganzoo.load(name)
    if entry.dataset == "ring8":
        means, sigma = np.array([[np.cos(2 * np.pi * k / 8), np.sin(2 * np.pi * k / 8)] for k in range(8)]), 0.01
    else:
        means, sigma = np.array([[x, y] for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)], dtype=float), 0.05
    names = [m for m in entry.metrics if split_name(m)[0] == "modes-pacgan-n2500-x10"]
    assert "modes-pacgan-n2500-x10" in names
    for metric in names:
        recorded, q = entry.metrics[metric]["values"], split_name(metric)[1]
        modes, percent, share = [], [], []
        for d in range(10):
            points = model.generate(2500, seed=d, truncation=q).double().cpu().numpy()  # eval seed 0: seeds 1000 * 0 + d
            dist = np.linalg.norm(points[:, None, :] - means[None], axis=2)
            good = dist.min(1) <= 3 * sigma
            modes.append(len(set(dist.argmin(1)[good].tolist())))
            percent.append(100 * good.mean())
            share.append(np.bincount(dist.argmin(1)[good], minlength=len(means)).min() / (len(points) / len(means)))
        assert recorded["modes"] == pytest.approx(np.mean(modes)), metric
        # (float32 means in ganzoo, float64 here: a sample exactly on a 3-sigma border may fall either side)
        assert recorded["high_quality_percent"] == pytest.approx(np.mean(percent), abs=0.01), metric
        assert recorded["high_quality_percent_std"] == pytest.approx(np.std(percent, ddof=1), abs=0.01), metric
        if "min_mode_share" in recorded:  # entries scored since the key exists
            assert recorded["min_mode_share"] == pytest.approx(np.mean(share), abs=0.002), metric


def test_shipped_stacked_digits_model_rescores_to_its_recorded_numbers():
    """The stacked-digits numbers recomputed outside ganzoo's metric code: the shipped judge CNN
    labels each channel of the 26,000 samples the protocol names, numpy counts the triples and
    takes the KL to the data's triple histogram (PacGAN's protocol, from its text)."""
    import numpy as np

    from ganzoo.data import DataRequest, load_data
    from ganzoo.eval import digits_cnn

    entry = registry().pretrained["dcgan-stacked-digits"]
    recorded = entry.metrics["modes-stacked-digits-n26000"]["values"]
    x = ganzoo.load("dcgan-stacked-digits").generate(26000, seed=0)  # eval seed 0
    judge = digits_cnn.load().eval()
    with torch.no_grad():
        digits = np.stack([torch.cat([judge(x[i : i + 2000, c : c + 1]).argmax(1) for i in range(0, len(x), 2000)]).numpy()
                           for c in range(3)], axis=1)
    triples = digits @ np.array([100, 10, 1])
    data = load_data("stacked-digits", DataRequest(size=32), registry().datasets)
    q = np.bincount(data.y.numpy(), minlength=1000) / len(data.y)

    def modes_kl(t):
        p = np.bincount(t, minlength=1000) / len(t)
        return (p > 0).sum(), float(np.sum(p[p > 0] * np.log(p[p > 0] / q[p > 0])))

    modes, kl = modes_kl(triples)
    assert recorded["modes"] == modes
    assert recorded["kl"] == pytest.approx(kl, rel=1e-6)
    # the spread beside them: the protocol's 100 bootstrap resamples of the triples (indices as its text says)
    resamples = torch.randint(len(triples), (100, len(triples)), generator=torch.Generator().manual_seed(0)).numpy()
    boot = np.array([modes_kl(triples[i]) for i in resamples])
    assert recorded["modes_std"] == pytest.approx(boot[:, 0].std(ddof=1), abs=1e-9)
    assert recorded["kl_std"] == pytest.approx(boot[:, 1].std(ddof=1), rel=1e-6)
    # kl_digits: each channel's digit frequencies against the data's, summed over the channels
    truth = np.stack([data.y.numpy() // 100, data.y.numpy() // 10 % 10, data.y.numpy() % 10], axis=1)
    kl_digits = 0.0
    for c in range(3):
        pc, qc = (np.bincount(v[:, c], minlength=10) / len(v) for v in (digits, truth))
        kl_digits += float(np.sum(pc[pc > 0] * np.log(pc[pc > 0] / qc[pc > 0])))
    assert recorded["kl_digits"] == pytest.approx(kl_digits, rel=1e-6)
    # kl_floor: the same judge on 26,000 fresh real triples, drawn as the dataset draws its own with
    # seed 2019 + S, none of them among the 50,000 behind the reference histogram
    from ganzoo.data.synthetic import stacked_digits

    fresh = stacked_digits(DataRequest(size=32), n=26000, seed=2019)
    real = fresh.x.float() / 127.5 - 1
    with torch.no_grad():
        real_digits = np.stack([torch.cat([judge(real[i : i + 2000, c : c + 1]).argmax(1) for i in range(0, len(real), 2000)]).numpy()
                                for c in range(3)], axis=1)
    floor = modes_kl(real_digits @ np.array([100, 10, 1]))[1]
    assert recorded["kl_floor"] == pytest.approx(floor, rel=1e-6)
    assert 0 < recorded["kl_floor"] < recorded["kl"]  # the judge's own errors and the finite count cost less than the model's
    # a floor taken from the reference's own images shares its counting noise: it comes out lower
    own = data.x[torch.randperm(len(data.x), generator=torch.Generator().manual_seed(0))[:26000]].float() / 127.5 - 1
    with torch.no_grad():
        own_digits = np.stack([torch.cat([judge(own[i : i + 2000, c : c + 1]).argmax(1) for i in range(0, len(own), 2000)]).numpy()
                               for c in range(3)], axis=1)
    assert modes_kl(own_digits @ np.array([100, 10, 1]))[1] < 0.6 * floor


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_zoo_cards_are_hub_native(name):
    """model-index holds only the model's own measurements, each with its protocol id; tags and a
    datasets key only for Hub datasets; no image pipeline for points. huggingface_hub parses it."""
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import model_index_to_eval_results

    from ganzoo.export.card import HUB_DATASETS, _measured

    entry = ganzoo.load(name)
    card = ModelCard((entry.path / "README.md").read_text())
    data = card.data.to_dict()
    _, results = model_index_to_eval_results(data["model-index"])
    assert results and all(_measured(r.metric_type, r.metric_value) and r.metric_config for r in results)
    keys = {r.metric_type for r in results}
    assert not any(k.endswith(("_most_often", "_real_floor", "_std")) or k in ("images", "draws") for k in keys), keys
    assert all(not t.startswith("dataset:") for t in data["tags"]) and "datasets" not in data  # none of the zoo's data is on the Hub
    assert entry.dataset not in HUB_DATASETS
    if entry.data.kind == "points":
        assert "pipeline_tag" not in data and "2d-points" in data["tags"]
    else:
        assert data["pipeline_tag"] in ("unconditional-image-generation", "image-to-image")


def test_a_card_links_a_dataset_only_when_it_is_on_the_hub():
    import dataclasses

    from huggingface_hub import ModelCard

    from ganzoo.export.card import model_card

    info = ganzoo.load("dcgan-digits").info
    on_hub = dataclasses.replace(info, training=dataclasses.replace(info.training, dataset="mnist"))
    data = ModelCard(model_card(on_hub, None, has_grid=False)).data.to_dict()
    assert data["datasets"] == ["ylecun/mnist"] and "dataset:ylecun/mnist" in data["tags"]
