"""The evaluation harness: metric math on hand-computed cases, the shipped digits CNN, `ganzoo eval`."""

import json
import math

import pytest
import torch

from ganzoo._plugins import registry
from ganzoo import DataRequest
from ganzoo.data import load_data
from ganzoo.data.synthetic import ring8_means
from ganzoo.eval import digits_cnn
from ganzoo.eval import math as M


def gaussian(n, d, mean=0.0, std=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) * std + mean


def test_fid_of_identical_gaussians_is_about_zero_and_of_shifted_ones_the_closed_form():
    a, b = gaussian(50_000, 4, seed=0), gaussian(50_000, 4, seed=1)
    assert M.fid(a, b) < 0.01
    # N(0, I) vs N(m, 4I) in 4 dims, m = (1, 1, 1, 1): |m|^2 + tr(I + 4I - 2 (4I)^(1/2)) = 4 + 4 * (1 - 2)^2
    shifted = gaussian(50_000, 4, mean=1.0, std=2.0, seed=2)
    assert M.fid(a, shifted) == pytest.approx(4 * 1.0 + 4 * 1.0, rel=0.03)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    a, b = gaussian(2000, 8, seed=0), gaussian(2000, 8, seed=1)
    same, _ = M.kid(a, b, subsets=20)
    apart, _ = M.kid(a, gaussian(2000, 8, mean=1.0, seed=2), subsets=20)
    assert abs(same) < 0.01 and apart > 10 * max(abs(same), 1e-4)


def test_kid_agrees_with_torch_fidelity_subset_for_subset():
    from torch_fidelity.metric_kid import kid_features_to_metric

    a, b = gaussian(300, 16, seed=3), gaussian(250, 16, mean=0.3, std=1.2, seed=4)
    ref = kid_features_to_metric(a, b, kid_subsets=23, kid_subset_size=120, rng_seed=7, verbose=False)
    mean, std = M.kid(a, b, subsets=23, subset_size=120, seed=7)
    assert mean == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-9)
    assert std == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-9)


def test_precision_recall_on_constructed_clouds():
    g = torch.Generator().manual_seed(0)
    real = torch.rand(4000, 2, generator=g)
    half = torch.rand(4000, 2, generator=g) * torch.tensor([0.5, 1.0])  # covers the left half only
    precision, recall = M.precision_recall(half, real)
    assert precision > 0.95 and 0.35 < recall < 0.65
    outside = torch.rand(4000, 2, generator=g) + 5.0
    assert M.precision_recall(outside, real) == (0.0, 0.0)


def test_inception_score_of_confident_even_and_collapsed_classifiers():
    even = torch.eye(10).repeat(500, 1) * 50
    assert M.inception_score(even, splits=1)[0] == pytest.approx(10.0, rel=1e-6)
    assert M.inception_score(even)[0] == pytest.approx(10.0, rel=0.02)  # 10 random splits: nearly balanced
    collapsed = torch.zeros(5000, 10)
    collapsed[:, 3] = 50
    assert M.inception_score(collapsed)[0] == pytest.approx(1.0, abs=1e-3)


def test_mode_coverage_on_constructed_points():
    means = ring8_means()
    hit = means[:6].repeat(10, 1)  # 60 points exactly on 6 of the 8 modes
    between = torch.tensor([[0.0, 0.0]] * 20)  # far from every mode (distance 1 > 3 sigma)
    out = M.mode_coverage(torch.cat([hit, between]), means, sigma=0.01)
    assert out["modes"] == 6
    assert out["high_quality_percent"] == pytest.approx(75.0)
    assert out["reverse_kl"] == pytest.approx(math.log(8 / 6))
    assert out["min_mode_share"] == 0  # two modes have no point
    uneven = torch.cat([means.repeat(10, 1), means[:1].repeat(6, 1), between[:4]])  # 90 points: mode 0 holds 16, the rest 10
    assert M.mode_coverage(uneven, means, sigma=0.01)["min_mode_share"] == pytest.approx(10 / (90 / 8))


def test_histogram_kl_by_hand():
    assert M.histogram_kl(torch.tensor([1.0, 1.0]), torch.tensor([0.5, 0.5])) == pytest.approx(0.0)
    assert M.histogram_kl(torch.tensor([3.0, 1.0]), torch.tensor([0.5, 0.5])) == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5))


