"""CycleGAN and SRGAN: their losses, the history buffer, the datasets, PSNR/SSIM, and the CLI."""

import json
import math

import pytest
import torch
from PIL import Image

from ganzoo._plugins import registry
from ganzoo import DataRequest
from ganzoo.data import load_data
from ganzoo.errors import DataError
from ganzoo.eval import sr
from ganzoo.losses import HistoryBuffer, cycle_consistency, identity

FAST_CYCLE = ["--batch-size", "4", "--set", "g_width=8", "--set", "n_blocks=1", "--set", "d_width=8"]
FAST_SR = ["--batch-size", "4", "--set", "hr_size=32", "--set", "n_blocks=1", "--set", "g_width=8", "--set", "d_width=8",
           "--set", "pretrain_steps=1"]


def test_cycle_and_identity_losses_by_hand():
    x = torch.zeros(2, 1, 2, 2)
    y = torch.tensor([1.0, -1.0, 0.5, 0.0]).view(1, 1, 2, 2).expand(2, 1, 2, 2)
    assert cycle_consistency(x, y).item() == pytest.approx((1 + 1 + 0.5 + 0) / 4)
    assert identity(y, y).item() == 0.0 and identity(x, y).item() == pytest.approx(0.625)


def test_history_buffer_fills_then_mixes_old_and_new_fakes():
    torch.manual_seed(0)
    buf = HistoryBuffer(capacity=4)
    first = torch.arange(4.0).view(4, 1)
    assert torch.equal(buf.query(first), first)  # while filling, D sees the new fakes
    seen = set(first.flatten().tolist())
    swapped = 0
    for k in range(1, 20):
        new = torch.full((4, 1), 10.0 * k) + torch.arange(4.0).view(4, 1)
        out = buf.query(new)
        for v, n in zip(out.flatten().tolist(), new.flatten().tolist()):
            assert v == n or v in seen  # every output is the new fake or an image stored before it
            swapped += v != n
            seen.add(n)
    assert 0.3 < swapped / (19 * 4) < 0.7  # about half are swapped (p = 1/2)
    state = buf.state("h")
    other = HistoryBuffer(capacity=4)
    other.load_state(state, "h")
    assert other.count == 4 and torch.equal(other.images, buf.images)


def test_luma_psnr_and_ssim_by_hand():
    white, black = torch.full((3, 2, 2), 255, dtype=torch.uint8), torch.zeros(3, 2, 2, dtype=torch.uint8)
    assert sr.luma(white).flatten().tolist() == pytest.approx([235.0] * 4)
    assert sr.luma(black).flatten().tolist() == pytest.approx([16.0] * 4)
    g = torch.Generator().manual_seed(0)
    ref = torch.randint(20, 200, (3, 40, 40), generator=g, dtype=torch.uint8)
    shifted = ref + 10  # every RGB value +10 -> Y + 10 * 219 / 255 everywhere
    psnr, ssim = sr.psnr_ssim_y(shifted, ref, border=4)
    assert psnr == pytest.approx(20 * math.log10(255 / (10 * 219 / 255)), abs=1e-6)
    assert sr.psnr_ssim_y(ref, ref, border=4)[1] == pytest.approx(1.0)
    assert 0 < ssim < 1


def test_digits_typeset_is_two_unpaired_labelled_domains_and_the_same_everywhere():
    d = load_data("digits-typeset", DataRequest(size=32, domains=2), registry().datasets)
    assert d.info.domains == 2 and d.x.shape[1:] == d.x_b.shape[1:] == (1, 32, 32)
    assert len(d.x) == 1797 and len(d.x_b) == 2000 and set(d.y_b.tolist()) == set(range(10))
    again = load_data("digits-typeset", DataRequest(size=32, domains=2), registry().datasets)
    assert torch.equal(again.x_b, d.x_b)  # rendered from fonts that ship in packages, with a fixed seed
    with pytest.raises(DataError, match="has 2 image domain"):
        load_data("digits-typeset", DataRequest(size=32), registry().datasets)
    # Each typeset glyph is scaled to the frame as the handwritten digits were: the longer side of
    # its bounding box spans 75-100 % of the 32 pixels (rotation and shift move it a little).
    ink = d.x_b[:, 0] > 64
    rows, cols = ink.any(2), ink.any(1)
    def span(mask):
        idx = torch.arange(32).expand_as(mask)
        return idx.masked_fill(~mask, -1).amax(1) - idx.masked_fill(~mask, 99).amin(1) + 1
    longer = torch.maximum(span(rows), span(cols)).float()
    assert longer.min() >= 0.6 * 32 and longer.median() >= 0.8 * 32


