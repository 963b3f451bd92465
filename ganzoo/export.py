"""Exports: a trained generator as a folder laid out like a Hugging Face model repo.

    export/
      model.safetensors   generator weights, named by the generators' own modules ("G.blocks.0.conv.weight")
      config.json         export format 2 (docs/export-format.md): variant and plugin, the generator's
                          class and flat constructor arguments, an io block, the training record
      README.md           model card: Hub metadata, how to load it with ganzoo or with torch alone
      samples.png         the final sample grid, shown in the card

Loading builds the variant's generator half from config.json alone and checks every tensor by
name, shape and dtype (and for NaN/Inf) before using it. Nothing is unpickled. Exports written by
ganzoo 0.1 (format 1) load too: their tensors are renamed to the current generators' names.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import math
import re
import shlex
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn

from ._files import Damaged, read_json_object, safetensors_header
from ._io import atomic_write_bytes, atomic_write_json, atomic_write_text
from ._text import distribution_name, one_line, shown, with_spreads
from ._version import __version__
from .config import TrainConfig, check_value, field_types, to_dict
from .data.types import DataInfo
from .errors import ExportError, GanzooError
from .model import FORMAT_VERSION, ExportInfo, GeneratorSpec, Model, PluginRef, TrainingRecord
from .variant import Task, Variant, unwrap

log = logging.getLogger(__name__)

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
CARD = "README.md"
GRID = "samples.png"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
CARD_MARK = "<!-- written by ganzoo: rewritten when the model is evaluated -->"
# The Hub's task list has no class-conditional generation; its class-conditional GANs are listed
# under unconditional-image-generation, so ours are too.
PIPELINE_TAGS = {
    Task.UNCONDITIONAL: "unconditional-image-generation",
    Task.CONDITIONAL: "unconditional-image-generation",
    Task.UNPAIRED_TRANSLATION: "image-to-image",
    Task.SUPER_RESOLUTION: "image-to-image",
}


# -- describing a variant as an export ---------------------------------------------------------------


def io_block(variant: Variant) -> dict[str, Any]:
    """What any program needs to drive the generators: inputs, output range and layout, labels."""
    data = variant.data
    io: dict[str, Any] = {"inputs": variant.input_spec()}
    if data.kind == "image":
        io["output"] = {"kind": "image", "layout": "NCHW", "dtype": "float32", "range": [-1.0, 1.0],
                        "to_unit_range": "(x + 1) / 2", "channels": data.shape[0]}
    else:
        io["output"] = {"kind": "points", "layout": "ND", "dtype": "float32", "range": None}
    if variant.task in (Task.UNCONDITIONAL, Task.CONDITIONAL):
        io["output"]["shape"] = list(data.shape)
    if variant.task == Task.CONDITIONAL:
        names = data.class_names or tuple(str(i) for i in range(data.num_classes or 0))
        io["num_classes"] = data.num_classes
        io["id2label"] = {str(i): name for i, name in enumerate(names)}
    if variant.task == Task.UNPAIRED_TRANSLATION:
        io["directions"] = {"a2b": variant.generator_names[0], "b2a": variant.generator_names[1]}
    if variant.task == Task.SUPER_RESOLUTION:
        io["scale"] = type(variant).scale
    return io


def export_info(variant: Variant, *, plugin: PluginRef, dataset: str, steps: int, ema: bool,
                train: TrainConfig | None = None) -> ExportInfo:
    """The config.json of ``variant``'s generators as they are now (trained or fresh)."""
    gens = variant.generators()
    classes = {type(unwrap(g)).__name__ for g in gens.values()}
    return ExportInfo(
        variant=variant.name,
        plugin=plugin,
        task=variant.task,
        generator=GeneratorSpec(cls=" ".join(sorted(classes)), modules=tuple(gens), args=dict(variant.args)),
        io=io_block(variant),
        data=variant.data,
        training=TrainingRecord(
            dataset=dataset, steps=steps, ema=ema, config=to_dict(variant.config),
            train=to_dict(train) if train is not None else {},
            command=reproduce_command(type(variant), dataset, variant.config, train),
        ),
        ganzoo_version=__version__,
    )


