"""Jacobian-based truncation: a sampler that skips the latents where the generator stretches most.

Tanielian, Issenhuth, Dohmatob and Mary, "Learning disconnected manifolds: a no GAN's land" (ICML
2020). A continuous generator of a connected latent (a Gaussian) cannot put all its mass on
disconnected modes: it must also draw the paths between them, and those samples come from thin
regions of latent space that G stretches across the gaps, where its Jacobian is largest. JBT
rejects the fraction ``q`` of latents with the largest Frobenius norm ``||dG/dz||_F``, which removes
those samples first. It needs the generator alone, so it works on any export of a noise-sampling
variant. Like BigGAN's truncation trick it is a different sampler, trading a fraction of the
distribution (and whatever variety lives there) for precision, so metrics scored with it are
recorded under their own name (:func:`truncated_name`).

The threshold is a property of the model, not of a sampling seed: the ``1 - q`` quantile of the
norms of CALIBRATION latents drawn with a fixed seed. Sampling then draws latents from the caller's
seed and redraws each rejected one, so ``n`` samples are ``n`` independent draws from the truncated
distribution, the same for the same seed however they are batched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from .errors import GanzooError

CALIBRATION = 10_000  # latents whose norms fix the threshold
CALIBRATION_SEED = 2020  # the same threshold on every machine and for every sampling seed
PROBES = 8  # finite-difference directions per latent (the exact basis when the noise has at most this many dimensions)
STEP = 1e-2  # central-difference step in latent units (the noise has std 1)
MAX_ROUNDS = 100  # redraws of one batch's rejected positions before giving up


def check_fraction(q: float) -> float:
    """``q`` as a float in [0, 1), or a GanzooError naming it."""
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 <= q < 1:
        raise GanzooError(f"truncation is the fraction of latents to reject, in [0, 1); got {q!r}")
    return float(q)


def truncated_name(metric: str, q: float) -> str:
    """The name a metric's result is recorded under when its samples came from JBT with ``q``."""
    return f"{metric}+jbt{q:g}" if q else metric


def split_name(name: str) -> tuple[str, float]:
    """truncated_name's inverse: ("modes-pacgan-n2500-x10", 0.05) for "modes-pacgan-n2500-x10+jbt0.05"."""
    metric, sep, q = name.rpartition("+jbt")
    if not sep:
        return name, 0.0
    try:
        return metric, check_fraction(float(q))
    except ValueError:
        raise GanzooError(f"'{name}': the truncation after +jbt must be a number in [0, 1)") from None


def protocol(q: float) -> dict:
    """What a result records about the sampler, to be recomputed."""
    return {"sampling": f"Jacobian-based truncation (Tanielian et al. 2020): latents with ||dG/dz||_F above the {1 - q:g} quantile "
                        f"of {CALIBRATION:,} calibration latents (seed {CALIBRATION_SEED}) are redrawn; ||.||_F by central "
                        f"differences (step {STEP:g}) along the noise's basis, or {PROBES} Gaussian directions when it has more "
                        f"than {PROBES} dimensions"}


def jacobian_norms(generate: Callable[..., torch.Tensor], inputs: dict[str, torch.Tensor], rng: torch.Generator) -> torch.Tensor:
    """``||dG/du||_F`` per sample, u being the floating-point inputs (the noise; labels are held).
    Central differences along each basis direction when u has at most PROBES dimensions (exact up
    to O(STEP^2)); otherwise along PROBES Gaussian directions v, as E||Jv||^2 = ||J||_F^2."""
    noise = [k for k, v in inputs.items() if v.is_floating_point()]
    if not noise:
        raise GanzooError("truncation needs a generator of noise; this one has no floating-point input")
    flat = torch.cat([inputs[k].flatten(1) for k in noise], 1)
    n, dims = flat.shape
    sizes = [inputs[k][0].numel() for k in noise]

    def at(u: torch.Tensor) -> torch.Tensor:
        parts = dict(zip(noise, (p.reshape(inputs[k].shape) for k, p in zip(noise, u.split(sizes, 1)))))
        return generate(**{**inputs, **parts}).float().flatten(1)

    exact = dims <= PROBES
    total = torch.zeros(n, device=flat.device)
    for i in range(dims if exact else PROBES):
        if exact:
            v = torch.zeros_like(flat)
            v[:, i] = 1
        else:
            v = torch.randn(n, dims, generator=rng).to(flat)
        total += ((at(flat + STEP * v) - at(flat - STEP * v)) / (2 * STEP)).pow(2).sum(1)
    return (total if exact else total / PROBES).sqrt()


def threshold(generate: Callable[..., torch.Tensor], draw: Callable[..., dict], q: float, batch: int) -> float:
    """The ``1 - q`` quantile of the Jacobian norms of CALIBRATION latents from CALIBRATION_SEED.
    ``draw(n, rng, labels)`` is the variant's sample_inputs."""
    rng = torch.Generator().manual_seed(CALIBRATION_SEED)
    inputs = draw(CALIBRATION, rng, None)
    norms = torch.cat([jacobian_norms(generate, {k: v[i : i + batch] for k, v in inputs.items()}, rng).cpu()
                       for i in range(0, CALIBRATION, batch)])
    return torch.quantile(norms.double(), 1 - q).item()


def truncated_batches(generate: Callable[..., torch.Tensor], draw: Callable[..., dict], first: dict[str, torch.Tensor],
                      rng: torch.Generator, limit: float, batch: int) -> Iterator[torch.Tensor]:
    """The samples of ``first`` (the variant's inputs for all n, as drawn without truncation) whose
    latents' Jacobian norm is at most ``limit``, in batches of at most ``batch``, in order: a
    rejected position redraws its noise (keeping its label) from ``rng`` until accepted."""
    held = [k for k, v in first.items() if not v.is_floating_point()]
    if len(held) > 1:
        raise GanzooError(f"truncation redraws the noise and keeps one label input; this generator takes {', '.join(held)}")
    n = len(next(iter(first.values())))
    for start in range(0, n, batch):
        size = min(batch, n - start)
        inputs = {k: v[start : start + size] for k, v in first.items()}
        out: torch.Tensor | None = None
        pending = torch.arange(size)
        for _ in range(MAX_ROUNDS):
            ok = (jacobian_norms(generate, inputs, rng) <= limit).cpu()
            if ok.any():
                kept = generate(**{k: v[ok.to(v.device)] for k, v in inputs.items()})
                if out is None:
                    out = kept.new_empty((size, *kept.shape[1:]))
                out[pending[ok].to(out.device)] = kept
                pending = pending[~ok]
            if not len(pending):
                break
            labels = {k: v[(~ok).to(v.device)] for k, v in inputs.items() if k in held}
            inputs = {**draw(len(pending), rng, next(iter(labels.values()), None)), **labels}
        else:
            raise GanzooError(f"truncation: {len(pending)} of {size} samples were still above the threshold after "
                              f"{MAX_ROUNDS} draws each; reject a smaller fraction")
        assert out is not None  # every sample of the batch was kept in some round
        yield out
