"""Train, evaluate and package the pretrained zoo: one model per built-in variant, on its embedded data.

    python benchmarks/pretrained.py                  # (re)build every entry
    python benchmarks/pretrained.py --only dcgan-digits
    python benchmarks/pretrained.py --check          # retrain and compare with what is recorded
    python benchmarks/pretrained.py --rewrite        # rewrite the shipped entries in the current export format,
                                                     # same tensors and metrics, no training
    python benchmarks/pretrained.py --rescore        # score the shipped weights again with the entries' metrics
                                                     # (after a protocol change), no training
    python benchmarks/pretrained.py --notes          # write the entries' NOTES (limitations) into their cards

Each entry is trained by `ganzoo.train` with seed 0 and the settings below (the variant's defaults
unless listed), its generator stored in fp16 (half the bytes; the harness scores the fp16 weights
users get), scored by the evaluation harness, and written into its plugin's package as an export
folder (model.safetensors, config.json, README.md card with the metrics, samples.png) plus
pretrained.json: dataset, resolution, metrics with protocols, this command, size and sha256.
On the same machine and torch version, training is bit-for-bit deterministic, so --check
reproduces the recorded sha256; elsewhere it reports how far the metrics moved.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _runs import BENCHMARK_DEFAULTS, TWINS, check_recipe  # benchmarks/_runs.py, beside this script

# name: (variant, dataset, settings beyond the defaults (and why), metrics)
ZOO = {
    # R1 on D (gamma 1) with an EMA of G, 4,000 steps (about 25 minutes on one core), at 2.5x the paper's
    # lr (5e-4, what took r3gan-digits to its floor): FID 1.0x / 1.1x the real-vs-real floor under the two
    # judges, where the paper's 2e-4 gave 1.2x / 1.3x, the demo defaults 4.3x, and the same without R1 over
    # 6,000 steps 2.7x. Tried beside it (quality.md, dcgan-fid): DiffAugment, a linear lr decay over the
    # second half and a disconnected latent (latent_components), none better.
    "dcgan-digits": ("dcgan", "digits", {"steps": 4000, "ema": True, "r1": 1.0, "lr": 5e-4}, ["fid-digitscnn-x5", "pr-digitscnn-x5-k3"]),
    # The paper's 1200-unit MLP is 2.5 M parameters (5 MB in fp16); 512 units keep the zoo file under 2 MB.
    # 4x the demo's steps with an EMA of G and R1 on D (gamma 1, as dcgan-digits), which takes the place of
    # the paper's input dropout on D, at 16x16 instead of MNIST's 28x28 (the embedded digits are 8x8): a
    # fully connected G draws each pixel from its own weights, and at 28x28 that left a speckle 6x the
    # data's (benchmarks/grain.py) that a person sees and the judges forgive; at 16x16 it is 1.6x, as
    # dcgan's. FID 1.05x / 1.05x the real-vs-real floor under the two judges at seed 0, where the same at
    # 28x28 gave 1.19x / 1.11x and without R1 5.8x / 4.8x (quality.md, gan-fid).
    "gan-digits": ("gan", "digits", {"g_hidden": (512, 512), "steps": 12000, "ema": True, "r1": 1.0, "input_dropout": 0.0, "image_size": 16},
                   ["fid-digitscnn-x5", "pr-digitscnn-x5-k3"]),
    # The conv arch: 99 % label accuracy where the paper's MLPs reach 90 % in the same budget, and 1 MB instead of 5.
    "cgan-digits": ("cgan", "digits", {"arch": "conv", "image_size": 32}, ["label-accuracy-digitscnn-n10000", "fid-digitscnn-x5"]),
    # R1 on D (gamma 1) and EMA, as dcgan-digits, over 6,000 steps (2.4x the demo's; batches of 64, the
    # paper's), at dcgan-digits' 2.5x the paper's lr (5e-4): FID 1.05x / 1.10x the real-vs-real floor under
    # the two judges at seed 0, legible 88 % / 86 %, where the paper's 2e-4 gave 1.43x / 1.47x and 86 % / 83 %
    # (quality.md, lsgan-fid); the defaults give FID 175 and the same without R1 110.
    "lsgan-digits": ("lsgan", "digits", {"steps": 6000, "ema": True, "r1": 1.0, "lr": 5e-4}, ["fid-digitscnn-x5", "pr-digitscnn-x5-k3"]),
    # 4x the demo's generator steps (each with 5 critic steps), an EMA of G, and 3x the paper's Adam rate
    # (3e-4): FID 1.54x / 1.60x the floor under the two judges, where the paper's 1e-4 gave 3.0x / 2.6x (quality.md, wgan-gp-fid).
    "wgan-gp-digits": ("wgan-gp", "digits", {"steps": 6000, "ema": True, "lr": 3e-4}, ["fid-digitscnn-x5", "pr-digitscnn-x5-k3"]),
    "cyclegan-digits-typeset": ("cyclegan", "digits-typeset", {}, ["label-preservation-digits-typeset", "cycle-l1", "fid-per-domain-digitscnn"]),
    # A tenth of the paper's adversarial weight: with pixel-MSE content (VGG19's weights cannot be fetched
    # here) the paper's 1e-3 drew diagonal hatching on flat areas, which SRResNet alone does not; 1e-4
    # leaves a trace of it and gains more over bicubic (quality.md, srgan).
    "srgan-photos": ("srgan", "photos", {"adversarial_weight": 1e-4}, ["sr-psnr-ssim-y-heldout"]),
    # R3GAN's recipe for the zoo: the defaults (gamma 1 for R1 and R2, lr 1e-3) over 3,000 steps (about
    # 12 minutes on one core), spelt out so the recipe outlives a change of defaults: FID 36 where the
    # paper's CIFAR-10 gamma and lr (0.05, 2e-4) give 248, and gamma 1 at lr 2e-4 gives 167 (quality.md).
    "r3gan-digits": ("r3gan", "digits", {"steps": 3000, "gamma": 1.0, "lr": 1e-3}, ["fid-digitscnn-x5", "pr-digitscnn-x5-k3"]),
    # The benchmark protocols, so anyone can re-score them with `ganzoo eval NAME`. The mixtures: EMA, a
    # linear lr decay over the second half, which lets G settle on the modes, and a disconnected latent
    # (`latent_components`, DeLiGAN's mixture of equally likely components): with N(0, I), a connected
    # latent, G drew arcs and lines between the modes (95 % / 81 % high quality as trained; quality.md),
    # with components it need not. Each is also scored with Jacobian-based truncation (METRIC+jbtQ:
    # `ganzoo eval NAME --truncation Q`), the sampler that drops the latents G stretches most.
    # ring8: PacGAN2 (pack 2) and 64 components (with 32, one seed in three kept a component split over
    # two modes); 6,000 steps (about 3 minutes on one core).
    "gan-ring8": ("gan", "ring8", {"pack": 2, "ema": True, "steps": 6000, "decay_from": 0.5, "latent_components": 64},
                  ["modes-pacgan-n2500-x10", "modes-pacgan-n2500-x10+jbt0.05"]),
    # grid25: no packing (pack 2 and 4 lose modes here), R1 on D (gamma 0.1), which covers all 25 modes
    # where the same without R1 covers 21, and 100 components; 20,000 steps (about 12 minutes on one core).
    "gan-grid25": ("gan", "grid25", {"ema": True, "steps": 20000, "decay_from": 0.5, "r1": 0.1, "latent_components": 100},
                   ["modes-pacgan-n2500-x10", "modes-pacgan-n2500-x10+jbt0.1"]),
    # The style-only translation pair (MNIST-M's construction) without the B->A->B cycle (the official
    # code's lambda_B = 0): that cycle makes G_ba hide each photo in its output, and dropping it takes
    # B->A label preservation from 43 % to 59 %. G_ba also undoing random recolourings of G_ab's outputs
    # (cycle_recolor "b") makes it read shapes instead of G_ab's colours: 94 % at the demo's 2,000 steps,
    # and over 4,000 (about 20 minutes on 2 cores) 96.3 +- 0.6 % B->A and 99.4 % A->B over 3 seeds (quality.md, digits-m).
    "cyclegan-digits-m": ("cyclegan", "digits-m", {"lambda_cycle_b": 0.0, "cycle_recolor": "b", "steps": 4000},
                          ["label-preservation-digits-m", "cycle-l1"]),
    # PacDCGAN2 with EMA and R1 (gamma 1): KL 0.19 where the same without R1 gives 0.27.
    "dcgan-stacked-digits": ("dcgan", "stacked-digits", {"pack": 2, "steps": 4000, "ema": True, "r1": 1.0}, ["modes-stacked-digits-n26000"]),
}

# Every judge-based number on digits is scored under both digit judges (the digits CNN and the LeNet
# trained from another seed), with the share of samples each reads confidently (legibility): a card's
# "nine in ten legible" comes from that share, and a claim that holds under one judge only shows
# (TWINS: benchmarks/_runs.py).
LEGIBILITY = ["legibility-digitscnn-c90-n10000", "legibility-digitslenet-c90-n10000"]


def _under_both_judges(metrics: list[str]) -> list[str]:
    judged = [m for metric in metrics for m in (metric, TWINS.get(metric)) if m]
    return judged + LEGIBILITY if any(m in TWINS for m in metrics) else judged


ZOO = {name: (variant, dataset, settings, _under_both_judges(metrics)) for name, (variant, dataset, settings, metrics) in ZOO.items()}


# What a person sees in an entry's samples and where it falls short, in the trainer's words: each
# export's config.json "notes", shown on its card under "Limitations". An entry without any has
# samples a person would call good for what it is.
NOTES: dict[str, str] = {
    # Legibility is measured: the share of 10,000 samples a judge reads with >= 90 % confidence, under
    # both digit judges (the digits CNN, then the LeNet), beside the same share on real digits (99.5-99.8 %).
    # Confidence is not a person's eye: both judges read speckled or thick strokes as confidently as
    # clean ones, so what a person sees is said beside it.
    "dcgan-digits": "Digits as soft as the data (8x8 digits upscaled to 32x32), most of them read at a glance. The two "
                    "digit judges read 89 % and 86 % of samples with >= 90 % confidence, where they read 99.8 % of real "
                    "digits so; the rest have a broken or extra stroke, or sit between two digits. FID 38 against a "
                    "real-vs-real floor of 39 (1.0x) under the digits CNN, 23 against 22 (1.1x) under the LeNet. For a "
                    "chosen digit, use cgan-digits.",
    "gan-digits": "The 2014 GAN's fully connected G and D at 16x16, after 12,000 steps with EMA and R1 on D: soft "
                  "digits, every class about as often as the data has it (8-11 % each under both judges). The judges "
                  "read 90 % and 88 % of samples with >= 90 % confidence (real digits: 99.6 %); the rest are malformed or "
                  "between two digits, and a few have a faint haze around the stroke (G draws each pixel from its own "
                  "weights). FID 35 against a real-vs-real floor of 34 under the digits CNN (1.05x), 19 against 18 under "
                  "the LeNet (1.05x).",
    "wgan-gp-digits": "WGAN-GP at 16x16 after 6,000 generator steps with EMA, at 3x the paper's learning rate: small, "
                      "soft digits, every class about as often as the data has it; the judges read 83 % and 79 % of samples "
                      "confidently (real digits: 99.6 %), the rest with broken or stray strokes. FID 52 against a real-vs-real "
                      "floor of 34 under the digits CNN (1.5x), 29 against 18 under the LeNet (1.6x).",
    "r3gan-digits": "R3GAN at CPU scale (a 62k-parameter G at 16x16, 3,000 steps of 64, a sliver of the paper's "
                    "schedule): digits as soft as the data (8x8 digits upscaled). The judges read 89 % and 85 % of samples "
                    "confidently (real digits: 99.6 %), the rest malformed or between two digits. FID 36 against a "
                    "real-vs-real floor of 34 (1.07x) under the digits CNN and 23 against 18 (1.26x) under the LeNet.",
    "lsgan-digits": "Digits as soft as the data (8x8 digits upscaled to 32x32), every class about as often as the "
                    "data has it (8-12 % each under both judges); the judges read 88 % and 86 % of samples with >= 90 % "
                    "confidence (real digits: 99.8 %), the rest malformed or between two digits. FID 41 against a "
                    "real-vs-real floor of 39 (1.05x) under the digits CNN, 24 against 22 (1.10x) under the LeNet.",
    "cyclegan-digits-typeset": "Handwritten <-> typeset digits, a pair that differs in shape: G restyles the strokes "
                               "(bolder, smoother) but does not redraw them as type, so a judge CNN recognises the "
                               "translated digits no better than the untranslated ones (66 % both ways, against 67 % "
                               "and 73 % for doing nothing).",
    "srgan-photos": "x4 super-resolution trained on 14 bundled photos: sharper than bicubic on edges and textures. "
                    "On the 3 held-out photos it beats bicubic by 1.29 dB on Y and 1.14 dB in RGB, short of the paper's "
                    "SRResNet (+3.6 dB on Set5, 10^6 steps on ImageNet against 1,500 on 14 photos here). What a person "
                    "sees at 3x zoom: smooth flat areas with at most a faint diagonal texture on some (trained with the "
                    "paper's adversarial weight, 1e-3, the same model drew clear hatching there; this one is trained "
                    "with 1e-4, since its content loss is pixel MSE: VGG19's weights were not available), and petal and "
                    "star edges crisper than bicubic's but softer than the original's.",
    "dcgan-stacked-digits": "A mode-counting benchmark model, not a picture generator: each sample is three digits "
                            "overlaid in the red, green and blue channels, each digit blurry; the judges read 74 % and 68 % "
                            "of the channels with >= 90 % confidence, where they read 99.8 % of real channels so. Every one "
                            "of the 1,000 triples occurs, but the KL from the data's triples is 0.19 under the digits CNN and "
                            "0.14 under the LeNet (+-0.004 each over resamples: the judge moves it ten times as much), "
                            "against 0.028 for 26,000 fresh real triples under either judge and the paper's PacDCGAN2 0.06. "
                            "Most of the KL (0.15 and 0.10, kl_digits) is how often each digit is drawn: in every channel "
                            "3s and 9s 14-17 % of the time and 1s 6 %, where the data has 10 % of each.",
    "gan-grid25": "A benchmark model of 2-D points: all 25 grid modes (25 +- 0 over 10 draws of 2,500; PacGAN4 "
                  "reports 24.8), 97.0 % of the points within 3 sigma of a mode (the target is 95 %; PacGAN2 reports "
                  "91.3 %), and the least-held mode 0.76 of its even share (3.6-4.3 % of the points each, 4 % even). What "
                  "a person sees: 25 tight clusters and a few stray points between them, about 2 in 100 beyond 10 "
                  "sigma, not the lines of points a Gaussian latent draws. Its latent is disconnected: z's first "
                  "coordinate picks one of 100 equally likely components (`latent_components`, DeLiGAN's mixture), so "
                  "G can jump between modes; the same recipe with one Gaussian gave 81 % (benchmarks/results/quality.md). "
                  "Its modes are narrower than the data's (89 % of the points within 1 sigma, where the data's "
                  "Gaussians hold 39 %), which the PacGAN protocol does not count. Jacobian-based truncation "
                  "(`--truncation 0.1`) hardly changes it (97.2 %) and evens the modes less (0.49 of a share).",
    "cyclegan-digits-m": "Handwritten digits <-> digits-m (each digit blended with a photo crop, MNIST-M's "
                         "construction). digits -> digits-m paints every digit the same way, in blue over one "
                         "reddish bark-like texture, where real digits-m images come in every photo's colours; "
                         "digits-m -> digits gives clean white-on-black digits, and a judge CNN reads 97 % of them "
                         "as their label (38 % for doing nothing). The misses (55 of 1,797) are mostly digits over a "
                         "busy photo whose own edges G_ba takes for strokes, often turning them into 8s or 9s. The "
                         "99 % the other way says little, since the "
                         "digits-m judge also reads untranslated digits at 99 %.",
    "gan-ring8": "A benchmark model of 2-D points: all 8 ring modes, every point within 3 sigma of a mode (100 % "
                 "high quality over 10 draws of 2,500; PacGAN2 reports 95.6 %, the target is 97 %), each mode "
                 "12.2-12.7 % of them. What a person sees: 8 tight dots on the ring, nothing between them. Its latent "
                 "is disconnected: z's first coordinate picks one of 64 equally likely components "
                 "(`latent_components`, DeLiGAN's mixture), so G need not draw the arcs between modes that one "
                 "Gaussian forces (the previous recipe: 95 %, its misses on those arcs). Its modes are narrower than "
                 "the data's (97 % of the points within 1 sigma, where the data's Gaussians hold 39 %), which the "
                 "PacGAN protocol does not count. Jacobian-based truncation (`--truncation 0.05`) changes nothing here.",
}


# The value `ganzoo list --pretrained` shows, where the first key of the first metric is not the telling one.
HEADLINES = {"cyclegan-digits-typeset": ("label-preservation-digits-typeset", "accuracy_a2b", "accuracy_b2a"),
             "cyclegan-digits-m": ("label-preservation-digits-m", "accuracy_a2b", "accuracy_b2a"),
             "srgan-photos": ("sr-psnr-ssim-y-heldout", "psnr_gain"),
             "gan-ring8": ("modes-pacgan-n2500-x10", "modes", "high_quality_percent"),
             "gan-grid25": ("modes-pacgan-n2500-x10", "modes", "high_quality_percent"),
             "dcgan-stacked-digits": ("modes-stacked-digits-n26000", "modes", "kl")}


def headline(name: str, doc: dict) -> list[str]:
    """What `ganzoo list --pretrained` shows for the entry: HEADLINES[name], else the first key of
    its first metric (ZOO's order)."""
    first = ZOO[name][3][0]
    return list(HEADLINES[name]) if name in HEADLINES else [first, next(iter(doc["metrics"][first]["values"]))]


def plugin_folder(variant: str) -> Path:
    from ganzoo._plugins import registry

    module = importlib.import_module(registry().variant(variant).__module__)
    return Path(module.__file__).parent


def to_fp16(weights: Path) -> None:
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(weights), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    half = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in tensors.items()}
    save_file(half, str(weights), metadata=meta)