def reproduce_command(cls: type[Variant], dataset: str, config: Any, train: TrainConfig | None) -> str:
    """A `ganzoo run` line that trains the same weights: every key that differs from its default,
    dataset paths made relative (or reduced to their name), so the line holds no local path."""
    parts = ["ganzoo", "run", cls.name]
    if dataset != cls.default_dataset:
        parts += ["--data", _portable_path(dataset)]
    pairs = _changed(config, cls.Config())
    if train is not None:
        from .config import replace

        defaults = replace(TrainConfig(), dict(cls.train_defaults))  # the variant's own trainer defaults need no --set
        pairs += [(k, v) for k, v in _changed(train, defaults) if k != "device"]  # the device changes no recipe
    for key, value in pairs:
        parts += ["--set", f"{key}={_set_text(value)}"]
    return shlex.join(parts)


def _changed(cfg: Any, default: Any) -> list[tuple[str, Any]]:
    new, old = to_dict(cfg), to_dict(default)
    return [(k, v) for k, v in new.items() if old.get(k) != v]


def _set_text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_set_text(v) for v in value)
    return str(value)


def _portable_path(text: str) -> str:
    path = Path(text)
    if not path.is_absolute():
        return text
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return path.name


# -- writing -----------------------------------------------------------------------------------------


def generator_state(variant: Variant) -> dict[str, torch.Tensor]:
    """The generators' tensors, named ``<attribute>.<key>``: the names a format-2 export holds."""
    return {
        f"{name}.{key}": value.detach().to("cpu", copy=True).contiguous()
        for name, module in variant.generators().items()
        for key, value in unwrap(module).state_dict().items()
    }


def write_export(folder: Path, *, variant: Variant, info: ExportInfo, grid_png: bytes | None,
                 tensors: dict[str, torch.Tensor] | None = None) -> Path:
    """Write the export folder: weights (``tensors``, default the variant's generators), config.json,
    the model card, and the grid when given."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = info.to_json()
    weights = save(tensors if tensors is not None else generator_state(variant),
                   metadata={"format": "pt", "ganzoo_format": str(FORMAT_VERSION)})
    atomic_write_bytes(folder / WEIGHTS, weights)
    atomic_write_json(folder / CONFIG, doc)
    if grid_png is not None:
        atomic_write_bytes(folder / GRID, grid_png)
    atomic_write_text(folder / CARD, model_card(info, type(variant), has_grid=grid_png is not None or (folder / GRID).is_file()))
    return folder


def refresh_card(folder: Path, model: Model, results: dict[str, Any]) -> bool:
    """Re-render a ganzoo-written model card with evaluation results as model-index; a card the
    user wrote (without ganzoo's mark) is left alone. Returns whether the card was rewritten."""
    card = folder / CARD
    if card.is_file() and CARD_MARK not in card.read_text(errors="replace"):
        return False
    atomic_write_text(card, model_card(model.info, type(model.variant), has_grid=(folder / GRID).is_file(), results=results))
    return True


# -- the model card ----------------------------------------------------------------------------------


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
            f'    translated = generators[config["io"]["directions"]["a2b"]](x)  # domain B, same size',
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
    dname = Path(dataset).name
    pipeline = PIPELINE_TAGS[info.task]
    evals = [
        EvalResult(
            task_type=pipeline, dataset_type=dname, dataset_name=dname,
            metric_type=key, metric_name=f"{metric} {key}", metric_value=value,
        )
        for metric, result in (results or {}).get("metrics", {}).items()
        for key, value in result["values"].items()
        if _measured(key, value)
    ]
    card = ModelCardData(
        library_name="ganzoo",
        license="mit",  # ganzoo's own; the card says so and that the training data's terms apply too
        tags=["ganzoo", "gan", variant, f"dataset:{dname}", info.task.value],
        pipeline_tag=pipeline,
        model_name=f"{variant}-{dname}" if evals else None,
        eval_results=evals or None,
    )
    dist = distribution_name(info.plugin.distribution)
    install = "pip install ganzoo" if dist in (None, "ganzoo") else f"pip install ganzoo {dist}"
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
        f"A **{variant}** generator ({info.task.value}) trained with [ganzoo](https://pypi.org/project/ganzoo/) "
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


def _measured(key: str, value: Any) -> bool:
    """A value model-index may hold: a finite number that was measured, not a sample count, a
    draw count or a spread (spreads are in the card's table, beside their means)."""
    bookkeeping = key.startswith("n_") or key.endswith(("_std", "_size")) or key == "draws"
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
             "held-out images):", "",
             "| metric | value | seed | ganzoo |", "|---|---|---|---|"]
    for metric, result in sorted(results["metrics"].items()):
        seed, version = result.get("seed", results.get("seed")), result.get("ganzoo_version", results.get("ganzoo_version"))
        for key, text in with_spreads(result["values"]):
            lines.append(f"| {metric} {key} | {text} | {seed} | {version} |")
    return lines + ["", "Protocols (sample counts, seeds, splits) are in eval.json beside the weights.", ""]