def test_digits_m_blends_each_digit_with_a_photo_crop_and_keeps_its_shape():
    from ganzoo.data import digits_m
    from ganzoo.data.sources import load_digits

    d = load_data("digits-m", DataRequest(size=32, domains=2), registry().datasets)
    assert d.info.domains == 2 and d.x.shape == d.x_b.shape == (1797, 3, 32, 32) and torch.equal(d.y, d.y_b)
    again = load_data("digits-m", DataRequest(size=32, domains=2), registry().datasets)
    assert torch.equal(again.x_b, d.x_b)  # bundled photos, fixed seed: the same dataset everywhere
    # MNIST-M's rule, |crop - digit| per channel: where a digit is blank the pixel is the photo's,
    # where it is full ink the photo inverted; so the digit is recoverable from B and its crop.
    digits = load_digits(DataRequest(size=32, channels=1)).x
    assert torch.equal(d.x[:, :1], digits) and torch.equal(d.x[:, 1], d.x[:, 0])  # A: the digits, grey repeated to RGB
    g = torch.Generator().manual_seed(digits_m.SEED)
    which = torch.randint(0, len(digits_m._photos()), (len(digits),), generator=g)
    corner = torch.rand(len(digits), 2, generator=g)
    photo = digits_m._photos()[int(which[5])]
    top, left = int(corner[5, 0] * (photo.shape[1] - 31)), int(corner[5, 1] * (photo.shape[2] - 31))
    crop = photo[:, top : top + 32, left : left + 32].short()
    assert torch.equal(d.x_b[5].short(), (crop - digits[5].short()).abs())
    grey = load_data("digits-m", DataRequest(size=16, channels=1, domains=2), registry().datasets)
    assert grey.x.shape == grey.x_b.shape == (1797, 1, 16, 16)


def test_unpaired_folder_layout_and_its_errors(tmp_path):
    for domain, colour in (("trainA", 40), ("trainB", 200)):
        (tmp_path / "pair" / domain).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (20, 16), (colour + i, 0, 0)).save(tmp_path / "pair" / domain / f"{i}.png")
    d = load_data(str(tmp_path / "pair"), DataRequest(size=16, domains=2), registry().datasets)
    assert d.x.shape == (3, 3, 16, 16) and d.x_b.shape == (3, 3, 16, 16) and d.x[0, 0].float().mean() < d.x_b[0, 0].float().mean()
    (tmp_path / "half" / "trainA").mkdir(parents=True)
    with pytest.raises(DataError, match="needs trainA/ and trainB/.*missing trainB"):
        load_data(str(tmp_path / "half"), DataRequest(size=16, domains=2), registry().datasets)


def test_photos_hold_out_whole_images_and_crop_the_rest():
    from ganzoo.data import photos

    assert not set(photos.HELD_OUT) & set(photos.TRAIN)
    d = load_data("photos", DataRequest(size=96, crop=True), registry().datasets)
    assert d.x.shape == (photos.CROPS, 3, 96, 96) and d.x.dtype == torch.uint8
    assert len(d.held_out) == 3 and all(min(im.shape[1:]) > 96 for im in d.held_out)
    assert torch.equal(load_data("photos", DataRequest(size=96, crop=True), registry().datasets).x[:50], d.x[:50])


@pytest.fixture(scope="module")
def cycle_run(tmp_path_factory):
    from conftest import run_main as run_cli  # in-process: what is tested is the run's output

    root = tmp_path_factory.mktemp("cycle")
    done = run_cli("run", "cyclegan", "--steps", "2", *FAST_CYCLE, "--out", "c", cwd=root)
    assert done.returncode == 0, done.stderr
    return root


def test_digits_m_translation_is_judged_by_a_colour_judge_per_domain(tmp_path):
    import ganzoo
    from ganzoo.eval import evaluate

    result = ganzoo.train("cyclegan", data="digits-m", out=str(tmp_path / "c"), steps=1, batch_size=4, g_width=8, n_blocks=1,
                          d_width=8, sample_every=0)
    from ganzoo.errors import GanzooError

    with pytest.raises(GanzooError, match="does not apply"):  # the typeset judges are not digits-m's
        evaluate(result.run_dir, registry(), ["label-preservation-digits-typeset"], write=False)
    doc = evaluate(result.run_dir, registry(), ["label-preservation-digits-m"], write=False)["metrics"]
    labels = doc["label-preservation-digits-m"]["values"]
    assert labels["judge_accuracy_a"] > 0.97 and labels["judge_accuracy_b"] > 0.9  # each judge knows its own domain
    assert 0 <= labels["accuracy_a2b"] <= 1 and "restyled_a2b" not in labels
    import math

    from ganzoo.data import DataRequest, load_data

    data = load_data("digits-m", DataRequest(size=32, channels=3, domains=2), registry().datasets)
    for d, n in (("a2b", len(data.y)), ("b2a", len(data.y_b))):  # the spread is the bootstrap standard error over the images
        p = labels[f"accuracy_{d}"]
        assert labels[f"accuracy_{d}_std"] == pytest.approx(math.sqrt(p * (1 - p) / n), rel=0.25, abs=1e-12)