def trained_run(name: str, run: Path) -> Path:
    """The export of an existing run directory that is exactly this entry's recipe (variant,
    dataset, seed 0, every setting), so a long benchmark run need not be trained twice."""
    variant, dataset, settings, _ = ZOO[name]
    check_recipe(run, variant, dataset, 0, settings, "recipe")
    return run / "export"


def build(name: str, workdir: Path, run: Path | None = None) -> dict:
    import ganzoo

    variant, dataset, settings, metrics = ZOO[name]
    t0 = time.perf_counter()
    if run is None:
        export = ganzoo.train(variant, data=dataset, out=str(workdir / name), seed=0, **{**BENCHMARK_DEFAULTS, **settings}).export_dir
        train_seconds = round(time.perf_counter() - t0)
    else:
        export = workdir / name / "export"
        shutil.copytree(trained_run(name, run), export)
        train_seconds = None  # trained beforehand, by the run at `run`
        config = json.loads((export / "config.json").read_text())  # the card names this script, as for an entry trained here
        config["training"]["command"] = f"python benchmarks/pretrained.py --only {name}  # = {config['training']['command']}"
        (export / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    to_fp16(export / "model.safetensors")
    set_notes(export, name)
    doc = score_entry(export, metrics)  # writes eval.json and the card's model-index
    dest = plugin_folder(variant) / "pretrained" / name
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for f in ("model.safetensors", "config.json", "README.md", "samples.png", "eval.json"):
        shutil.copy2(export / f, dest / f)
    weights = (dest / "model.safetensors").read_bytes()
    entry = {
        "name": name,
        "variant": variant,
        "dataset": dataset,
        "resolution": json.loads((dest / "config.json").read_text())["data"]["shape"],
        "sha256": hashlib.sha256(weights).hexdigest(),
        "file_size": len(weights),
        "metrics": {m: {"values": r["values"], "protocol": r["protocol"]} for m, r in doc["metrics"].items()},
        "command": f"python benchmarks/pretrained.py --only {name}",
        "headline": headline(name, doc),
        "recipe": {"seed": 0, "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
                   "storage": "fp16", "train_seconds": train_seconds},
    }
    (dest / "pretrained.json").write_text(json.dumps(entry, indent=2, sort_keys=True) + "\n")
    return entry


def set_notes(folder: Path, name: str) -> None:
    """Write NOTES[name] into the export's config.json (or remove stale notes); the card is
    rebuilt from it by the next evaluation or refresh."""
    path = folder / "config.json"
    config = json.loads(path.read_text())
    config.pop("notes", None)
    if NOTES.get(name):
        config["notes"] = NOTES[name]
    path.write_text(json.dumps(config, indent=2) + "\n")


def renote(name: str) -> None:
    """Set a shipped entry's notes and rebuild its card with its recorded results (no training, no scoring)."""
    import ganzoo
    from ganzoo import export as E

    dest = plugin_folder(ZOO[name][0]) / "pretrained" / name
    set_notes(dest, name)
    E.refresh_card(dest, ganzoo.load(dest), json.loads((dest / "eval.json").read_text()))


def rewrite(name: str) -> dict:
    """Rewrite a shipped entry in the current export format: the same tensor bytes under the
    current names, config.json and card rebuilt, the recorded metrics kept (the weights are the ones
    they were measured on), the file's sha256 and size updated."""
    import dataclasses

    from safetensors.torch import load_file

    import ganzoo
    from ganzoo import export as E
    from ganzoo._version import __version__
    from ganzoo.export import legacy

    variant = ZOO[name][0]
    dest = plugin_folder(variant) / "pretrained" / name
    model = ganzoo.load(dest)  # checks the recorded sha256 first
    tensors = load_file(str(dest / "model.safetensors"))
    if model.info.format_version == 1:
        mapping = legacy.tensor_names({k: None for k in tensors}, type(model.variant), model.variant)
        tensors = {mapping[k]: v for k, v in tensors.items()}
    info = dataclasses.replace(model.info, format_version=E.FORMAT_VERSION, ganzoo_version=__version__)
    entry = json.loads((dest / "pretrained.json").read_text())
    info = dataclasses.replace(info, training=dataclasses.replace(info.training, command=f"python benchmarks/pretrained.py --only {name}  # = {info.training.command}"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / name
        E.write_export(out, variant=model.variant, info=info, grid_png=(dest / "samples.png").read_bytes(), tensors=tensors)
        weights = (out / "model.safetensors").read_bytes()
        evaldoc = json.loads((dest / "eval.json").read_text())
        evaldoc["model"]["weights_sha256"] = hashlib.sha256(weights).hexdigest()
        (out / "eval.json").write_text(json.dumps(evaldoc, indent=2, sort_keys=True) + "\n")
        E.refresh_card(out, ganzoo.load(out), evaldoc)
        for f in ("model.safetensors", "config.json", "README.md", "eval.json"):
            shutil.copy2(out / f, dest / f)
    entry.update(sha256=hashlib.sha256(weights).hexdigest(), file_size=len(weights))
    (dest / "pretrained.json").write_text(json.dumps(entry, indent=2, sort_keys=True) + "\n")
    return entry


def score_entry(export: Path, metrics: list[str]) -> dict:
    """evaluate() of the entry's metrics at eval seed 0, written to eval.json and the card; a name
    METRIC+jbtQ is METRIC on the samples of Jacobian-based truncation with Q (one evaluate per Q)."""
    from ganzoo._plugins import registry
    from ganzoo.eval import evaluate
    from ganzoo.truncation import split_name

    by_fraction: dict[float, list[str]] = {}
    for name in metrics:
        metric, q = split_name(name)
        by_fraction.setdefault(q, []).append(metric)
    doc: dict = {}
    for q, names in by_fraction.items():
        part = evaluate(export, registry(), names, seed=0, truncation=q)
        doc = {**part, "metrics": {**doc.get("metrics", {}), **part["metrics"]}}
    return doc


def rescore(name: str) -> dict:
    """Score a shipped entry's weights (unchanged) with its metrics as they are now, replacing the
    recorded results, card and pretrained.json metrics: what a protocol change calls for."""
    variant, _, _, metrics = ZOO[name]
    dest = plugin_folder(variant) / "pretrained" / name
    (dest / "eval.json").unlink(missing_ok=True)  # results under retired protocol ids are not kept
    set_notes(dest, name)
    doc = score_entry(dest, metrics)
    entry = json.loads((dest / "pretrained.json").read_text())
    entry["metrics"] = {m: {"values": r["values"], "protocol": r["protocol"]} for m, r in doc["metrics"].items()}
    entry["headline"] = headline(name, doc)
    (dest / "pretrained.json").write_text(json.dumps(entry, indent=2, sort_keys=True) + "\n")
    return entry


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=sorted(ZOO), help="entries to build (default: all)")
    parser.add_argument("--check", action="store_true", help="retrain into a temporary folder and compare with the recorded entries")
    parser.add_argument("--rewrite", action="store_true", help="rewrite the shipped entries in the current export format (no training)")
    parser.add_argument("--from-run", type=Path, help="package this existing run directory (it must be the entry's recipe) instead of training")
    parser.add_argument("--rescore", action="store_true", help="score the shipped weights again with the entries' metrics (no training)")
    parser.add_argument("--notes", action="store_true", help="write each entry's NOTES into its config.json and card (no training, no scoring)")
    args = parser.parse_args()
    if args.notes:
        for name in args.only or list(ZOO):
            renote(name)
            print(f"{name}: notes {'set' if NOTES.get(name) else 'none'}", flush=True)
        return 0
    if args.rescore:
        for name in args.only or list(ZOO):
            entry = rescore(name)
            print(f"{name}: " + "; ".join(f"{m} {json.dumps({k: round(v, 4) for k, v in r['values'].items() if 'class' not in k})}"
                                          for m, r in entry["metrics"].items()), flush=True)
        return 0
    if args.rewrite:
        for name in args.only or list(ZOO):
            entry = rewrite(name)
            print(f"{name}: rewritten, {entry['file_size'] / 1e6:.2f} MB sha256 {entry['sha256'][:12]}", flush=True)
        return 0
    failed = 0
    for name in args.only or list(ZOO):
        recorded_path = plugin_folder(ZOO[name][0]) / "pretrained" / name / "pretrained.json"
        recorded = json.loads(recorded_path.read_text()) if recorded_path.is_file() else None
        with tempfile.TemporaryDirectory() as tmp:
            if args.check:
                backup = Path(tmp) / "recorded"
                if recorded_path.parent.exists():
                    shutil.copytree(recorded_path.parent, backup)
            entry = build(name, Path(tmp), args.from_run)
            line = f"{name}: {entry['file_size'] / 1e6:.2f} MB sha256 {entry['sha256'][:12]} " + \
                   "; ".join(f"{m} {json.dumps({k: round(v, 4) for k, v in r['values'].items() if 'class' not in k})}" for m, r in entry["metrics"].items())
            print(line, flush=True)
            if args.check:
                same = recorded is not None and recorded["sha256"] == entry["sha256"]
                print(f"  {'reproduced: same sha256' if same else 'DIFFERENT sha256 from the recorded ' + (recorded or {}).get('sha256', '?')[:12]}")
                failed += not same
                shutil.rmtree(recorded_path.parent)  # put the recorded entry back as it was
                if (Path(tmp) / "recorded").exists():
                    shutil.copytree(Path(tmp) / "recorded", recorded_path.parent)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
