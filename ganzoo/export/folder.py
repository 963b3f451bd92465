"""Writing an export folder and loading it back as a :class:`~ganzoo.model.Model`.

Loading builds the variant's generator half from config.json alone and checks every tensor by
name, shape and dtype (and for NaN/Inf) before using it. Nothing is unpickled. A format-1 export
(ganzoo 0.1) is handed to ``legacy`` for its config and tensor names, and loads the same way.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from .._files import Damaged, safetensors_header
from .._io import atomic_write_bytes, atomic_write_json
from .._text import distribution_name, escaped, shown
from .._version import DISTRIBUTION, FORMER_DISTRIBUTIONS, __version__
from ..errors import ExportError, GanzooError
from ..model import Model
from ..variant import Task, Variant, unwrap
from . import legacy
from .card import write_card
from .describe import lenient_config
from .format import CONFIG, FORMAT_VERSION, GRID, WEIGHTS, ExportInfo, format_version, read_doc

log = logging.getLogger(__name__)


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
    write_card(folder, info, type(variant))
    return folder



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
        dist = DISTRIBUTION if dist in FORMER_DISTRIBUTIONS else dist
        how = (f"its config.json says the distribution {shown(dist)} provides it" if dist
               else "its config.json names no valid distribution that provides it")
        raise ExportError(
            f"'{folder}' holds a model of variant {shown(name)}, which no installed plugin provides; {how}. "
            "Install the plugin you trust for it, then check `ganzoo list`"
        )
    cls = variants[name]
    if version == 1:
        info = legacy.export_info(doc, cls, folder)
        log.warning("'%s' is an export of ganzoo 0.1 (export format 1, older than this ganzoo's %d); loaded, its tensors renamed to the current layout",
                    folder, FORMAT_VERSION)
    else:
        info = ExportInfo.from_json(doc, folder / CONFIG)
    if tuple(info.generator.modules) != tuple(cls.generator_names):
        raise ExportError(f"'{folder / CONFIG}' names generators {list(info.generator.modules)}, but variant '{name}' has {list(cls.generator_names)}")
    config = lenient_config(cls, info.training.config)
    try:
        with warnings.catch_warnings():  # degenerate arguments (a zero width) make torch warn before we refuse them
            warnings.simplefilter("ignore", UserWarning)
            variant = cls(config, info.data, device, training=False, args=info.generator.args)
    except GanzooError as exc:
        raise ExportError(f"'{folder / CONFIG}': {exc}") from None
    except Exception as exc:  # noqa: BLE001 - arguments from a file: any failure to build is the file's
        raise ExportError(f"'{folder / CONFIG}': the generator cannot be built from its arguments (generator.args): "
                          f"{type(exc).__name__}: {escaped(str(exc), 200)}") from None
    expected = generator_state(variant)
    found = _header(folder / WEIGHTS)
    rename = legacy.tensor_names(found, cls, variant) if version == 1 else {k: k for k in found}
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
    _check_output(variant, info, folder / CONFIG)
    return Model(variant, info, folder)


PROBE = 64  # side of the test image an image-to-image generator is tried on (CycleGAN needs room for its stages)


@torch.no_grad()
def _check_output(variant: Variant, info: ExportInfo, where: Path) -> None:
    """Refuse a config.json whose ``data.shape`` is not what the generator makes (one sample, or a
    tiny image through a translator or upscaler): everything downstream (grids, metrics, tiling)
    trusts that shape, so a lie must stop here, in one line, not as a traceback later."""
    shape, task = tuple(info.data.shape), info.task
    try:
        if task in (Task.UNCONDITIONAL, Task.CONDITIONAL):
            made = tuple(variant.generate(**variant.sample_inputs(1, torch.Generator().manual_seed(0))).shape[1:])
            what = "one sample of shape"
        else:
            x = torch.zeros(1, shape[0], PROBE, PROBE, device=variant.device)
            y = variant.upscale(x) if task == Task.SUPER_RESOLUTION else variant.translate(x, "a2b")
            made, shape = tuple(y.shape[1:2]), shape[:1]
            what = "images with channels"
    except (RuntimeError, ValueError) as exc:
        raise ExportError(f"'{where}': data.shape {list(info.data.shape)} does not fit the generator, which fails on it "
                          f"({escaped(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 160)})") from None
    finally:
        for g in variant.generators().values():
            g.eval()
    if made != shape:
        raise ExportError(f"'{where}': data.shape says {list(info.data.shape)}, but the generator makes {what} {list(made)}; "
                          "the config.json does not describe these weights")


def _header(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    try:
        entries, _ = safetensors_header(path)
    except Damaged as exc:
        raise ExportError(f"'{path}' {exc}") from None
    return {k: (e.shape, e.dtype) for k, e in entries.items()}




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