def test_translate_cli_and_translation_metrics(cycle_run, cli):
    Image.new("L", (30, 22), 128).save(cycle_run / "in.png")  # not a multiple of 4: padded and cropped back
    for direction in ("a2b", "b2a"):
        done = cli("translate", cycle_run / "c", cycle_run / "in.png", "--direction", direction, "-o", cycle_run / f"{direction}.png")
        assert done.returncode == 0, done.stderr
        with Image.open(cycle_run / f"{direction}.png") as im:
            assert im.size == (30, 22) and im.mode == "L"
    done = cli("eval", cycle_run / "c", "--json")
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)["metrics"]
    labels = metrics["label-preservation-digits-typeset"]["values"]
    assert 0 <= labels["accuracy_a2b"] <= 1 and 0 <= labels["accuracy_b2a"] <= 1
    assert labels["judge_accuracy_a"] > 0.97 and labels["judge_accuracy_b"] > 0.97  # the judges know their domains
    # Doing nothing, or restyling without moving a stroke, scores well below the judges' ceiling:
    # the bar a translation must clear, and the gap that only redrawn shapes close.
    for key in ("untranslated_a2b", "untranslated_b2a", "restyled_a2b", "restyled_b2a"):
        assert 0.5 < labels[key] < 0.9
    for d in ("a2b", "b2a"):  # per digit: the overall accuracy is a mix of the ten, each mapped to its most frequent outcome
        per_digit = [labels[f"{d}_class_{c}"] for c in range(10)]
        assert min(per_digit) - 1e-9 <= labels[f"accuracy_{d}"] <= max(per_digit) + 1e-9
        assert all(labels[f"{d}_class_{c}_most_often"] in range(10) for c in range(10))
        assert all(labels[f"{d}_class_{c}_most_often"] == c for c in range(10) if labels[f"{d}_class_{c}"] > 0.5)
    assert set(metrics["cycle-l1"]["values"]) == {"l1_a2b_b2a", "l1_b2a_a2b"}
    assert metrics["fid-per-domain-digitscnn"]["values"]["fid_b_identity"] > 0
    sample = cli("sample", cycle_run / "c", "-o", "x.png")
    assert sample.returncode == 2 and "use `ganzoo translate`" in sample.stderr
    missing = cli("translate", cycle_run / "c", "nope.png")
    assert missing.returncode == 2 and "input image 'nope.png' does not exist" in missing.stderr
    with Image.open(cycle_run / "c" / "samples" / "step-00000002.png") as grid:
        assert grid.size == (6 * 34 + 2, 10 * 34 + 2)  # 64 -> 10 rows of six 32px images: A, G(A), F(G(A)), B, F(B), G(F(B))