# -- reading -----------------------------------------------------------------------------------------


def read_doc(folder: Path) -> dict[str, Any]:
    """config.json of the export in ``folder``, as a JSON object, after the folder checks."""
    if not folder.exists():
        raise ExportError(f"export folder '{folder}' does not exist")
    if not folder.is_dir():
        raise ExportError(f"'{folder}' is not an export folder (expected a folder with {CONFIG} and {WEIGHTS})")
    if not (folder / CONFIG).exists():
        pickles = [p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES]
        extra = f"; pickle-format files ({', '.join(pickles)}) are never loaded" if pickles else ""
        raise ExportError(f"'{folder}' is not a ganzoo export: it has no {CONFIG}{extra}")
    try:
        doc = read_json_object(folder / CONFIG)
    except Damaged as exc:
        raise ExportError(f"'{folder / CONFIG}' {exc}") from None
    if "train" in doc and "generator" not in doc and "config" in doc and "dataset" in doc:
        raise ExportError(f"'{folder}' is a run directory whose export is missing (no {folder / 'export' / CONFIG}); "
                          f"finish the run with `ganzoo run {shown(doc.get('variant'))[1:-1]} --resume {folder}`")
    required = ("variant", "config", "data") if format_version(doc) == 1 else ("variant", "task", "generator", "io", "data", "training")
    for key in required:
        if key not in doc:
            raise ExportError(f"'{folder / CONFIG}' lacks the '{key}' entry of a ganzoo export")
    if not (folder / WEIGHTS).exists():
        raise ExportError(f"'{folder}' is not a ganzoo export: it has no {WEIGHTS}")
    return doc


def format_version(doc: dict[str, Any]) -> int:
    return int(doc.get("format_version", 1)) if isinstance(doc.get("format_version", 1), int) else -1


