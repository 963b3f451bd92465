"""The evaluation harness: metrics registered by plugins, run on any export with a stated protocol.

A metric is a :class:`Metric` registered through the ``register_metrics`` hook. Its name encodes its
protocol (feature network, sample counts, reference split), and every result records the protocol
again with the sample counts, seed, ganzoo version and the model's identity, so a number can be
reproduced or rejected by anyone who reads it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import torch

from .._io import atomic_write_json
from .._version import __version__
from ..data import load_data
from ..errors import GanzooError
from ..export import load_export, refresh_card
from ..model import Model

if TYPE_CHECKING:
    from .._registry import Registry

RESULTS = "eval.json"


@dataclasses.dataclass(frozen=True)
class Metric:
    """A registered metric; ``compute`` returns named values, e.g. {"fid": 3.1, "fid_floor": 1.2}."""

    name: str  # id that encodes the protocol, e.g. "fid-digitscnn-halves"
    summary: str  # one line for `ganzoo metrics`
    protocol: dict[str, Any]  # what the number means: feature network, counts, split, thresholds
    applies: "Callable[[EvalContext], bool]"  # whether the metric makes sense for this model and data
    compute: "Callable[[EvalContext], dict[str, float]]"  # the values, larger/smaller-is-better per key
    default: bool = True  # run by `ganzoo eval` when no metric is named; False for ones that download weights


class EvalContext:
    """What a metric sees: the loaded model, its training data, a seed, and cached samples/features."""

    def __init__(self, model: Model, data, seed: int = 0, device: str | torch.device = "cpu", features=None, features_spec: str = ""):
        self.model = model  # ganzoo.Model: the generators, and the typed description of the export
        self.data = data  # InMemoryData the model was trained on (the reference)
        self.seed = seed
        self.device = torch.device(device)
        self.features = features  # user-supplied extractor: images in [-1, 1] -> (N, D), or None
        self.features_spec = features_spec  # "module:callable" it came from, recorded in results
        self._cache: dict[Any, Any] = {}

    @property
    def task(self) -> str:
        return self.model.task.value

    def cached(self, key: Any, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @torch.no_grad()
    def samples(self, n: int, labels: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` samples in the model's native range ([-1, 1] for images), generated in batches."""
        key = ("samples", n, None if labels is None else hashlib.sha1(labels.cpu().numpy().tobytes()).hexdigest())

        def make():
            chunks = []
            for i in range(0, n, 500):  # bounded memory; chunk i has its own seed, so n fixes the set
                lab = None if labels is None else labels[i : i + 500]
                chunks.append(self.model.generate(min(500, n - i), seed=self.seed + i, labels=lab).float().cpu())
            return torch.cat(chunks)

        return self.cached(key, make)

    def real(self) -> torch.Tensor:
        return self.cached("real", lambda: self.data.as_model_input(self.data.x).cpu())


def model_identity(path: Path) -> dict[str, Any]:
    """Which model a result belongs to: its folder, variant and the sha256 of its weights."""
    weights = path / "model.safetensors"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest() if weights.is_file() else None
    return {"path": str(path), "weights_sha256": digest}


def load_features(spec: str, device: str | torch.device = "cpu"):
    """``"package.module:factory"`` -> the extractor ``factory()`` builds, in eval mode on ``device``."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise GanzooError(f"--features expects MODULE:CALLABLE, got {spec!r}")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise GanzooError(f"cannot load feature extractor {spec!r}: {exc}") from None
    extractor = factory()
    if isinstance(extractor, torch.nn.Module):
        extractor = extractor.to(device).eval()
    return extractor


def evaluate(path: str | Path, registry: "Registry", metrics: list[str] | None = None, *, seed: int = 0, device: str = "cpu",
             write: bool = True, features: str | None = None) -> dict[str, Any]:
    """Score the export (or a run directory's export) at ``path`` with the registry's metrics; writes
    eval.json beside the weights. ``features`` ("module:callable") supplies a feature extractor for
    the *-userfeatures-* metrics."""
    path = Path(path)
    export = path / "export" if (path / "export" / "config.json").is_file() else path
    model = load_export(export, registry.variants, device=device)
    cls = type(model.variant)
    request = dataclasses.replace(cls.data_request(model.variant.config), kind=model.data.kind)
    data = load_data(model.dataset, request, registry.datasets)
    extractor = load_features(features, device) if features else None
    ctx = EvalContext(model, data, seed=seed, device=device, features=extractor, features_spec=features or "")
    results = run_metrics(ctx, metrics, registry.metrics)
    doc = {
        "ganzoo_version": __version__,
        "model": {**model_identity(export), "variant": model.name, "dataset": model.dataset},
        "seed": seed,
        "metrics": results,
    }
    if write:
        atomic_write_json(export / RESULTS, doc)
        refresh_card(export, model, doc)
    return doc


def run_metrics(ctx: EvalContext, metrics: list[str] | None, available: Mapping[str, Metric]) -> dict[str, dict[str, Any]]:
    """The named metrics (all of ``available`` that apply when none are named): values, protocol
    and time of each."""
    if metrics:
        unknown = [name for name in metrics if name not in available]
        if unknown:
            import difflib

            hint = difflib.get_close_matches(unknown[0], list(available), n=1)
            raise GanzooError(f"unknown metric '{unknown[0]}'" + (f"; did you mean '{hint[0]}'?" if hint else "")
                              + f" Known metrics: {', '.join(sorted(available))}.")
        chosen = [available[name] for name in metrics]
        for m in chosen:
            if not m.applies(ctx):
                raise GanzooError(f"metric '{m.name}' does not apply to a {ctx.model.name} model trained on {ctx.model.dataset}")
    else:
        chosen = [m for m in available.values() if m.default and m.applies(ctx)]
    results = {}
    for m in chosen:
        t0 = time.perf_counter()
        with torch.no_grad():  # metrics only read the networks
            values = m.compute(ctx)
        protocol = {**m.protocol, **({"features": ctx.features_spec} if "userfeatures" in m.name else {})}
        results[m.name] = {"values": values, "protocol": protocol, "seconds": round(time.perf_counter() - t0, 2)}
    return results