@pytest.fixture(scope="module")
def sr_run(tmp_path_factory):
    from conftest import run_main as run_cli

    root = tmp_path_factory.mktemp("sr")
    done = run_cli("run", "srgan", "--steps", "2", *FAST_SR, "--out", "s", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "content loss is pixel MSE" in done.stderr  # no VGG19 weights here: said, and recorded
    assert json.loads((root / "s" / "config.json").read_text())["config"]["content"] == "mse"
    return root


def test_upscale_cli_tiles_any_size(sr_run, cli):
    Image.new("RGB", (45, 23), (200, 30, 90)).save(sr_run / "in.png")
    whole = cli("upscale", sr_run / "s", sr_run / "in.png", "-o", sr_run / "whole.png", "--tile", "64")
    tiled = cli("upscale", sr_run / "s", sr_run / "in.png", "-o", sr_run / "tiled.png", "--tile", "16")
    assert whole.returncode == 0 and tiled.returncode == 0, whole.stderr + tiled.stderr
    with Image.open(sr_run / "whole.png") as a, Image.open(sr_run / "tiled.png") as b:
        assert a.size == b.size == (180, 92)
        from torchvision.transforms.v2.functional import pil_to_tensor

        diff = (pil_to_tensor(a).int() - pil_to_tensor(b).int()).abs().max().item()
    assert diff <= 1  # tiles overlap by more than the network's receptive field: seams are invisible
    wrong = cli("translate", sr_run / "s", sr_run / "in.png")
    assert wrong.returncode == 2 and "not an unpaired-translation model" in wrong.stderr


def test_sr_metric_scores_held_out_photos_beside_bicubic(sr_run):
    from ganzoo.eval import evaluate

    doc = evaluate(sr_run / "s", registry(), ["sr-psnr-ssim-y-heldout"], write=False)
    values = doc["metrics"]["sr-psnr-ssim-y-heldout"]["values"]
    assert values["images"] == 3 and values["psnr_bicubic"] > 20 and 0 < values["ssim_bicubic"] <= 1
    assert values["psnr_gain"] == pytest.approx(values["psnr"] - values["psnr_bicubic"])
    assert values["ssim_gain"] == pytest.approx(values["ssim"] - values["ssim_bicubic"])
    # each mean comes with its spread over the three photos, which differ in how hard they are
    assert all(values[f"{k}_std"] > 0 for k in ("psnr", "ssim", "psnr_bicubic", "psnr_gain"))
    assert "border" in doc["metrics"]["sr-psnr-ssim-y-heldout"]["protocol"]["convention"]
    assert values["psnr_rgb_gain"] == pytest.approx(values["psnr_rgb"] - values["psnr_rgb_bicubic"])
    assert values["psnr_rgb_bicubic"] > 15


def test_rgb_psnr_counts_the_colour_errors_that_y_hides():
    """A hue shift that keeps luma: Y scores it nearly perfect, RGB does not; crops as the Y score."""
    from ganzoo.eval.sr import psnr_rgb, psnr_ssim_y

    torch.manual_seed(0)
    ref = (torch.rand(3, 32, 32) * 155 + 50).round().to(torch.uint8)
    shifted = ref.clone().int()
    shifted[0] += 20  # more red, less blue, in the proportions that keep BT.601 luma about the same
    shifted[2] -= round(20 * 65.481 / 24.966)
    shifted = shifted.clamp(0, 255).to(torch.uint8)
    assert psnr_ssim_y(shifted, ref, 4)[0] > 40 and psnr_rgb(shifted, ref, 4) < 30
    noisy = ref.clone()
    noisy[:, :4] = 0  # the border crop removes these rows from both scores
    assert psnr_rgb(noisy, ref, 4) == float("inf") == psnr_ssim_y(noisy, ref, 4)[0]


def test_srgan_vgg54_content_loss_with_random_weights(tmp_path, monkeypatch):
    """The VGG path, with randomly initialised VGG19 weights in the file format ganzoo reads."""
    from safetensors.torch import save_file
    from torchvision.models.vgg import cfgs, make_layers  # vgg19().features, without its 120 M-parameter classifier

    import ganzoo
    from ganzoo.testing import check_variant

    torch.manual_seed(0)
    save_file({f"features.{k}": v for k, v in make_layers(cfgs["E"]).state_dict().items()}, str(tmp_path / "vgg.safetensors"))
    monkeypatch.setenv("GANZOO_VGG19_WEIGHTS", str(tmp_path / "vgg.safetensors"))
    # Batches of 2: the VGG forward and backward at 32x32 is most of this test's time on a CPU.
    settings = {"hr_size": 32, "pretrain_steps": 1, "n_blocks": 1, "g_width": 8, "d_width": 8, "batch_size": 2}
    check_variant("srgan", tmp_path / "check", settings=settings, steps=2)
    result = ganzoo.train("srgan", out=str(tmp_path / "r"), steps=2, **settings)
    assert json.loads((result.run_dir / "config.json").read_text())["config"]["content"] == "vgg54"
    assert '"content": "vgg54"' in (result.export_dir / "README.md").read_text()


def test_shape_consistency_compares_pooled_images_by_hand():
    from ganzoo_cyclegan import shape_consistency

    x = torch.zeros(1, 1, 4, 4)
    moved = torch.zeros(1, 1, 4, 4)
    x[..., 0, 0] = 1.0  # a dot in the top-left 2x2 cell
    moved[..., 0, 1] = 1.0  # moved inside the same cell: the pooled layout is unchanged
    assert shape_consistency(x, moved, 2).item() == 0.0
    moved = torch.zeros(1, 1, 4, 4)
    moved[..., 3, 3] = 1.0  # moved to another cell: two of four pooled cells differ by 1/4
    assert shape_consistency(x, moved, 2).item() == pytest.approx((0.25 + 0.25) / 4)


def test_semantic_consistency_uses_the_classifiers_own_prediction_as_target():
    from ganzoo_cyclegan import semantic_consistency

    # A "classifier" whose logits are the two pixel values: class = the brighter pixel.
    classifier = torch.nn.Flatten()
    x = torch.tensor([[[[0.0, 5.0]]], [[[5.0, 0.0]]]])  # predicted classes 1 and 0
    kept = torch.tensor([[[[0.0, 5.0]]], [[[5.0, 0.0]]]])
    swapped = kept.flip(-1)
    assert semantic_consistency(classifier, x, kept).item() < 0.01
    ce = torch.nn.functional.cross_entropy(torch.tensor([[5.0, 0.0], [0.0, 5.0]]), torch.tensor([1, 0]))
    assert semantic_consistency(classifier, x, swapped).item() == pytest.approx(ce.item())


def test_cyclegan_semantic_loss_trains_its_own_classifier_and_needs_labels(tmp_path):
    import ganzoo

    fast = {"batch_size": 4, "g_width": 8, "n_blocks": 1, "d_width": 8}
    result = ganzoo.train("cyclegan", out=str(tmp_path / "r"), steps=3, semantic_weight=1.0, semantic_from=1,
                          shape_weight=1.0, cycle_noise=0.1, **fast)
    rows = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in rows if "loss_semantic" in r]
    assert logged and all(math.isfinite(r["loss_semantic"]) and math.isfinite(r["loss_classifier"]) for r in logged)
    model = ganzoo.load(str(result.export_dir))  # the classifier is part of the export and loads back
    assert model.translate(torch.rand(2, 1, 32, 32)).shape == (2, 1, 32, 32)
    folder = tmp_path / "unlabelled"
    for side in ("trainA", "trainB"):
        (folder / side).mkdir(parents=True)
        for i in range(2):
            Image.new("L", (32, 32), 40 * i).save(folder / side / f"{i}.png")
    with pytest.raises(DataError, match="semantic_weight needs class labels on domain A"):
        ganzoo.train("cyclegan", data=str(folder), out=str(tmp_path / "u"), steps=1, semantic_weight=1.0, **fast)


