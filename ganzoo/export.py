"""Exports: a trained generator as a folder laid out like a Hugging Face model repo.

    export/
      model.safetensors   generator weights; variant, config and ganzoo version also in its metadata
      config.json         variant, config, data description, ganzoo version
      README.md           model card with YAML front matter (library_name: ganzoo)
      samples.png         the final sample grid, shown in the card

An export is rebuilt from config.json alone (the variant class comes from the registry), and its
tensors are checked by name, shape and dtype before they are loaded. Nothing is unpickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save

from . import __version__
from ._io import atomic_write_bytes, atomic_write_json, atomic_write_text
from .config import replace, to_dict
from .errors import ConfigError, ExportError, GanzooError, PluginError
from .variant import DataInfo, Task, Variant, unwrap

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
CARD = "README.md"
GRID = "samples.png"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")


def generator_state(variant: Variant) -> dict[str, torch.Tensor]:
    return {
        f"{name}.{key}": value.detach().to("cpu", copy=True).contiguous()
        for name, module in variant.generators().items()
        for key, value in unwrap(module).state_dict().items()
    }


def write_export(folder: Path, *, variant: Variant, doc: dict[str, Any], grid_png: bytes | None, command: str) -> Path:
    """Write the export folder; ``doc`` is the config.json document (see ``export_doc``)."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = save(generator_state(variant), metadata={"format": "pt", "ganzoo": json.dumps(doc, sort_keys=True)})
    atomic_write_bytes(folder / WEIGHTS, weights)
    atomic_write_json(folder / CONFIG, doc)
    if grid_png is not None:
        atomic_write_bytes(folder / GRID, grid_png)
    atomic_write_text(folder / CARD, model_card(doc, command=command, has_grid=grid_png is not None))
    return folder


CARD_MARK = "<!-- written by ganzoo: rewritten when the model is evaluated -->"


def refresh_card(folder: Path, results: dict[str, Any]) -> bool:
    """Re-render a ganzoo-written model card with evaluation results as model-index; a card the
    user wrote (without ganzoo's mark) is left alone. Returns whether the card was rewritten."""
    card = folder / CARD
    if card.is_file() and CARD_MARK not in card.read_text():
        return False
    doc = read_doc(folder)
    text = model_card(doc, command=doc.get("command", ""), has_grid=(folder / GRID).is_file(), results=results)
    atomic_write_text(card, text)
    return True


def export_doc(variant: Variant, *, dataset: str, steps: int, ema: bool, command: str = "") -> dict[str, Any]:
    from ._plugins import registry

    distribution, version = registry().distribution_of_variant(variant.name)
    return {
        "library_name": "ganzoo",
        "ganzoo_version": __version__,
        "variant": variant.name,
        "plugin": {"distribution": distribution, "version": version},  # what to pip install to load it
        "task": variant.task.value,
        "config": to_dict(variant.config),
        "data": variant.data.to_dict(),
        "dataset": dataset,
        "trained_steps": steps,
        "ema": ema,
        "command": command,
    }


def model_card(doc: dict[str, Any], *, command: str, has_grid: bool, results: dict[str, Any] | None = None) -> str:
    from huggingface_hub import EvalResult, ModelCardData

    variant, dataset = doc["variant"], doc["dataset"]
    task = "unconditional-image-generation" if doc["task"] == "unconditional" else doc["task"]
    evals = [
        EvalResult(
            task_type=task, dataset_type=Path(dataset).name, dataset_name=Path(dataset).name,
            metric_type=key, metric_name=f"{metric} {key}", metric_value=value,
        )
        for metric, result in (results or {}).get("metrics", {}).items()
        for key, value in result["values"].items()
        if isinstance(value, (int, float))
    ]
    card = ModelCardData(
        library_name="ganzoo",
        license="mit",  # ganzoo's own; the card says so and that the training data's terms apply too
        tags=["ganzoo", "gan", variant, f"dataset:{Path(dataset).name}", doc["task"]],
        pipeline_tag="unconditional-image-generation" if doc["task"] == "unconditional" else None,
        model_name=f"{variant}-{Path(dataset).name}" if evals else None,
        eval_results=evals or None,
    )
    shape = "x".join(str(s) for s in doc["data"]["shape"])
    lines = [
        "---",
        card.to_yaml(),
        "---",
        CARD_MARK,
        "",
        f"# {variant} trained on {dataset}",
        "",
        f"A **{variant}** generator ({doc['task']}) trained with [ganzoo](https://pypi.org/project/ganzoo/) "
        f"{doc['ganzoo_version']} for {doc['trained_steps']} steps on `{dataset}` "
        f"(samples of shape {shape}){' with EMA weights' if doc['ema'] else ''}.",
        "",
        "## Samples",
        "",
        "![samples](samples.png)" if has_grid else "(no sample grid was written)",
        "",
        *_results_section(results),
        "## Use",
        "",
        "```python",
        "import ganzoo",
        'model = ganzoo.load("path/to/this/folder")  # or "hf-hub:user/name" once pushed',
        "images = model.sample(64, seed=0)  # (64, C, H, W) in [0, 1]",
        "```",
        "",
        "or from the command line: `ganzoo sample path/to/this/folder -n 64 -o grid.png`.",
        "",
        "## License",
        "",
        "The weights are released under the MIT license, as ganzoo is; the terms of the training data "
        f"(`{dataset}`) apply as well. Edit this section and the `license` field if yours differ.",
        "",
        "## Training",
        "",
        "```",
        command,
        "```",
        "",
        "Config:",
        "",
        "```json",
        json.dumps(doc["config"], indent=2, sort_keys=True),
        "```",
        "",
    ]
    return "\n".join(lines)