def parse_info(doc: dict[str, Any], where: Path) -> ExportInfo:
    """A format-2 config.json as typed data, every entry checked (type, allowed values, bounds);
    ExportError naming the file and the entry otherwise."""
    try:
        gen, training, plugin, io = doc["generator"], doc["training"], doc.get("plugin") or {}, doc["io"]
        _expect(isinstance(doc["variant"], str) and 0 < len(doc["variant"]) <= 100, "variant", "a name of at most 100 characters")
        _expect(doc["task"] in {t.value for t in Task}, "task", "one of " + ", ".join(t.value for t in Task))
        _expect(isinstance(plugin, dict), "plugin", "an object")
        _expect(all(v is None or isinstance(v, str) for v in (plugin.get("distribution"), plugin.get("version"))),
                "plugin", "an object of strings")
        _expect(isinstance(gen, dict), "generator", "an object")
        _expect(isinstance(gen.get("args"), dict) and all(isinstance(k, str) for k in gen["args"]), "generator.args", "an object")
        _expect(isinstance(gen.get("modules"), list) and gen["modules"] and all(isinstance(m, str) for m in gen["modules"]),
                "generator.modules", "a non-empty list of names")
        _expect(isinstance(gen.get("class", ""), str), "generator.class", "a string")
        _expect(isinstance(io, dict), "io", "an object")
        _expect(isinstance(training, dict), "training", "an object")
        steps = training.get("steps", 0)
        _expect(isinstance(steps, int) and not isinstance(steps, bool) and steps >= 0, "training.steps", "a non-negative integer")
        _expect(isinstance(training.get("ema", False), bool), "training.ema", "true or false")
        for key in ("config", "train"):
            _expect(isinstance(training.get(key) or {}, dict), f"training.{key}", "an object")
        for key in ("dataset", "command"):
            _expect(isinstance(training.get(key, ""), str), f"training.{key}", "a string")
        _expect(isinstance(doc.get("ganzoo_version", ""), str), "ganzoo_version", "a string")
        _expect(isinstance(doc.get("notes", ""), str), "notes", "a string")
        return ExportInfo(
            variant=doc["variant"],
            plugin=PluginRef(plugin.get("distribution"), plugin.get("version")),
            task=Task(doc["task"]),
            generator=GeneratorSpec(cls=gen.get("class", ""), modules=tuple(gen["modules"]), args=gen["args"]),
            io=io,
            data=DataInfo.from_dict(doc["data"]),
            training=TrainingRecord(
                dataset=training.get("dataset", ""), steps=steps, ema=training.get("ema", False),
                config=dict(training.get("config") or {}), train=dict(training.get("train") or {}), command=training.get("command", ""),
            ),
            ganzoo_version=doc.get("ganzoo_version", ""),
            format_version=format_version(doc),
            notes=doc.get("notes", ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        what = f"lacks the entry {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ExportError(f"'{where}' is not a valid ganzoo export config: {what}") from None


def _expect(ok: bool, entry: str, what: str) -> None:
    if not ok:
        raise ValueError(f"entry '{entry}' must be {what}")


def lenient_config(cls: type[Variant], values: dict[str, Any]) -> Any:
    """The variant's config with the recorded values that still fit it: a training key a newer
    plugin renamed or retyped falls back to its default, since sampling never reads one."""
    types = field_types(cls.Config)
    kept = {}
    for key, value in values.items():
        if key not in types:
            log.debug("%s: ignoring recorded config key %r, which the variant no longer has", cls.name, key)
            continue
        try:
            kept[key] = check_value(key, types[key], value)
        except Exception:
            log.debug("%s: ignoring recorded config key %r=%r, which no longer fits its type", cls.name, key, value)
    return dataclasses.replace(cls.Config(), **kept)


def load_export(folder: str | Path, variants: Mapping[str, type[Variant]], device: str | torch.device = "cpu") -> Model:
    """Build the generator half of the variant named in config.json (from ``variants``, the
    registry's) and load the checked weights into it."""
    folder = Path(folder).expanduser()
    doc = read_doc(folder)
    version = format_version(doc)
    if version not in (1, FORMAT_VERSION):
        raise ExportError(f"'{folder / CONFIG}' has export format {shown(doc.get('format_version'))}; this ganzoo ({__version__}) reads formats 1 and {FORMAT_VERSION}; upgrade ganzoo")
    name = doc["variant"]
    if not isinstance(name, str) or name not in variants:
        plugin = doc.get("plugin")
        dist = distribution_name(plugin.get("distribution")) if isinstance(plugin, dict) else None
        how = (f"its config.json says the distribution {shown(dist)} provides it" if dist
               else "its config.json names no valid distribution that provides it")
        raise ExportError(
            f"'{folder}' holds a model of variant {shown(name)}, which no installed plugin provides; {how}. "
            "Install the plugin you trust for it, then check `ganzoo list`"
        )
    cls = variants[name]
    if version == 1:
        info = _info_from_format1(doc, cls, folder)
        log.warning("'%s' is an export of ganzoo 0.1 (export format 1, older than this ganzoo's %d); loaded, its tensors renamed to the current layout",
                    folder, FORMAT_VERSION)
    else:
        info = parse_info(doc, folder / CONFIG)
    if tuple(info.generator.modules) != tuple(cls.generator_names):
        raise ExportError(f"'{folder / CONFIG}' names generators {list(info.generator.modules)}, but variant '{name}' has {list(cls.generator_names)}")
    config = lenient_config(cls, info.training.config)
    try:
        variant = cls(config, info.data, device, training=False, args=info.generator.args)
    except GanzooError as exc:
        raise ExportError(f"'{folder / CONFIG}': {exc}") from None
    except Exception as exc:  # noqa: BLE001 - arguments from a file: any failure to build is the file's
        raise ExportError(f"'{folder / CONFIG}': the generator cannot be built from its arguments (generator.args): "
                          f"{type(exc).__name__}: {shown(str(exc), 200)[1:-1]}") from None
    expected = generator_state(variant)
    found = _header(folder / WEIGHTS)
    rename = _format1_names(found, cls, variant) if version == 1 else {k: k for k in found}
    problems = []
    inverse = {new: old for old, new in rename.items()}
    for key, tensor in expected.items():
        if key not in inverse:
            problems.append(f"missing tensor '{key}'")
            continue
        shape, dtype = found[inverse[key]]
        if shape != tuple(tensor.shape):
            problems.append(f"'{inverse[key]}' has shape {list(shape)}, config expects {list(tensor.shape)}")
        elif _dtype_name(tensor.dtype) != dtype and not (tensor.is_floating_point() and dtype in ("F16", "BF16", "F32")):
            problems.append(f"'{inverse[key]}' has dtype {dtype}, config expects {_dtype_name(tensor.dtype)}")
    problems += [f"unexpected tensor '{k}'" for k, new in rename.items() if new not in expected]
    if problems:
        raise ExportError(f"weights in '{folder / WEIGHTS}' do not match its config: " + "; ".join(problems[:10]))
    try:
        tensors = {rename[k]: v for k, v in load_file(str(folder / WEIGHTS)).items()}
    except (SafetensorError, OSError) as exc:  # changed since its header was checked
        raise ExportError(f"'{folder / WEIGHTS}' cannot be read: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise ExportError(f"weights in '{folder / WEIGHTS}' hold NaN or infinite values (in '{bad[0]}'{f' and {len(bad) - 1} more' if len(bad) > 1 else ''}); they cannot give images")
    for name_, module in variant.generators().items():
        head = name_ + "."
        own = module.state_dict()
        module.load_state_dict({k[len(head):]: v.to(own[k[len(head):]].dtype) for k, v in tensors.items() if k.startswith(head)})
        module.eval()
    return Model(variant, info, folder)


def _header(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    try:
        entries, _ = safetensors_header(path)
    except Damaged as exc:
        raise ExportError(f"'{path}' {exc}") from None
    return {k: (e.shape, e.dtype) for k, e in entries.items()}


def _info_from_format1(doc: dict[str, Any], cls: type[Variant], folder: Path) -> ExportInfo:
    """What a 0.1 export's config.json (variant config, data, dataset, steps) says, as format 2."""
    try:
        data = DataInfo.from_dict(doc["data"])
        config = lenient_config(cls, dict(doc["config"]))
        args = cls.generator_args(config, data)
        probe = cls(config, data, "cpu", training=False, args=args)  # for the io block; weights are not loaded into it
    except Exception as exc:  # noqa: BLE001 - a file's content: any failure is the file's
        raise ExportError(f"'{folder / CONFIG}' is not a valid ganzoo 0.1 export config: {type(exc).__name__}: {shown(str(exc), 200)[1:-1]}") from None
    plugin = doc.get("plugin") or {}
    dataset = str(doc.get("dataset", data.name))
    return ExportInfo(
        variant=cls.name, plugin=PluginRef(plugin.get("distribution"), plugin.get("version")), task=cls.task,
        generator=GeneratorSpec(cls=" ".join(sorted({type(g).__name__ for g in probe.generators().values()})),
                                modules=tuple(cls.generator_names), args=dict(args)),
        io=io_block(probe), data=data,
        training=TrainingRecord(dataset=dataset, steps=int(doc.get("trained_steps", 0)), ema=bool(doc.get("ema", False)),
                                config=dict(doc["config"]), train={}, command=reproduce_command(cls, dataset, config, None)),
        ganzoo_version=str(doc.get("ganzoo_version", "0.1.0")), format_version=1,
    )


def _format1_names(found: Mapping[str, Any], cls: type[Variant], variant: Variant) -> dict[str, str]:
    """Format-1 tensor name -> format-2 name, generator by generator (``format1_generator_names``
    pairs with ``generator_names``); within a generator, module by module in forward order."""
    old_names = cls.format1_generator_names
    if len(old_names) != len(cls.generator_names):
        raise ExportError(f"variant '{cls.name}' cannot read ganzoo 0.1 exports (it declares no format-1 generator names)")
    mapping: dict[str, str] = {}
    for old, (new, module) in zip(old_names, variant.generators().items()):
        own = {k[len(old) + 1:]: v for k, v in found.items() if k.startswith(old + ".")}
        renamed = rename_by_order(list(own), list(unwrap(module).state_dict()), cls.format1_module_order)
        mapping.update({f"{old}.{k}": f"{new}.{v}" for k, v in renamed.items()})
    for k in found:  # anything left over is reported as unexpected
        mapping.setdefault(k, k)
    return mapping


def rename_by_order(old_keys: list[str], new_keys: list[str], top_order: tuple[str, ...] = ()) -> dict[str, str]:
    """Pair the tensors of two layouts of the same network: modules (key prefixes) in forward order,
    the old one's recovered from its names (numbers compared as numbers, ``top_order`` ranking the
    first component), each pair holding the same leaves (weight, bias, running_mean...). Returns
    old -> new; an empty mapping when the layouts differ (the caller then reports the mismatch)."""
    def groups(keys: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key in keys:
            prefix, _, leaf = key.rpartition(".")
            out.setdefault(prefix, []).append(leaf)
        return out

    def order(prefix: str):
        parts = prefix.split(".")
        rank = top_order.index(parts[0]) if parts[0] in top_order else len(top_order)
        return (rank, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts))

    old_groups, new_groups = groups(old_keys), groups(new_keys)
    old_prefixes = sorted(old_groups, key=order)
    if len(old_prefixes) != len(new_groups):
        return {}
    mapping = {}
    for op, (np_, leaves) in zip(old_prefixes, new_groups.items()):
        if sorted(old_groups[op]) != sorted(leaves):
            return {}
        for leaf in leaves:
            mapping[f"{op}.{leaf}" if op else leaf] = f"{np_}.{leaf}" if np_ else leaf
    return mapping


def _dtype_name(dtype: torch.dtype) -> str:
    return {
        torch.float32: "F32",
        torch.float16: "F16",
        torch.bfloat16: "BF16",
        torch.float64: "F64",
        torch.int64: "I64",
        torch.int32: "I32",
        torch.uint8: "U8",
        torch.bool: "BOOL",
    }.get(dtype, str(dtype))