def test_srgan_with_bicubic_skip_starts_exactly_at_bicubic():
    from ganzoo_srgan import SRResNet

    torch.manual_seed(0)
    lr = torch.rand(2, 3, 8, 8) * 2 - 1
    net = SRResNet(3, 8, 1, 4, bicubic_skip=True).eval()
    expected = torch.nn.functional.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False)
    assert torch.equal(net(lr), expected)
    paper = SRResNet(3, 8, 1, 4, bicubic_skip=False).eval()
    assert paper(lr).abs().max() < 1  # the paper's tanh output, learned from scratch


def test_srgan_icnr_starts_the_sub_pixel_convolutions_free_of_checkerboard(tmp_path):
    """ICNR: every x2 stage begins as nearest-neighbour upsampling of what its conv sees, so the four
    sub-pixel phases of each output pixel are equal; the default init gives them different values
    (the checkerboard). `--set icnr=true` applies it to the trainer's G; the default is PyTorch's init."""
    from ganzoo_srgan import Upsample2x, icnr_

    from ganzoo._plugins import registry
    from ganzoo.training import prepare

    torch.manual_seed(0)
    x = torch.randn(2, 8, 6, 6)
    stage = Upsample2x(8)
    default = stage.shuffle(stage.conv(x))
    assert not torch.equal(default[..., 0::2, 0::2], default[..., 1::2, 1::2])
    icnr_(stage.conv, 2)
    out = stage.shuffle(stage.conv(x))
    for i, j in ((0, 1), (1, 0), (1, 1)):
        assert torch.equal(out[..., i::2, j::2], out[..., 0::2, 0::2])
    assert torch.allclose(out, torch.nn.functional.interpolate(out[..., 0::2, 0::2], scale_factor=2, mode="nearest"))
    # the same scale of weights as PyTorch's default init (the same fan-in bound)
    bound = 1 / (8 * 9) ** 0.5
    assert stage.conv.weight.abs().max() <= bound and stage.conv.weight.abs().max() > 0.5 * bound

    def phases_equal(settings):  # the trainer's G, as `ganzoo run srgan` builds it
        trainer = prepare(registry(), "srgan", settings={"g_width": 4, "d_width": 4, "n_blocks": 1, **settings},
                          out=str(tmp_path / f"r{len(settings)}"), progress=False)
        trainer.dir.release()
        w = trainer.variant.G.up[0].conv.weight
        return all(torch.equal(w[k::4], w[0::4]) for k in (1, 2, 3))

    assert phases_equal({"icnr": True}) and not phases_equal({})