def _results_section(results: dict[str, Any] | None) -> list[str]:
    if not results:
        return []
    lines = ["## Evaluation", "", f"`ganzoo eval`, seed {results['seed']}, ganzoo {results['ganzoo_version']}:", "",
             "| metric | value |", "|---|---|"]
    for metric, result in results["metrics"].items():
        for key, value in result["values"].items():
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            lines.append(f"| {metric} {key} | {shown} |")
    return lines + ["", "Protocols are in eval.json beside the weights.", ""]


# -- loading -------------------------------------------------------------------------------------


@dataclass
class Model:
    """A generator loaded from an export, ready to sample."""

    variant: Variant  # the rebuilt variant holding the loaded generator weights
    doc: dict[str, Any]  # the export's config.json
    path: Path | None  # the folder it came from; None for a fresh ganzoo.create() model

    @property
    def name(self) -> str:
        return self.variant.name

    @torch.no_grad()
    def sample(self, n: int = 64, seed: int = 0, labels: torch.Tensor | list[int] | int | None = None) -> torch.Tensor:
        """``n`` samples on the model's device, the same for the same seed: images in [0, 1],
        points as they are."""
        out = self.generate(n, seed=seed, labels=labels).float()
        return out if self.variant.data.kind == "points" else out.add(1).div(2).clamp(0, 1)

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """Unpaired translation (CycleGAN): images in [0, 1], (N, C, H, W) or (C, H, W), of domain A
        ("a2b") or B ("b2a") -> the other domain's, in [0, 1], on the model's device."""
        if direction not in ("a2b", "b2a"):
            raise GanzooError(f"direction must be 'a2b' or 'b2a', got {direction!r}")
        return self._image_to_image(images, lambda x: self.variant.translate(x, direction))

    @torch.no_grad()
    def upscale(self, images: torch.Tensor, tile: int | None = None) -> torch.Tensor:
        """Super-resolution: images in [0, 1], (N, C, h, w) or (C, h, w) -> ``scale`` times larger, in
        [0, 1]. ``tile`` (LR pixels) processes large images in overlapping tiles to bound memory."""
        fn = self.variant.upscale if tile is None else lambda x: _tiled(self.variant.upscale, x, tile, self.variant.scale)
        return self._image_to_image(images, fn)

    def _image_to_image(self, images: torch.Tensor, fn) -> torch.Tensor:
        single = images.ndim == 3
        x = images.unsqueeze(0) if single else images
        if x.ndim != 4 or x.shape[1] != self.variant.data.shape[0]:
            raise GanzooError(f"expected images shaped (N, {self.variant.data.shape[0]}, H, W), got {tuple(images.shape)}")
        if x.dtype == torch.uint8:
            x = x.float() / 255
        for g in self.variant.generators().values():
            g.eval()
        out = fn(x.to(self.variant.device, torch.float32) * 2 - 1).float().add(1).div(2).clamp(0, 1)
        return out[0] if single else out

    @torch.no_grad()
    def generate(self, n: int, seed: int = 0, labels: torch.Tensor | list[int] | int | None = None) -> torch.Tensor:
        """``n`` samples in the variant's own range ([-1, 1] for images), as the trainer sees them."""
        if isinstance(labels, int):
            labels = [labels] * n
        if labels is not None:
            if self.variant.task != Task.CONDITIONAL:
                raise GanzooError(f"variant '{self.name}' is unconditional and takes no labels")
            labels = torch.as_tensor(labels, dtype=torch.long, device=self.variant.device)
            nc = self.variant.data.num_classes
            if len(labels) != n or bool(((labels < 0) | (labels >= nc)).any()):
                raise GanzooError(f"labels must be {n} class indices in 0..{nc - 1}")
        rng = torch.Generator().manual_seed(seed)
        inputs = self.variant.sample_inputs(n, rng, labels)
        for g in self.variant.generators().values():
            g.eval()
        return self.variant.generate(**inputs)


