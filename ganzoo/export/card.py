"""The model card: the README.md of an export, rendered from its typed config.json (and, once the
model is evaluated, its results as the Hub's model-index).

What config.json says is shown as text, escaped and on one line: a downloaded export cannot add
markdown of its own to the card. A card the user wrote (without :data:`CARD_MARK`) is never
rewritten.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

from torch import nn

from .._io import atomic_write_text
from .._text import distribution_name, one_line, with_spreads
from .._version import DISTRIBUTION, FORMER_DISTRIBUTIONS
from ..model import Model
from ..variant import Task, Variant
from .format import CARD, GRID, ExportInfo

CARD_MARK = "<!-- written by ganzoo: rewritten when the model is evaluated -->"
# Registered datasets that are also Hugging Face datasets, by their Hub ids: the card's datasets key
# and "dataset:" tag link there. A dataset not listed (the embedded digits, a folder) gets neither.
HUB_DATASETS = {"mnist": "ylecun/mnist", "fashion-mnist": "zalando-datasets/fashion_mnist", "cifar10": "uoft-cs/cifar10"}
# The Hub's task list has no class-conditional generation; its class-conditional GANs are listed
# under unconditional-image-generation, so ours are too.
PIPELINE_TAGS = {
    Task.UNCONDITIONAL: "unconditional-image-generation",
    Task.CONDITIONAL: "unconditional-image-generation",
    Task.UNPAIRED_TRANSLATION: "image-to-image",
    Task.SUPER_RESOLUTION: "image-to-image",
}


def install_line(dist: str | None) -> str:
    """The `pip install` line that provides a variant of distribution ``dist`` (None: in-process)."""
    if dist in (None, DISTRIBUTION, *FORMER_DISTRIBUTIONS):
        return f"pip install {DISTRIBUTION}"
    return f"pip install {DISTRIBUTION} {dist}"


def write_card(folder: Path, info: ExportInfo, variant_cls: type[Variant] | None, results: dict[str, Any] | None = None) -> None:
    """(Re)write ``folder``'s model card from ``info`` (and ``results``, eval.json's document)."""
    atomic_write_text(folder / CARD, model_card(info, variant_cls, has_grid=(folder / GRID).is_file(), results=results))


def refresh_card(folder: Path, model: Model, results: dict[str, Any]) -> bool:
    """Re-render a ganzoo-written model card with evaluation results as model-index; a card the
    user wrote (without ganzoo's mark) is left alone. Returns whether the card was rewritten."""
    card = folder / CARD
    if card.is_file() and CARD_MARK not in card.read_text(errors="replace"):
        return False
    write_card(folder, model.info, type(model.variant), results)
    return True


def standalone_source(classes: list[type]) -> str:
    """The source of the generator classes and of every module class they build on, in an order
    that runs (dependencies first): what a user pastes to run the generators with torch alone."""
    seen: list[type] = []
    entered: set[type] = set()  # a docstring may name a class that names this one back

    def visit(cls: type) -> None:
        if cls in entered or not _ours(cls):
            return
        entered.add(cls)
        for base in cls.__bases__:
            visit(base)
        module = sys.modules[cls.__module__]
        src = textwrap.dedent(inspect.getsource(cls))
        for word in sorted(set(re.findall(r"\b[A-Za-z_]\w*\b", src))):
            obj = vars(module).get(word)
            if isinstance(obj, type) and obj is not cls and _ours(obj):
                visit(obj)
        seen.append(cls)

    for cls in classes:
        visit(cls)
    return "\n\n".join(textwrap.dedent(inspect.getsource(cls)).rstrip() for cls in seen)


def _ours(cls: type) -> bool:
    return isinstance(cls, type) and issubclass(cls, nn.Module) and not cls.__module__.startswith("torch")


def usage_snippet(info: ExportInfo, variant_cls: type[Variant] | None) -> str:
    """A script that runs the generators with torch and safetensors alone, from the export folder."""
    classes: list[type] = []
    if variant_cls is not None:
        gens = variant_cls.build_generators(dict(info.generator.args))
        classes = list(dict.fromkeys(type(g) for g in gens.values()))
    names = info.generator.modules
    lines = [
        "# Needs only torch and safetensors; run it in this folder.",
        "import json",
        "import math",
        "",
        "import torch",
        "import torch.nn.functional as F",
        "from safetensors.torch import load_file",
        "from torch import nn",
        "",
        standalone_source(classes) if classes else "# (the generator's source could not be included)",
        "",
        'config = json.load(open("config.json"))',
        'tensors = load_file("model.safetensors")',
        "generators = {}",
        'for name in config["generator"]["modules"]:',
        f'    net = {classes[0].__name__ if classes else "Generator"}(**config["generator"]["args"])',
        '    net.load_state_dict({k[len(name) + 1:]: v.float() for k, v in tensors.items() if k.startswith(name + ".")})',
        "    generators[name] = net.eval()",
        "",
    ]
    g = names[0]
    if info.task in (Task.UNCONDITIONAL, Task.CONDITIONAL):
        lines += [
            "n = 16",
            'z_shape = config["io"]["inputs"]["z"]["shape"]',
            "z = torch.randn(n, *z_shape, generator=torch.Generator().manual_seed(0))  # N(0, 1), as ganzoo.load(...).sample(n, seed=0)",
        ]
        if info.task == Task.CONDITIONAL:
            lines += ['y = torch.arange(n) * config["io"]["num_classes"] // n  # class indices; io.id2label names them',
                      "with torch.no_grad():", f'    images = generators["{g}"](z, y)']
        else:
            lines += ["with torch.no_grad():", f'    images = generators["{g}"](z)']
        if info.data.kind == "image":
            lines += ["images = (images + 1) / 2  # [-1, 1] -> [0, 1], (N, C, H, W)"]
    elif info.task == Task.UNPAIRED_TRANSLATION:
        c = info.data.shape[0]
        lines += [
            f"x = torch.rand(1, {c}, 32, 32) * 2 - 1  # an image of domain A in [-1, 1], any size",
            "with torch.no_grad():",
            '    translated = generators[config["io"]["directions"]["a2b"]](x)  # domain B, same size',
            "images = (translated + 1) / 2",
        ]
    else:
        c = info.data.shape[0]
        lines += [
            f"lr = torch.rand(1, {c}, 24, 24) * 2 - 1  # a low-resolution image in [-1, 1], any size",
            "with torch.no_grad():",
            f'    images = (generators["{g}"](lr).clamp(-1, 1) + 1) / 2  # config["io"]["scale"] times larger, in [0, 1]',
        ]
    return "\n".join(lines)


def model_card(info: ExportInfo, variant_cls: type[Variant] | None, *, has_grid: bool, results: dict[str, Any] | None = None) -> str:
    from huggingface_hub import EvalResult, ModelCardData

    # What config.json says is shown as text: a downloaded export cannot add lines of markdown.
    variant, dataset = (one_line(t, 200).replace("`", "'") for t in (info.variant, info.training.dataset))
    hub_repo = dataset.removeprefix("hf-hub:").partition("@")[0] if dataset.startswith("hf-hub:") else None  # trained on a Hub dataset
    dname = hub_repo.split("/")[-1] if hub_repo else Path(dataset).name
    points = info.data.kind == "points"
    pipeline = None if points else PIPELINE_TAGS[info.task]  # the Hub has no task for 2-D point clouds
    hub_dataset = hub_repo or HUB_DATASETS.get(dataset)
    evals = [
        EvalResult(
            task_type=pipeline or "other", dataset_type=hub_dataset or dname, dataset_name=dname,
            metric_type=key, metric_name=f"{metric} {key}", metric_value=value, metric_config=metric,  # the protocol's id
        )
        for metric, result in (results or {}).get("metrics", {}).items()
        for key, value in result["values"].items()
        if _measured(key, value)
    ]
    card = ModelCardData(
        library_name="ganzoo",
        license="mit",  # ganzoo's own; the card says so and that the training data's terms apply too
        # A "dataset:" tag and the datasets key link to a Hub dataset, so only a dataset that is one gets them.
        tags=["ganzoo", "gan", variant, info.task.value, *(["2d-points"] if points else []), *([f"dataset:{hub_dataset}"] if hub_dataset else [])],
        datasets=[hub_dataset] if hub_dataset else None,
        pipeline_tag=pipeline,
        model_name=f"{variant}-{dname}" if evals else None,
        eval_results=evals or None,
    )
    dist = distribution_name(info.plugin.distribution)
    install = install_line(dist)
    paper = variant_cls.paper if variant_cls is not None else "(see the variant's plugin)"
    shape = "x".join(str(s) for s in info.data.shape)
    lines = [
        "---",
        card.to_yaml(),
        "---",
        CARD_MARK,
        "",
        f"# {variant} trained on {dataset}",
        "",
        f"A **{variant}** generator ({info.task.value}) trained with [ganzoo](https://pypi.org/project/{DISTRIBUTION}/) "
        f"{info.ganzoo_version} for {info.training.steps} steps on `{dataset}` "
        f"(samples of shape {shape}){' with EMA weights' if info.training.ema else ''}.",
        "",
        f"Paper: {paper}.",
        "",
        "## Samples",
        "",
        "![samples](samples.png)" if has_grid else "(no sample grid was written)",
        "",
        *_limitations_section(info.notes),
        *_results_section(results),
        "## Use with ganzoo",
        "",
        "```bash",
        install,
        "```",
        "",
        "```python",
        "import ganzoo",
        'model = ganzoo.load("path/to/this/folder")  # or "hf-hub:user/name" once pushed',
        *_ganzoo_usage(info),
        "```",
        "",
        "## Use with torch alone",
        "",
        "The generator is plain PyTorch; `config.json` holds its constructor arguments (`generator.args`) "
        "and what it takes and gives (`io`), `model.safetensors` its weights:",
        "",
        "```python",
        usage_snippet(info, variant_cls),
        "```",
        "",
        "## License",
        "",
        "The weights are released under the MIT license, as ganzoo is; the terms of the training data "
        f"(`{dataset}`) apply as well. Edit this section and the `license` field if yours differ.",
        "",
        "## Training",
        "",
        "Reproduce the weights with:",
        "",
        "```bash",
        install,
        one_line(info.training.command, 2000).replace("`", "'"),
        "```",
        "",
        "Config:",
        "",
        "```json",
        json.dumps(info.training.config, indent=2, sort_keys=True).replace("`", "\\u0060"),  # no way out of the code block
        "```",
        "",
    ]
    return "\n".join(lines)


def _limitations_section(notes: str) -> list[str]:
    if not notes:
        return []
    # One quoted line of text, as everything else config.json says: no headings, code or links of its own.
    return ["## Limitations", "", "> " + one_line(notes, 2000).replace("`", "'"), ""]


NOT_METRICS = ("_most_often",  # a class index: which class a translation most often gives
               "_floor", "_bicubic", "_identity",  # floors and baselines: the card's body reads the metric against them
               "_real",  # the same measure on real data (legible_real), or the model's against it
               )
NOT_METRIC_PREFIXES = ("n_", "readings", "judge_", "untranslated_", "restyled_")  # counts; the judges' own accuracy; baselines


def _measured(key: str, value: Any) -> bool:
    """A value model-index may hold: a finite number measured on the model. Not a sample, image or
    draw count, a spread (beside its mean in the card's table), a class index, or a floor or
    baseline (in the card's table, for the metric to be read against)."""
    bookkeeping = (key.startswith(NOT_METRIC_PREFIXES) or key.endswith(("_std", "_size", *NOT_METRICS))
                   or key in ("draws", "images"))
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and not bookkeeping


def _ganzoo_usage(info: ExportInfo) -> list[str]:
    if info.task == Task.UNPAIRED_TRANSLATION:
        return ["translated = model.translate(images, direction=\"a2b\")  # images in [0, 1], (N, C, H, W), any size"]
    if info.task == Task.SUPER_RESOLUTION:
        return [f"large = model.upscale(images)  # images in [0, 1]; {info.io.get('scale', '')}x larger"]
    if info.task == Task.CONDITIONAL:
        return ["images = model.sample(64, seed=0, labels=3)  # (64, C, H, W) in [0, 1], all of class 3 (or a class name)"]
    return ["images = model.sample(64, seed=0)  # (64, C, H, W) in [0, 1]"]


def _results_section(results: dict[str, Any] | None) -> list[str]:
    if not results or not results.get("metrics"):
        return []
    lines = ["## Evaluation", "", "Measured with `ganzoo eval` (each metric's sampling seed and ganzoo version beside it; "
             "± is the spread its protocol in eval.json defines: over evaluation draws, a bootstrap standard error, or over "
             "held-out images). Floors (`*_floor`: real data against itself or fresh real data), real data's own share (`*_real`) and baselines (`*_bicubic`, `untranslated_*`, "
             "`restyled_*`, `fid_b_identity`, the judges' own `judge_accuracy_*`) are what each number is read against; they, "
             "counts and class indices (`*_most_often`) are in this table only, and the card's model-index holds the model's own "
             "measurements, each with its protocol's id as `config`:", "",
             "| metric | value | seed | ganzoo |", "|---|---|---|---|"]
    for metric, result in sorted(results["metrics"].items()):
        seed, version = result.get("seed", results.get("seed")), result.get("ganzoo_version", results.get("ganzoo_version"))
        for key, text in with_spreads(result["values"]):
            lines.append(f"| {metric} {key} | {text} | {seed} | {version} |")
    return lines + ["", "Protocols (sample counts, seeds, splits) are in eval.json beside the weights.", ""]