def test_photo_crops_share_out_photos_evenly_and_skip_flat_ones():
    from ganzoo.data.photos import random_crops

    torch.manual_seed(0)
    half_flat = torch.full((3, 200, 200), 128, dtype=torch.uint8)
    half_flat[:, :, :100] = (torch.rand(3, 200, 100) * 255).to(torch.uint8)
    small = (torch.rand(3, 40, 40) * 255).to(torch.uint8)
    crops = random_crops([half_flat, small], 16, 40, seed=0)
    from_small = sum(any(torch.equal(c, small[:, i:i + 16, j:j + 16]) for i in range(25) for j in range(25)) for c in crops)
    assert from_small == 20  # half the crops, though the small photo has 4 % of the pixels
    # 46 % of the big photo's crop positions are flat; redrawn up to 10 times, (almost) none remain.
    assert sum(bool((c == 128).all()) for c in crops) == 0


def test_cyclegan_refuses_negative_loss_weights(tmp_path):
    import ganzoo
    from ganzoo.errors import ConfigError

    with pytest.raises(ConfigError, match="config key 'cycle_noise' must be >= 0"):
        ganzoo.train("cyclegan", out=str(tmp_path / "r"), steps=1, cycle_noise=-0.1)


def test_srgan_augmentation_gives_each_crop_one_of_the_squares_8_symmetries():
    from ganzoo_srgan import dihedral

    torch.manual_seed(0)
    x = torch.rand(512, 3, 6, 6)
    out = dihedral(x)
    found = set()
    for a, b in zip(x, out):
        symmetries = [a, a.flip(-1), a.flip(-2), a.flip(-1).flip(-2)]
        symmetries += [s.transpose(-1, -2) for s in symmetries]
        matches = [k for k, s in enumerate(symmetries) if torch.equal(s, b)]
        assert len(matches) == 1  # a rearrangement of that crop's own pixels, never another crop's
        found.add(matches[0])
    assert found == set(range(8))  # and every symmetry occurs


def test_srgan_lr_decays_over_the_srresnet_phase_then_follows_the_paper():
    from ganzoo.variant import DataInfo
    from ganzoo_srgan import SRGAN, SRGANConfig

    def lr(step, **cfg):
        config = SRGANConfig(steps=200, pretrain_steps=100, pretrain_lr=1e-3, lr=1e-4, n_blocks=1, g_width=8, d_width=8, hr_size=32, **cfg)
        return SRGAN(config, DataInfo("photos", "image", (3, 32, 32))).lr_at(step)

    assert lr(0) == pytest.approx(1e-3) and lr(50) == pytest.approx(5e-4) and lr(99) < 1e-6  # cosine to 0
    assert lr(50, pretrain_decay=False) == pytest.approx(1e-3)
    assert lr(100) == pytest.approx(1e-4) and lr(150) == pytest.approx(1e-5)  # adversarial phase: 10x drop halfway


def test_restyled_baseline_changes_style_but_moves_no_stroke():
    from ganzoo.eval.builtin import _restyle

    torch.manual_seed(0)
    a = torch.rand(2, 1, 32, 32) * 1.6 - 0.8
    sharp = _restyle(a, "a2b")
    assert sharp.amin() == -1 and sharp.amax() == 1  # full contrast, as the typeset digits
    assert torch.equal(sharp.flatten(1).argsort(), a.flatten(1).argsort())  # no pixel changes rank
    b = -torch.ones(1, 1, 32, 32)
    b[..., 8:24, 12:16] = 1.0  # a sharp vertical bar, one 4x4 block wide
    blurred = _restyle(b, "b2a")
    assert blurred[..., 16, 13:15].min() > 0.5 and blurred[..., 16, 0:8].max() < -0.9  # the bar stays where it was
    assert -0.9 < blurred[..., 8, 13] < 0.9  # but its ends are soft, as UCI's 4x4 block counts made them