@pytest.mark.parametrize("weights", [digits_cnn.WEIGHTS, digits_cnn.LENET_WEIGHTS])
def test_both_shipped_digit_judges_classify_the_held_out_digits(weights):
    net = digits_cnn.load(weights=weights)
    d = load_data("digits", DataRequest(size=32, channels=1), registry().datasets)
    _, test_idx = digits_cnn.held_out_split(len(d))
    with torch.no_grad():
        accuracy = (net(d.as_model_input(d.x[test_idx])).argmax(1) == d.y[test_idx]).float().mean().item()
    assert accuracy >= 0.97
    assert digits_cnn.metadata(weights)["held_out_accuracy"] == pytest.approx(accuracy, abs=1e-4)


def test_the_second_judge_is_another_network_not_a_copy():
    """Another architecture, another seed, another feature space: agreement between the two is evidence."""
    first, second = digits_cnn.load(), digits_cnn.load(weights=digits_cnn.LENET_WEIGHTS)
    assert type(first) is not type(second) and first.num_features != second.num_features
    assert digits_cnn.metadata(digits_cnn.LENET_WEIGHTS)["recipe"]["seed"] != digits_cnn.metadata()["recipe"]["seed"]


def test_legibility_reads_real_digits_as_legible_and_noise_as_not(tmp_path, monkeypatch):
    """The share a judge reads with >= 90 % confidence: near 1 for a "model" that returns real
    digits, near 0 for one that returns noise, and the same share on real data beside it."""
    import ganzoo
    from ganzoo.eval import EvalContext, evaluate
    from ganzoo.eval.builtin import _legibility

    from ganzoo.eval import builtin

    monkeypatch.setattr(builtin, "LEGIBILITY_N", 1000)  # the protocol's 10,000 readings, fewer: the same code path
    result = ganzoo.train("dcgan", out=str(tmp_path / "r"), steps=1, batch_size=8, g_width=8, d_width=8, sample_every=0)
    d = load_data("digits", DataRequest(size=32, channels=1), registry().datasets)
    real = d.as_model_input(d.x).float()
    model = ganzoo.load(result.export_dir)
    # (a softmax is overconfident off its data: the digits CNN reads 8 % of uniform noise at >= 90 %, the LeNet none)
    for fake, expected in ((lambda n: real[torch.arange(n) % len(real)], 0.95), (lambda n: torch.rand(n, 1, 32, 32) * 2 - 1, 0.2)):
        monkeypatch.setattr(EvalContext, "samples", lambda self, n, labels=None, seed=None, f=fake: f(n))
        for logits in ("logits", "lenet-logits"):
            values = _legibility(EvalContext(model, d), logits)
            assert values["legible_real"] > 0.95 and values["readings_real"] == 1000 and values["readings"] == 1000
            assert (values["legible"] > expected) if expected > 0.5 else (values["legible"] < expected)
    monkeypatch.undo()
    monkeypatch.setattr(builtin, "LEGIBILITY_N", 1000)
    doc = evaluate(result.run_dir, registry(), ["legibility-digitscnn-c90-n10000", "legibility-digitslenet-c90-n10000"], write=False)
    assert {"legible", "legible_std", "legible_real", "legible_vs_real"} <= set(doc["metrics"]["legibility-digitslenet-c90-n10000"]["values"])


