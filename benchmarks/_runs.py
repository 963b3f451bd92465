"""Checking that an existing run directory is exactly a recipe, so a long benchmark run is packaged
or scored instead of being trained twice (benchmarks/pretrained.py --from-run, quality.py --from-run)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

# What the benchmark scripts train with unless a recipe or row says otherwise: fp32, since amp auto
# trains in bf16 on a CPU with bf16 units and in fp32 elsewhere, and a result must not depend on
# which CPU produced it. A run given by --from-run is the recipe only if it trained so too.
BENCHMARK_DEFAULTS = {"amp": "off"}

# Each judge-based digit metric and its twin under the second digit judge (the LeNet, #32).
TWINS = {"fid-digitscnn-x5": "fid-digitslenet-x5", "pr-digitscnn-x5-k3": "pr-digitslenet-x5-k3",
         "label-accuracy-digitscnn-n10000": "label-accuracy-digitslenet-n10000",
         "modes-stacked-digits-n26000": "modes-stacked-digits-lenet-n26000"}

# Settings that change what a run logs, evaluates or keeps, never its weights (a test checks that
# evaluating during training leaves the weights bit-identical): a run may differ from the recipe in these.
BOOKKEEPING = {"eval_every", "eval_metrics", "progress_every", "sample_every", "checkpoint_every", "log_every", "keep_checkpoints",
               "best_metric", "best_mode", "num_samples"}


def check_recipe(run: Path, variant: str, dataset: str, seed: int, settings: dict, what: str) -> None:
    """SystemExit naming what differs, unless ``run`` trained ``variant`` on ``dataset`` with
    ``seed``, every setting in ``settings`` (over BENCHMARK_DEFAULTS), and every other
    weight-affecting setting at its default."""
    import ganzoo
    from ganzoo._plugins import registry

    settings = {**BENCHMARK_DEFAULTS, **settings}
    doc = json.loads((run / "config.json").read_text())
    recorded = {**doc["config"], **doc["train"]}
    wrong = [f"{k}={recorded.get(k)!r} ({what} {v!r})" for k, v in settings.items()
             if k not in BOOKKEEPING and recorded.get(k) != (list(v) if isinstance(v, tuple) else v)]
    if doc["variant"] != variant or doc["dataset"] != dataset or doc["train"]["seed"] != seed or wrong:
        raise SystemExit(f"{run} is not the {what}'s seed-{seed} run: {doc['variant']} on {doc['dataset']}, seed {doc['train']['seed']}; "
                         + ", ".join(wrong))
    cls = registry().variant(variant)
    defaults = {**dataclasses.asdict(cls.Config()), **dataclasses.asdict(ganzoo.TrainConfig()), **cls.train_defaults}
    # (a setting whose default is "auto" records what it resolved to on that machine, e.g. srgan's content "mse")
    changed = [k for k, v in recorded.items() if k not in settings and k not in BOOKKEEPING and k != "seed" and k in defaults
               and json.loads(json.dumps(defaults[k])) != v and defaults[k] != "auto"]
    if changed:
        raise SystemExit(f"{run} changes settings the {what} leaves at their defaults: {', '.join(changed)}")


# Models that left the zoo because they stayed poor after the recipes tried (#32): their rows stay in
# benchmarks/results/quality.md, which lists them under the zoo's table (benchmarks/quality.py).
LEFT_THE_ZOO = {
    "wgan-digits": "2026-12-07: WGAN with weight clipping on the digits stayed poor under both judges after the demo defaults and three longer recipes "
                   "(quality.md, wgan-fid): the paper's RMSProp rate over 12,000 generator steps with EMA (FID 4.7x / 3.9x "
                   "the real-vs-real floor, 73 % / 68 % legible, the last model shipped), 4x that rate (3.3x / 3.0x) and 6x "
                   "with twice the clipping bound (3.6x / 3.1x, 77 % / 70 % legible). wgan-gp-digits, whose critic has a "
                   "gradient penalty instead of clipping, is WGAN's model in the zoo (1.5x / 1.6x).",
}