@pytest.mark.parametrize("translated", [True, False])
def test_semantic_classifier_also_learns_from_translated_a_when_asked(translated):
    from types import SimpleNamespace

    from ganzoo.variant import DataInfo
    from ganzoo_cyclegan import CycleGAN, CycleGANConfig

    config = CycleGANConfig(steps=2, batch_size=3, g_width=8, n_blocks=1, d_width=8, semantic_weight=1.0,
                            semantic_from=0, semantic_translated=translated)
    variant = CycleGAN(config, DataInfo("digits-typeset", "image", (1, 32, 32), num_classes=10, domains=2))
    seen = []
    variant.classifier.register_forward_hook(lambda module, inputs, output: seen.append(len(inputs[0])))
    batch = SimpleNamespace(x=torch.rand(3, 1, 32, 32) * 2 - 1, x_b=torch.rand(3, 1, 32, 32) * 2 - 1, y=torch.tensor([1, 2, 3]))
    variant.train_step(SimpleNamespace(next=lambda: batch), 0)
    # The semantic loss sees A, G(A), B, F(B) (3 each); then f trains on A, and on G(A) only if asked.
    assert seen == [3, 3, 3, 3, 6 if translated else 3]


def test_semantic_a_only_reads_b_to_a_with_a_classifier_that_never_sees_b():
    from types import SimpleNamespace

    from ganzoo.errors import ConfigError
    from ganzoo.variant import DataInfo
    from ganzoo_cyclegan import CycleGAN, CycleGANConfig

    info = DataInfo("digits-m", "image", (3, 32, 32), num_classes=10, domains=2)
    fast = {"steps": 2, "batch_size": 3, "g_width": 8, "n_blocks": 1, "d_width": 8}
    variant = CycleGAN(CycleGANConfig(**fast, semantic_weight=1.0, semantic_from=0, semantic_a_only=True), info)
    batch = SimpleNamespace(x=torch.rand(3, 3, 32, 32) * 2 - 1, x_b=torch.rand(3, 3, 32, 32) * 2 - 1, y=torch.tensor([1, 2, 3]))
    f_inputs, reader_inputs = [], []
    variant.classifier.register_forward_hook(lambda module, inputs, output: f_inputs.append(inputs[0].detach().clone()))
    variant.reader_a.register_forward_hook(lambda module, inputs, output: reader_inputs.append(inputs[0].detach().clone()))
    variant.train_step(SimpleNamespace(next=lambda: batch), 0)
    # f labels A, reads G(A), labels B, then trains on A and G(A); it never reads F(B).
    assert [len(x) for x in f_inputs] == [3, 3, 3, 6]
    assert torch.equal(f_inputs[2], batch.x_b)
    # The reader reads F(B) (not B itself) for the loss, then trains on domain A alone.
    assert [len(x) for x in reader_inputs] == [3, 3]
    assert not torch.equal(reader_inputs[0], batch.x_b) and torch.equal(reader_inputs[1], batch.x)
    assert "reader_a" in variant.networks() and "reader_a" in variant.optimizers()  # checkpointed with the run
    with pytest.raises(ConfigError, match="semantic_a_only .* set semantic_weight > 0"):
        CycleGAN.check_data(CycleGANConfig(**fast, semantic_a_only=True), info)


def test_cycle_weights_split_per_direction_as_the_official_code():
    from ganzoo_cyclegan import CycleGANConfig, weighted_cycles

    cycle_a, cycle_b, idt_a, idt_b = (torch.tensor(v) for v in (1.0, 2.0, 3.0, 4.0))
    same = weighted_cycles(CycleGANConfig(lambda_cycle=10.0, lambda_identity=0.5), cycle_a, cycle_b, idt_a, idt_b)
    assert [t.item() for t in same] == [10 * (1 + 2), 10 * 0.5 * (3 + 4)]  # the paper's one lambda
    split = weighted_cycles(CycleGANConfig(lambda_cycle=10.0, lambda_cycle_b=1.0, lambda_identity=0.5), cycle_a, cycle_b, idt_a, idt_b)
    # B->A->B and G_ab's identity (its input is from B) take lambda_cycle_b; A's take lambda_cycle
    assert [t.item() for t in split] == [10 * 1 + 1 * 2, 0.5 * (1 * 4 + 10 * 3)]
    none = weighted_cycles(CycleGANConfig(lambda_cycle_b=0.0), cycle_a, cycle_b, idt_a, idt_b)
    assert none[0].item() == 10 * 1  # no B->A->B: G_ba need not hide B's detail to be inverted