def test_ganzoo_eval_through_the_cli(cli, tmp_path):
    fast = ["--batch-size", "16", "--set", "g_width=8", "--set", "d_width=8"]
    assert cli("run", "dcgan", "--steps", "2", *fast, "--out", "r").returncode == 0
    saved = tmp_path / "r" / "export" / "eval.json"
    # PATH after the metrics' names is still PATH
    done = cli("eval", "--metrics", "fid-digitscnn-x5", "pr-digitscnn-x5-k3", "r", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    fid = doc["metrics"]["fid-digitscnn-x5"]["values"]
    assert fid["fid"] > fid["fid_real_floor"] >= 0 and fid["n_generated"] == fid["n_real"] == 898
    assert doc["model"]["variant"] == "dcgan" and len(doc["model"]["weights_sha256"]) == 64
    assert json.loads(saved.read_text()) == doc
    card = (tmp_path / "r" / "export" / "README.md").read_text()
    assert "model-index:" in card and "fid-digitscnn-x5 fid" in card and "## Evaluation" in card
    # another metric is added to what is recorded; one evaluated again replaces only itself
    table = cli("eval", "r/export", "--metrics", "is-digitscnn-n5000")
    assert table.returncode == 0 and "is_mean" in table.stdout
    again = cli("eval", "r", "--metrics", "fid-digitscnn-x5", "--seed", "3")
    assert again.returncode == 0, again.stderr
    merged = json.loads(saved.read_text())["metrics"]
    assert sorted(merged) == ["fid-digitscnn-x5", "is-digitscnn-n5000", "pr-digitscnn-x5-k3"]
    assert merged["fid-digitscnn-x5"]["seed"] == 3 and merged["pr-digitscnn-x5-k3"] == doc["metrics"]["pr-digitscnn-x5-k3"]
    card = (tmp_path / "r" / "export" / "README.md").read_text()
    assert all(f"| {m} " in card for m in merged)
    before = saved.read_text()
    bad = cli("eval", "r", "--metrics", "modes-pacgan-n2500-x10")
    assert bad.returncode == 2 and "does not apply" in bad.stderr
    unknown = cli("eval", "r", "--metrics", "fid")
    assert unknown.returncode == 2 and "unknown metric 'fid'" in unknown.stderr
    assert saved.read_text() == before  # refusals write nothing
    # a write that fails keeps the results: they were printed first
    saved.unlink()
    saved.mkdir()
    blocked = cli("eval", "r", "--metrics", "is-digitscnn-n5000")
    assert blocked.returncode == 2 and "is_mean" in blocked.stdout, blocked.stderr
    assert "the results above were not saved: cannot write" in blocked.stderr and "Traceback" not in blocked.stderr


def test_evaluating_a_pretrained_model_writes_to_the_cache_not_the_package(cli, tmp_path):
    import hashlib

    folder = registry().pretrained["dcgan-digits"].folder
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}
    done = cli("eval", "dcgan-digits", "--metrics", "is-digitscnn-n5000", env={"GANZOO_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    written = tmp_path / "cache" / "evals" / "dcgan-digits" / "eval.json"
    assert f"wrote {written}" in done.stdout and "is-digitscnn-n5000" in json.loads(written.read_text())["metrics"]
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()} == before
    out = cli("eval", "dcgan-digits", "--metrics", "is-digitscnn-n5000", "--out", "mine")
    assert out.returncode == 0 and (tmp_path / "mine" / "eval.json").is_file()


def test_mode_metric_on_a_ring_model(tmp_path):
    import ganzoo
    from ganzoo.eval import evaluate

    result = ganzoo.train("gan", data="ring8", out=str(tmp_path / "g"), steps=2, batch_size=50)
    doc = evaluate(result.run_dir, registry(), ["modes-pacgan-n2500-x10"])
    values = doc["metrics"]["modes-pacgan-n2500-x10"]["values"]
    assert 0 <= values["modes"] <= 8 and 0 <= values["high_quality_percent"] <= 100


def test_mode_metric_is_the_mean_of_draws_anyone_can_regenerate(tmp_path):
    """The protocol string's recipe, followed by hand, gives the recorded numbers: draw d is
    Model.generate(2500, seed=1000*S + d), scored by the PacGAN rule."""
    import statistics

    import ganzoo
    from ganzoo.eval import evaluate

    result = ganzoo.train("gan", data="ring8", out=str(tmp_path / "g"), steps=30, batch_size=50, g_hidden=(32,), d_hidden=(32,))
    doc = evaluate(result.run_dir, registry(), ["modes-pacgan-n2500-x10"], seed=2, write=False)
    got = doc["metrics"]["modes-pacgan-n2500-x10"]
    assert "Model.generate(2500, seed=1000*S + d)" in got["protocol"]["n"]
    model = ganzoo.load(result.export_dir)
    draws = [M.mode_coverage(model.generate(2500, seed=2000 + d), ring8_means(), 0.01) for d in range(10)]
    for key in ("modes", "high_quality_percent", "reverse_kl", "min_mode_share"):
        mine = [d[key] for d in draws if math.isfinite(d[key])]
        if len(mine) == 10:
            assert got["values"][key] == pytest.approx(statistics.mean(mine), rel=1e-9)
            assert got["values"][f"{key}_std"] == pytest.approx(statistics.stdev(mine), rel=1e-9, abs=1e-12)
    assert got["values"]["draws"] == 10 and got["values"]["high_quality_percent_std"] > 0  # draws differ


def test_feature_metrics_are_means_over_draws_recomputable_from_the_protocol(tmp_path, monkeypatch):
    """FID, its real-vs-real floor, KID and precision/recall: each draw's sets rebuilt from the
    protocol text (halving seeded 1000*S + d, Model.generate(n, seed=1000*S + d)) give the
    recorded mean and spread; the floor uses as many samples as the model's FID; KID's subsets
    are smaller than the sets, so its spread is not zero by construction."""
    import statistics

    import ganzoo
    from ganzoo.eval import EvalContext, builtin, evaluate

    # n = min(N // 2, MAX_N): a cap of 300 (the protocol's is 10,000, above the digits' 898) makes
    # the cap bind, and costs a third of the default's time; the full n runs in test_ganzoo_eval_through_the_cli.
    monkeypatch.setattr(builtin, "MAX_N", 300)
    whole = EvalContext.real

    def rows_only(self, idx=None):  # a prepared dataset of any size is read by the rows a draw uses, never whole
        assert idx is not None, "the reference set was read whole"
        return whole(self, idx)

    monkeypatch.setattr(EvalContext, "real", rows_only)
    result = ganzoo.train("dcgan", out=str(tmp_path / "r"), steps=2, batch_size=16, g_width=8, d_width=8, sample_every=0)
    metrics = ["fid-digitscnn-x5", "kid-digitscnn-x5", "pr-digitscnn-x5-k3"]
    doc = evaluate(result.run_dir, registry(), metrics, seed=1, write=False)["metrics"]
    model = ganzoo.load(result.export_dir)
    data = load_data("digits", DataRequest(size=32, channels=1), registry().datasets)
    real, cnn = data.as_model_input(data.x), digits_cnn.load()
    n = min(len(real) // 2, 300)
    fids, floors, precisions = [], [], []
    torch.set_grad_enabled(False)  # (restored below)
    for d in range(5):
        perm = torch.randperm(len(real), generator=torch.Generator().manual_seed(1000 + d))
        a, b = cnn.features(real[perm[:n]]), cnn.features(real[perm[n : 2 * n]])
        gen = cnn.features(model.generate(n, seed=1000 + d).float())
        fids.append(M.fid(gen, a))
        floors.append(M.fid(b, a))
        precisions.append(M.precision_recall(gen, a)[0])
    torch.set_grad_enabled(True)
    fid = doc["fid-digitscnn-x5"]["values"]
    assert fid["n_generated"] == fid["n_real"] == n and fid["draws"] == 5
    assert fid["fid"] == pytest.approx(statistics.mean(fids), rel=1e-5)
    assert fid["fid_std"] == pytest.approx(statistics.stdev(fids), rel=1e-5)
    assert fid["fid_real_floor"] == pytest.approx(statistics.mean(floors), rel=1e-5) and fid["fid_real_floor_std"] > 0
    assert doc["pr-digitscnn-x5-k3"]["values"]["precision"] == pytest.approx(statistics.mean(precisions), abs=1e-3)
    kid = doc["kid-digitscnn-x5"]["values"]
    assert kid["kid_subset_size"] == n // 2 < n and kid["kid_subset_std"] > 0 and kid["kid_std"] > 0
    assert "min(1000, n // 2)" in doc["kid-digitscnn-x5"]["protocol"]["kid"]


def test_a_card_the_user_wrote_is_not_rewritten(tmp_path):
    import ganzoo
    from ganzoo.export import refresh_card

    result = ganzoo.train("dcgan", out=str(tmp_path / "r"), steps=1, batch_size=16, g_width=8, d_width=8)
    card = result.export_dir / "README.md"
    card.write_text("# my own card\n")
    assert refresh_card(result.export_dir, ganzoo.load(result.export_dir), {"seed": 0, "ganzoo_version": "x", "metrics": {}}) is False
    assert card.read_text() == "# my own card\n"


def test_conditional_metrics_on_a_cgan(tmp_path):
    import ganzoo
    from ganzoo.eval import evaluate

    result = ganzoo.train("cgan", out=str(tmp_path / "c"), steps=2, batch_size=20)
    doc = evaluate(result.run_dir, registry(), ["label-accuracy-digitscnn-n10000", "fid-per-class-digitscnn"])
    acc = doc["metrics"]["label-accuracy-digitscnn-n10000"]["values"]
    assert 0 <= acc["accuracy"] <= 1 and len([k for k in acc if k.startswith("accuracy_class_")]) == 10
    # the spread shown beside it is the bootstrap standard error of 10,000 right-or-wrong judgements
    binomial = (acc["accuracy"] * (1 - acc["accuracy"]) / 10_000) ** 0.5
    assert acc["accuracy_std"] == pytest.approx(binomial, rel=0.25, abs=1e-12)
    fids = doc["metrics"]["fid-per-class-digitscnn"]["values"]
    assert len(fids) == 11 and all(v >= 0 for v in fids.values())


def test_trainer_evaluates_keeps_the_best_checkpoint_and_trains_the_same(tmp_path):
    from ganzoo.training import prepare
    from ganzoo.training.checkpoint import read_checkpoint

    fast = {"batch_size": 16, "g_width": 8, "d_width": 8, "steps": 4, "log_every": 1}
    plain = prepare(registry(), "dcgan", settings=fast, out=tmp_path / "plain", progress=False)
    plain.fit()
    evald = prepare(registry(), "dcgan", out=tmp_path / "eval", progress=False, settings={
        **fast, "eval_every": 2, "eval_metrics": ("fid-digitscnn-x5",), "best_metric": "fid-digitscnn-x5:fid",
    })
    evald.fit()
    rows = [json.loads(l) for l in (tmp_path / "eval" / "metrics.jsonl").read_text().splitlines()]
    fids = {r["step"]: r["eval/fid-digitscnn-x5/fid"] for r in rows if "eval/fid-digitscnn-x5/fid" in r}
    assert sorted(fids) == [2, 4]
    _, meta = read_checkpoint(tmp_path / "eval" / "checkpoints" / "best.safetensors")
    assert meta["best"]["fid-digitscnn-x5:fid"] == min(fids.values())
    assert meta["step"] == min(fids, key=fids.get)
    # evaluating never perturbs training: same weights as the run without evaluation
    for name, net in plain.variant.networks().items():
        other = evald.variant.networks()[name].state_dict()
        assert all(torch.equal(v, other[k]) for k, v in net.state_dict().items())


def test_user_supplied_feature_extractor(cli, tmp_path):
    import numpy as np
    from PIL import Image

    (tmp_path / "myfeatures.py").write_text(  # in the current directory, found as `python -m` would find it
        "import torch\n"
        "def pooled():\n"
        "    return torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten())\n"
    )
    (tmp_path / "mine").mkdir()
    for i in range(8):
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(tmp_path / "mine" / f"{i}.png")
    fast = ["--batch-size", "4", "--set", "g_width=8", "--set", "d_width=8", "--set", "sample_every=0"]
    assert cli("run", "dcgan", "--data", "mine", "--steps", "1", *fast, "--out", "r").returncode == 0
    nothing = cli("eval", "r")  # a model of the user's own images: no built-in default metric judges them
    assert nothing.returncode == 2 and "--features MODULE:CALLABLE" in nothing.stderr and "fid-inception-x5" in nothing.stderr
    assert not (tmp_path / "r" / "export" / "eval.json").exists()
    done = cli("eval", "r", "--features", "myfeatures:pooled", "--metrics", "fid-userfeatures-x5", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)["metrics"]["fid-userfeatures-x5"]
    assert result["protocol"]["features"] == "myfeatures:pooled"
    assert result["values"]["fid"] > 0 and result["values"]["n_generated"] == result["values"]["n_real"] == 4  # halves of 8
    assert result["values"]["fid_std"] >= 0 and result["values"]["fid_real_floor_std"] >= 0
    missing = cli("eval", "r", "--metrics", "fid-userfeatures-x5")
    assert missing.returncode == 2 and "does not apply" in missing.stderr
    bad = cli("eval", "r", "--features", "nosuchmodule:f")
    assert bad.returncode == 2 and "cannot load feature extractor 'nosuchmodule:f'" in bad.stderr