def _tiled(fn, x: torch.Tensor, tile: int, scale: int, overlap: int = 32) -> torch.Tensor:
    """``fn`` (x``scale`` upscaling) over overlapping tiles of ``x``; each tile's border of
    ``overlap`` LR pixels is computed but discarded, so seams see the same context as the interior."""
    b, c, h, w = x.shape
    if h <= tile and w <= tile:
        return fn(x)
    out = x.new_empty(b, c, h * scale, w * scale)
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            t0, l0 = max(0, top - overlap), max(0, left - overlap)
            t1, l1 = min(h, top + tile + overlap), min(w, left + tile + overlap)
            y = fn(x[:, :, t0:t1, l0:l1])
            th, tw = min(tile, h - top), min(tile, w - left)
            oy, ox = (top - t0) * scale, (left - l0) * scale
            out[:, :, top * scale : (top + th) * scale, left * scale : (left + tw) * scale] = y[:, :, oy : oy + th * scale, ox : ox + tw * scale]
    return out


def read_doc(folder: Path) -> dict[str, Any]:
    if not folder.exists():
        raise ExportError(f"export folder '{folder}' does not exist")
    if not folder.is_dir():
        raise ExportError(f"'{folder}' is not an export folder (expected a folder with {CONFIG} and {WEIGHTS})")
    if not (folder / CONFIG).is_file():
        pickles = [p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES]
        extra = f"; pickle-format files ({', '.join(pickles)}) are never loaded" if pickles else ""
        raise ExportError(f"'{folder}' is not a ganzoo export: it has no {CONFIG}{extra}")
    try:
        doc = json.loads((folder / CONFIG).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExportError(f"'{folder / CONFIG}' is not valid JSON: {exc}") from None
    for key in ("variant", "config", "data"):
        if key not in doc:
            raise ExportError(f"'{folder / CONFIG}' lacks the '{key}' entry of a ganzoo export")
    if not (folder / WEIGHTS).is_file():
        raise ExportError(f"'{folder}' is not a ganzoo export: it has no {WEIGHTS}")
    return doc


def load_export(folder: str | Path, device: str | torch.device = "cpu") -> Model:
    """Rebuild the variant named in config.json and load the checked weights into its generators."""
    from ._plugins import registry

    folder = Path(folder).expanduser()
    doc = read_doc(folder)
    try:
        cls = registry().variant(doc["variant"])
    except PluginError:
        dist = (doc.get("plugin") or {}).get("distribution")
        how = f"`pip install {dist}`" if dist else "install the plugin that provides it"
        raise ExportError(
            f"'{folder}' holds a '{doc['variant']}' model, but no installed plugin provides variant "
            f"'{doc['variant']}'; {how}, then check `ganzoo list`"
        ) from None
    try:
        config = replace(cls.Config(), doc["config"])
    except ConfigError as exc:
        raise ExportError(f"'{folder / CONFIG}' does not fit variant '{cls.name}': {exc}") from None
    data = DataInfo.from_dict(doc["data"])
    variant = cls(config, data, device)
    expected = {k: v for k, v in generator_state(variant).items()}
    with safe_open(str(folder / WEIGHTS), framework="pt") as f:
        found = {k: (tuple(f.get_slice(k).get_shape()), f.get_slice(k).get_dtype()) for k in f.keys()}
    problems = []
    for key, tensor in expected.items():
        if key not in found:
            problems.append(f"missing tensor '{key}'")
            continue
        shape, dtype = found[key]
        if shape != tuple(tensor.shape):
            problems.append(f"'{key}' has shape {list(shape)}, config expects {list(tensor.shape)}")
        elif _dtype_name(tensor.dtype) != dtype and not (tensor.is_floating_point() and dtype in ("F16", "BF16", "F32")):
            problems.append(f"'{key}' has dtype {dtype}, config expects {_dtype_name(tensor.dtype)}")
    problems += [f"unexpected tensor '{k}'" for k in found if k not in expected]
    if problems:
        raise ExportError(f"weights in '{folder / WEIGHTS}' do not match its config: " + "; ".join(problems[:10]))
    tensors = load_file(str(folder / WEIGHTS))
    for name, module in variant.generators().items():
        head = name + "."
        state = {k[len(head) :]: v for k, v in tensors.items() if k.startswith(head)}
        module.load_state_dict({k: v.to(module.state_dict()[k].dtype) for k, v in state.items()})
        module.eval()
    return Model(variant, doc, folder)


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