def test_cyclegan_cycle_recolor_recolours_only_the_named_domains_translations(tmp_path, monkeypatch):
    import ganzoo
    import ganzoo_cyclegan
    from safetensors.torch import load_file

    fast = {"batch_size": 4, "g_width": 8, "n_blocks": 1, "d_width": 8, "steps": 2, "data": "digits-m", "image_size": 16}

    def weights(name, **settings):
        result = ganzoo.train("cyclegan", out=str(tmp_path / name), **fast, **settings)
        return load_file(str(result.export_dir / "model.safetensors"))

    plain = weights("plain")
    recoloured = weights("b", cycle_recolor="b")
    assert any(not torch.equal(plain[k], recoloured[k]) for k in plain)  # it changes training

    seen = []

    def spy(x):  # records what is recoloured
        seen.append(x)
        return x

    monkeypatch.setattr(ganzoo_cyclegan, "recolor", spy)
    weights("spy-b", cycle_recolor="b")
    assert len(seen) == 2 and all(x.shape == (4, 3, 16, 16) for x in seen)  # once a step: G_ab(a), before G_ba
    assert not any(x.requires_grad for x in seen)  # detached: G_ab does not learn through it
    seen.clear()
    weights("spy-ab", cycle_recolor="ab")
    assert len(seen) == 4  # and G_ba(b) too, before G_ab
    with pytest.raises(ganzoo.errors.ConfigError, match="cycle_recolor"):
        ganzoo.train("cyclegan", out=str(tmp_path / "bad"), steps=1, cycle_recolor="c")


def test_cycle_recolor_adds_a_recoloured_cycle_that_trains_the_return_translator_alone():
    from types import SimpleNamespace

    from ganzoo.augment import recolor
    from ganzoo.losses import cycle_consistency
    from ganzoo_cyclegan import CycleGAN, CycleGANConfig

    torch.manual_seed(0)
    back = torch.nn.Conv2d(3, 3, 3, padding=1)  # the return translator
    real = torch.rand(4, 3, 8, 8) * 2 - 1
    translated = (torch.rand(4, 3, 8, 8) * 2 - 1).requires_grad_()  # the first translator's output
    owner = SimpleNamespace(config=CycleGANConfig(cycle_recolor="b"), _noisy=lambda x: x)
    torch.manual_seed(1)
    loss = CycleGAN._cycle(owner, real, translated, back, "b")
    grad_translated, grad_back = torch.autograd.grad(loss, (translated, back.weight))

    plain = cycle_consistency(real, back(translated))  # the paper's cycle
    torch.manual_seed(1)  # the same recolouring, by hand
    recoloured = cycle_consistency(real, back(recolor(translated.detach())))
    assert loss.item() == pytest.approx((plain + recoloured).item())
    # The first translator learns from the paper's cycle alone; the return one from both.
    assert torch.allclose(grad_back, torch.autograd.grad(plain + recoloured, back.weight, retain_graph=True)[0])
    assert torch.allclose(grad_translated, torch.autograd.grad(plain, translated)[0])
    off = SimpleNamespace(config=CycleGANConfig(), _noisy=lambda x: x)
    assert CycleGAN._cycle(off, real, translated, back, "b").item() == pytest.approx(plain.item())
    assert CycleGAN._cycle(owner, real, translated, back, "a").item() == pytest.approx(plain.item())  # only "b" named


def test_vgg19_weights_in_either_layout_and_a_wrong_file_is_one_line(tmp_path, monkeypatch):
    """torchvision's whole vgg19().state_dict() (classifier included) works as well as the features
    alone; a file of another network is refused in one line, through the CLI."""
    from safetensors.torch import load_file, save_file
    from torchvision.models.vgg import cfgs, make_layers

    from conftest import run_main
    from ganzoo_srgan import VGG19, VGG54

    torch.manual_seed(0)
    features = {f"features.{k}": v for k, v in make_layers(cfgs["E"]).state_dict().items()}
    whole = {**features, "classifier.0.weight": torch.zeros(4, 3), "classifier.0.bias": torch.zeros(4)}  # stand-ins for 120 M
    save_file(whole, str(tmp_path / "whole.safetensors"))
    monkeypatch.setenv("GANZOO_VGG19_WEIGHTS", str(tmp_path / "whole.safetensors"))
    net = VGG54(VGG19.load(download=False))
    assert torch.equal(net.net[0].weight, features["features.0.weight"])
    assert set(VGG19.load(download=False)) == set(features)
    save_file({"conv1.weight": torch.zeros(2, 3, 3, 3)}, str(tmp_path / "resnet.safetensors"))
    done = run_main("run", "srgan", "--set", "content=vgg54", "--steps", "1", "--out", "r", cwd=tmp_path,
                    env={"GANZOO_VGG19_WEIGHTS": str(tmp_path / "resnet.safetensors")})
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "holds no 'features.*' tensors (conv1.weight...)" in done.stderr
    assert load_file(str(tmp_path / "whole.safetensors")).keys() == whole.keys()  # the user's file is left as it was
