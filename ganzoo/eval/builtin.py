"""The metrics that come with ganzoo, registered through the same hook a plugin uses."""

from __future__ import annotations

import torch

from ..hookspecs import hookimpl
from . import EvalContext, Metric
from . import math as M

DIGIT_IMAGES = {"digits", "mnist"}  # data the digits CNN's features and judgements are meaningful for
MAX_N = 10_000  # cap on samples per side for the feature metrics


def _cnn(ctx: EvalContext, weights: str | None = None):
    from .digits_cnn import WEIGHTS, load

    weights = weights or WEIGHTS
    return ctx.cached(weights, lambda: load(ctx.device, weights))


def _inception(ctx: EvalContext):
    from . import inception

    return ctx.cached("inception", lambda: inception.load(ctx.device))


@torch.no_grad()
def _run(ctx: EvalContext, x: torch.Tensor, what: str) -> torch.Tensor:
    """Features or logits of ``x`` by the network ``what`` names: digits-CNN "features"/"logits",
    the second digit judge's "lenet-features"/"lenet-logits", "inception"/"inception-logits", or
    "user" (the user-supplied extractor)."""
    chunk = 1000
    if what == "user":
        fn = ctx.features
    elif what.startswith("inception"):
        from .inception import FEATURES, LOGITS

        net, key, chunk = _inception(ctx), (LOGITS if what == "inception-logits" else FEATURES), 100  # 299x299 inputs
        fn = lambda batch: net(batch)[key]
    else:
        from .digits_cnn import LENET_WEIGHTS

        net = _cnn(ctx, LENET_WEIGHTS if what.startswith("lenet-") else None)
        fn = net.features if what.removeprefix("lenet-") == "features" else net
    return torch.cat([fn(x[i : i + chunk].to(ctx.device)).flatten(1).float().cpu() for i in range(0, len(x), chunk)])


DRAWS = 5  # evaluation draws behind every feature metric's mean and spread


def draw_seed(ctx: EvalContext, draw: int) -> int:
    """The seed of evaluation draw ``draw``: it seeds both the halving of the real data and the
    generator's noise, so eval seed S uses seeds 1000*S .. 1000*S + DRAWS - 1."""
    return 1000 * ctx.seed + draw


def _set_size(ctx: EvalContext) -> int:
    return min(len(ctx.data) // 2, MAX_N)


def _permutation(ctx: EvalContext, draw: int) -> torch.Tensor:
    return torch.randperm(len(ctx.data), generator=torch.Generator().manual_seed(draw_seed(ctx, draw)))


def _real_features(ctx: EvalContext, idx: torch.Tensor, what: str, chunk: int = 2000) -> torch.Tensor:
    """Features of real images ``idx``, read and converted a chunk at a time: a prepared dataset
    of 128 px images is 200 KB a picture as floats, so the used part is never held whole. The chunk
    is a multiple of ``_run``'s batches, so the networks see the same batches as for the whole set."""
    return torch.cat([_run(ctx, ctx.real(idx[i : i + chunk]), what) for i in range(0, len(idx), chunk)])


def _halving(ctx: EvalContext, what: str, draw: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Halving ``draw`` of the real data into two disjoint sets A and B of n images each, as features.
    Each real image's features are computed once, however many draws use it."""
    n = _set_size(ctx)

    def features_of_used():
        used = torch.unique(torch.cat([_permutation(ctx, d)[: 2 * n] for d in range(DRAWS)]))
        row = torch.full((len(ctx.data),), -1, dtype=torch.long)
        row[used] = torch.arange(len(used))
        return _real_features(ctx, used, what), row

    feats, row = ctx.cached(("real-features", what), features_of_used)
    perm = _permutation(ctx, draw)
    return feats[row[perm[:n]]], feats[row[perm[n : 2 * n]]]


def _generated_features(ctx: EvalContext, what: str, draw: int) -> torch.Tensor:
    n = _set_size(ctx)
    return ctx.cached(("gen-features", what, draw), lambda: _run(ctx, ctx.samples(n, seed=draw_seed(ctx, draw)), what))


def _spread(name: str, values: list[float]) -> dict[str, float]:
    """``name``: the mean over the draws; ``name_std``: their sample standard deviation."""
    t = torch.tensor(values, dtype=torch.float64)
    return {name: t.mean().item(), f"{name}_std": t.std().item() if len(t) > 1 else 0.0}


def _digit_images(ctx: EvalContext) -> bool:
    return ctx.data.kind == "image" and ctx.model.dataset in DIGIT_IMAGES and ctx.data.x.shape[1] == 1


def _images(ctx: EvalContext) -> bool:
    return ctx.data.kind == "image"


def _user_features(ctx: EvalContext) -> bool:
    return ctx.features is not None and ctx.data.kind == "image"


def _fid(ctx, what="features"):
    model, floor = [], []
    for d in range(DRAWS):
        a, b = _halving(ctx, what, d)
        model.append(M.fid(_generated_features(ctx, what, d), a))
        floor.append(M.fid(b, a))
    return {**_spread("fid", model), **_spread("fid_real_floor", floor), "n_generated": _set_size(ctx), "n_real": _set_size(ctx),
            "draws": DRAWS}


def _kid_subset(n: int) -> int:
    return min(1000, n // 2)  # below the set size, so the 100 subsets differ and their spread means something


def _kid(ctx, what="features"):
    model, floor, subset_std = [], [], []
    size = _kid_subset(_set_size(ctx))
    for d in range(DRAWS):
        a, b = _halving(ctx, what, d)
        mean, std = M.kid(_generated_features(ctx, what, d), a, subset_size=size, seed=draw_seed(ctx, d))
        model.append(mean)
        subset_std.append(std)
        floor.append(M.kid(b, a, subset_size=size, seed=draw_seed(ctx, d))[0])
    kid = _spread("kid", model)
    return {"kid_mean": kid["kid"], "kid_std": kid["kid_std"], **_spread("kid_real_floor", floor),
            "kid_subset_std": sum(subset_std) / DRAWS, "kid_subset_size": size}


def _pr(ctx, what="features"):
    precision, recall = [], []
    for d in range(DRAWS):
        p, r = M.precision_recall(_generated_features(ctx, what, d), _halving(ctx, what, d)[0])
        precision.append(p)
        recall.append(r)
    return {**_spread("precision", precision), **_spread("recall", recall)}


def _is(ctx, what="logits"):
    logits = _run(ctx, ctx.samples(5000), what)
    mean, std = M.inception_score(logits, seed=ctx.seed)
    return {"is_mean": mean, "is_std": std}


MIXTURE_DRAWS = 10  # PacGAN's single 2,500-sample draw, repeated: the spread of one model's score


def _mixture(ctx):
    from ..data.synthetic import MIXTURES

    means_fn, sigma = MIXTURES[ctx.model.dataset]
    draws = [M.mode_coverage(ctx.samples(2500, seed=draw_seed(ctx, d)), means_fn(), sigma) for d in range(MIXTURE_DRAWS)]
    out = {}
    for key in draws[0]:
        out.update(_spread(key, [v[key] for v in draws]))
    return {**out, "draws": MIXTURE_DRAWS}


BOOTSTRAP = 100  # resamples behind the spread of a metric scored on one set of samples or images


def _resamples(n: int, seed: int) -> torch.Tensor:
    """BOOTSTRAP resamples with replacement of n scored items, (BOOTSTRAP, n) indices: their spread
    is the standard error of a score computed once on those n items."""
    return torch.randint(n, (BOOTSTRAP, n), generator=torch.Generator().manual_seed(seed))


def _with_bootstrap(values: dict[str, float], resampled: list[dict[str, float]]) -> dict[str, float]:
    """Each key of ``values`` followed by ``KEY_std``, the sample std of that key over the resamples."""
    return {k: v for key, value in values.items()
            for k, v in ((key, value), (f"{key}_std", torch.tensor([r[key] for r in resampled], dtype=torch.float64).std().item()))}


STACKED_N = 26_000  # samples PacGAN scores per model


def _fresh_triples(ctx, n: int) -> torch.Tensor:
    """n stacked-digit images drawn as the dataset draws its own, from another seed: real data that
    played no part in the reference histogram (the training set's 50,000 triples). A floor taken
    from the reference's own images shares its counting noise and comes out about half the true
    finite-sample floor."""
    from ..data.synthetic import SEED, stacked_digits
    from ..data.types import DataRequest

    def draw() -> torch.Tensor:
        fresh = stacked_digits(DataRequest(size=ctx.data.x.shape[-1], channels=1), n=n, seed=SEED + 1 + ctx.seed)
        return fresh.as_model_input(fresh.x).cpu()

    return ctx.cached(("fresh-triples", n), draw)


def _stacked(ctx, logits: str = "logits"):
    """Modes and KL of the digit triples, with two readings of the KL beside it. ``kl_digits`` sums
    the three channels' KL(generated digit frequencies || the data's): the data's channels are
    independent draws, so kl - kl_digits is what dependence between the generated channels adds,
    and kl_digits says how much of kl is some digits drawn too often. ``kl_floor`` is the KL that
    STACKED_N fresh real triples score under the same judge: its errors and the finite count cost
    that much, so it is about the least a model can score."""
    def judge(x):  # (N, 3, H, W) -> (N, 3): the digit the judge reads in each channel
        return torch.stack([_run(ctx, x[:, c : c + 1], logits).argmax(1) for c in range(3)], dim=1)

    truth = ctx.data.y.cpu()
    reference = torch.bincount(truth, minlength=1000).double()
    digit_reference = [torch.bincount(truth // 10 ** (2 - c) % 10, minlength=10).double() for c in range(3)]

    def scores(d):
        triples = d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2]
        counts = torch.bincount(triples, minlength=1000)
        return {"modes": float((counts > 0).sum()), "kl": M.histogram_kl(counts, reference),
                "kl_digits": sum(M.histogram_kl(torch.bincount(d[:, c], minlength=10), digit_reference[c]) for c in range(3))}

    def bootstrapped(d, keys):
        return _with_bootstrap({k: v for k, v in scores(d).items() if k in keys},
                               [{k: v for k, v in scores(d[i]).items() if k in keys} for i in _resamples(len(d), ctx.seed)])

    generated = judge(ctx.samples(STACKED_N))
    floor = bootstrapped(judge(_fresh_triples(ctx, STACKED_N)), ("kl",))
    return {**bootstrapped(generated, ("modes", "kl", "kl_digits")), "kl_floor": floor["kl"], "kl_floor_std": floor["kl_std"]}


def _label_accuracy(ctx, logits: str = "logits"):
    classes = ctx.model.data.num_classes
    labels = torch.arange(10_000) % classes
    pred = _run(ctx, ctx.samples(10_000, labels=labels), logits).argmax(1)
    per_class = [(pred[labels == c] == c).double().mean().item() for c in range(classes)]
    correct = (pred == labels).double()
    accuracy = _with_bootstrap({"accuracy": correct.mean().item()}, [{"accuracy": correct[i].mean().item()} for i in _resamples(len(correct), ctx.seed)])
    return {**accuracy, **{f"accuracy_class_{c}": a for c, a in enumerate(per_class)}}


LEGIBLE = 0.9  # softmax confidence at which a judge's reading counts as legible
LEGIBILITY_N = 10_000


def _legibility(ctx, logits: str = "logits"):
    """The share of samples the judge reads with at least LEGIBLE confidence, beside the same share
    on real images: "9 in 10 legible" on a card means this number, not a glance. A conditional
    model is asked for every class equally; stacked digits count each channel as one reading."""
    def legible(logits_: torch.Tensor) -> torch.Tensor:  # (N, 10) -> (N,) 0/1: read confidently
        return (logits_.softmax(1).amax(1) >= LEGIBLE).double()

    def channels(x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> (N * C,): each channel one reading
        return torch.cat([legible(_run(ctx, x[:, c : c + 1], logits)) for c in range(x.shape[1])])

    labels = torch.arange(LEGIBILITY_N) % ctx.model.data.num_classes if ctx.task == "conditional" else None
    generated = channels(ctx.samples(LEGIBILITY_N, labels=labels))
    if ctx.model.dataset == "stacked-digits":
        real = channels(_fresh_triples(ctx, LEGIBILITY_N))
    else:
        idx = torch.randperm(len(ctx.data), generator=torch.Generator().manual_seed(ctx.seed))[:LEGIBILITY_N]
        real = legible(_real_features(ctx, idx, logits))
    share = _with_bootstrap({"legible": generated.mean().item()}, [{"legible": generated[i].mean().item()} for i in _resamples(len(generated), ctx.seed)])
    return {**share, "legible_real": real.mean().item(), "legible_vs_real": share["legible"] / max(real.mean().item(), 1e-12),
            "readings": len(generated), "readings_real": len(real)}


def _digit_judged(ctx: EvalContext) -> bool:
    """Grey digits, or stacked digits (three grey digits as channels): what the digit judges read."""
    return _digit_images(ctx) or (ctx.data.kind == "image" and ctx.model.dataset == "stacked-digits")


def _fid_per_class(ctx):
    y = ctx.data.y.cpu()
    out = {}
    for c in range(ctx.model.data.num_classes):
        real_c = torch.nonzero(y == c).flatten()[:MAX_N]
        labels = torch.full((len(real_c),), c)
        gen = ctx.samples(len(real_c), labels=labels)
        out[f"fid_class_{c}"] = M.fid(_run(ctx, gen, "features"), _real_features(ctx, real_c, "features"))
    out["fid_mean"] = sum(out.values()) / len(out)
    return out


# -- image-to-image -------------------------------------------------------------------------------


def _translation(ctx: EvalContext) -> bool:
    return ctx.task == "unpaired-translation" and ctx.data.x_b is not None


# The judges of each translation pair: the digits CNN reads domain A; domain B has its own CNN.
# "restyle": whether the stroke-keeping restyled baseline (_restyle) is defined for the pair.
JUDGES = {"digits-typeset": ("typeset-cnn.safetensors", True), "digits-m": ("digits-m-cnn.safetensors", False)}


def _judged_pair(name: str):
    return lambda ctx: _translation(ctx) and ctx.model.dataset == name


def _digit_pair(ctx: EvalContext) -> bool:
    return _translation(ctx) and ctx.model.dataset in JUDGES


@torch.no_grad()
def _translated(ctx: EvalContext, direction: str) -> torch.Tensor:
    """The whole of one domain translated to the other, in [-1, 1] (cached)."""

    def make():
        source = ctx.data.x if direction == "a2b" else ctx.data.x_b
        x = ctx.data.as_model_input(source).to(ctx.device)
        return torch.cat([ctx.model.variant.translate(x[i : i + 256], direction).float().cpu() for i in range(0, len(x), 256)])

    return ctx.cached(("translated", direction), make)


def _label_preservation(ctx):
    b_weights, restyle = JUDGES[ctx.model.dataset]
    judge_b, judge_a = _cnn(ctx, b_weights), _cnn(ctx)
    out = {}
    for direction, judge, labels in (("a2b", judge_b, ctx.data.y), ("b2a", judge_a, ctx.data.y_b)):
        x = _translated(ctx, direction)
        pred = torch.cat([judge(x[i : i + 1000].to(ctx.device)).argmax(1).cpu() for i in range(0, len(x), 1000)])
        correct = (pred == labels.cpu()).double()  # translation is deterministic: the spread is over the images judged
        key = f"accuracy_{direction}"
        out.update(_with_bootstrap({key: correct.mean().item()}, [{key: correct[i].mean().item()} for i in _resamples(len(correct), ctx.seed)]))
        # Per digit, and which digit it most often becomes: CycleGAN tends to swap whole classes.
        for c in range(10):
            mine = pred[labels.cpu() == c]
            out[f"{direction}_class_{c}"] = (mine == c).double().mean().item()
            out[f"{direction}_class_{c}_most_often"] = float(torch.bincount(mine, minlength=10).argmax())
        source = ctx.data.as_model_input(ctx.data.x if direction == "a2b" else ctx.data.x_b)
        own = judge_b if direction == "b2a" else judge_a  # each judge on its own domain: the ceiling
        out[f"judge_accuracy_{'a' if direction == 'a2b' else 'b'}"] = _accuracy(own, source, labels, ctx.device)
        # Baselines that keep every digit's shape: the judge on the untranslated images, and on
        # images changed in style only (what a translation that never redraws a stroke would get).
        out[f"untranslated_{direction}"] = _accuracy(judge, source, labels, ctx.device)
        if restyle:
            out[f"restyled_{direction}"] = _accuracy(judge, _restyle(source, direction), labels, ctx.device)
    return out


@torch.no_grad()
def _accuracy(judge, x, labels, device) -> float:
    pred = torch.cat([judge(x[i : i + 1000].to(device)).argmax(1).cpu() for i in range(0, len(x), 1000)])
    return (pred == labels.cpu()).double().mean().item()


def _restyle(x: torch.Tensor, direction: str) -> torch.Tensor:
    """Domain A's style on B, or B's on A, with every stroke left where it is. B->A: average over
    4x4 blocks and back up, as the UCI digits were made from 32x32 bitmaps. A->B: sharpen the
    blurred strokes with a steep curve (tanh(4x)), stretched back to the full range."""
    x = x.float()
    if direction == "b2a":
        small = torch.nn.functional.avg_pool2d(x, 4)
        return torch.nn.functional.interpolate(small, scale_factor=4, mode="bicubic", align_corners=False).clamp(-1, 1)
    y = torch.tanh(4 * x)
    lo, hi = y.amin((1, 2, 3), keepdim=True), y.amax((1, 2, 3), keepdim=True)
    return 2 * (y - lo) / (hi - lo).clamp_min(1e-6) - 1


@torch.no_grad()
def _cycle(ctx):
    out = {}
    for direction, back, source in (("a2b", "b2a", ctx.data.x), ("b2a", "a2b", ctx.data.x_b)):
        x = ctx.data.as_model_input(source)
        y = _translated(ctx, direction)
        rec = torch.cat([ctx.model.variant.translate(y[i : i + 256].to(ctx.device), back).float().cpu() for i in range(0, len(y), 256)])
        out[f"l1_{direction}_{back}"] = (rec - x).abs().mean().item() / 2  # mean absolute error in [0, 1] units
    return out


def _fid_domains(ctx):
    net = _cnn(ctx)

    def feats(x):
        return torch.cat([net.features(x[i : i + 1000].to(ctx.device)).cpu() for i in range(0, len(x), 1000)])

    real_a, real_b = ctx.data.as_model_input(ctx.data.x), ctx.data.as_model_input(ctx.data.x_b)
    return {"fid_b": M.fid(feats(_translated(ctx, "a2b")), feats(real_b)),  # G(A) against real B
            "fid_a": M.fid(feats(_translated(ctx, "b2a")), feats(real_a)),
            "fid_b_identity": M.fid(feats(real_a), feats(real_b))}  # untranslated A against B: the no-op baseline


def _super_resolution(ctx: EvalContext) -> bool:
    return ctx.task == "super-resolution" and bool(ctx.data.held_out)


def _sr_scores(ctx):
    from .sr import score

    return score(ctx.model, ctx.data.held_out, type(ctx.model.variant).scale)


SEEDS = "S is the eval seed (`ganzoo eval --seed`, default 0)"
BOOTSTRAP_TEXT = (f"KEY_std: the bootstrap standard error of KEY, its sample std over {BOOTSTRAP} resamples with replacement of the "
                  f"{{n}}, indices torch.randint(N, ({BOOTSTRAP}, N), generator=torch.Generator().manual_seed(S))")
FEATURES = {
    "feature_network": "digits-cnn (ganzoo/eval/weights/digits-cnn.safetensors), 128-d penultimate layer",
    "draws": f"{DRAWS} draws d = 0..{DRAWS - 1}, each with seed s_d = 1000*S + d ({SEEDS})",
    "reference": "draw d splits the training data (N images) into disjoint halves A_d = perm[:n], B_d = perm[n:2n], "
                 "perm = torch.randperm(N, generator=torch.Generator().manual_seed(s_d))",
    "n": f"n = min(N // 2, {MAX_N}) on every side: n generated (Model.generate(n, seed=s_d)), n in A_d, n in B_d",
    "values": "the model's value on draw d compares its n samples with A_d; the real-vs-real floor compares B_d with A_d, "
              f"at the same n; each key is the mean over the {DRAWS} draws and KEY_std their sample standard deviation",
}
# The second digit judge (another architecture and seed, digits_cnn.LeNet): every judge-based metric
# on digits has its twin under it, so a reader sees how much a number owes to one network.
LENET = "digits-lenet (ganzoo/eval/weights/digits-lenet.safetensors, Caffe's LeNet, seed 1)"
LENET_FEATURES = {**FEATURES, "feature_network": f"{LENET}, 500-d penultimate layer"}
KID = {**FEATURES, "kid": "polynomial kernel (degree 3), 100 subsets of kid_subset_size = min(1000, n // 2) per draw, "
       "subset seed s_d; kid_mean/kid_std: over the draws; kid_subset_std: the mean within-draw std over the subsets"}


@hookimpl
def register_metrics(register):
    register(Metric("fid-digitscnn-x5", "FID on digits-CNN features, beside the real-vs-real floor at the same n; 5 draws",
                    FEATURES, _digit_images, _fid))
    register(Metric("kid-digitscnn-x5", "KID (polynomial kernel) on digits-CNN features, beside the floor; 5 draws", KID, _digit_images, _kid))
    register(Metric("pr-digitscnn-x5-k3", "Improved precision and recall (Kynkäänniemi et al. 2019), k = 3; 5 draws",
                    FEATURES, _digit_images, _pr))
    register(Metric(
        "is-digitscnn-n5000", "Inception Score with the digits CNN as classifier, 5,000 samples, 10 splits",
        {"classifier": "digits-cnn", "n": f"5000: Model.generate(5000, seed=S) ({SEEDS})",
         "splits": "10, shuffled with seed S; is_std: the std over the splits"}, _digit_images, _is,
    ))
    register(Metric(
        "modes-pacgan-n2500-x10", "Modes captured, % high quality and reverse KL on ring8/grid25 (PacGAN), over 10 draws",
        {"n": f"PacGAN's single draw of 2,500 samples, made {MIXTURE_DRAWS} times: draw d = Model.generate(2500, seed=1000*S + d), "
              f"d = 0..{MIXTURE_DRAWS - 1} ({SEEDS})",
         "values": f"each key is the mean over the {MIXTURE_DRAWS} draws and KEY_std their sample standard deviation (PacGAN "
                   "reports one draw per trained model; its spread over trainings is benchmarks/quality.py's)",
         "high_quality": "within 3 sigma of the nearest mode", "captured": ">= 1 high-quality sample nearest",
         "reverse_kl": "KL(mode histogram of high-quality samples || uniform)",
         "min_mode_share": "min over modes of (high-quality samples nearest the mode) / (2500 / number of modes)"},
        lambda ctx: ctx.model.dataset in ("ring8", "grid25"), _mixture,
    ))
    register(Metric("fid-digitslenet-x5", "FID on the second digit judge's features (LeNet), beside its floor; 5 draws",
                    LENET_FEATURES, _digit_images, lambda c: _fid(c, "lenet-features")))
    register(Metric("pr-digitslenet-x5-k3", "Improved precision and recall, k = 3, on the second digit judge's features; 5 draws",
                    LENET_FEATURES, _digit_images, lambda c: _pr(c, "lenet-features")))
    for judge, logits, classifier in (("", "logits", "digits-cnn"), ("-lenet", "lenet-logits", LENET)):
        short = classifier.split(" ")[0]
        stacked = {
            "n": f"26,000 samples (PacGAN): Model.generate(26000, seed=S) ({SEEDS})", "classifier": f"{classifier} on each channel",
            "kl": "KL(generated triples || data triples), the data's histogram from its 50,000 training triples",
            "kl_digits": "sum over the 3 channels of KL(generated digit histogram || data digit histogram of that channel)",
            "kl_floor": "kl of 26,000 fresh real triples drawn as the dataset draws its own, with seed 2019 + S "
                        "(ganzoo.data.synthetic.stacked_digits), independent of the reference histogram, judged the same way",
            "std": BOOTSTRAP_TEXT.format(n="26,000 triples (of the fresh real ones for kl_floor)")}
        register(Metric(f"modes-stacked-digits{judge}-n26000",
                        f"Distinct digit triples and KL to the data's triple histogram (VEEGAN/PacGAN protocol), judged by {short}",
                        stacked, lambda ctx: ctx.model.dataset == "stacked-digits", lambda c, lg=logits: _stacked(c, lg)))
        name = "digitscnn" if not judge else "digitslenet"
        register(Metric(
            f"label-accuracy-{name}-n10000", f"Accuracy of {short} on G(z, y) against y, overall and per class",
            {"classifier": classifier, "n": f"10,000: Model.generate(10000, seed=S, labels=arange(10000) % classes) ({SEEDS})",
             "labels": "1,000 per class", "std": BOOTSTRAP_TEXT.format(n="10,000 judged samples")},
            lambda ctx: ctx.task == "conditional" and _digit_images(ctx), lambda c, lg=logits: _label_accuracy(c, lg),
        ))
        register(Metric(
            f"legibility-{name}-c90-n10000", f"Share of samples {short} reads with >= 90 % confidence, beside real images",
            {"classifier": classifier, "legible": f"softmax max >= {LEGIBLE} (any class); the share of readings",
             "n": f"{LEGIBILITY_N:,}: Model.generate({LEGIBILITY_N}, seed=S) ({SEEDS}), labels arange(n) % classes for a "
                  "conditional model; stacked digits: each channel is one reading",
             "legible_real": f"the same share on real images: the first {LEGIBILITY_N:,} of torch.randperm(N, generator="
                             "torch.Generator().manual_seed(S)) of the training data (all of it when smaller); for stacked "
                             "digits, 10,000 fresh triples as in kl_floor",
             "legible_vs_real": "legible / legible_real",
             "std": BOOTSTRAP_TEXT.format(n="generated readings")},
            _digit_judged, lambda c, lg=logits: _legibility(c, lg),
        ))
    inception = {**FEATURES, "kid": KID["kid"], "feature_network": "Inception-v3 2015-12-05 (TTUR/torch-fidelity), pool3 2048-d, inputs quantised "
                 "to uint8 and resized bilinearly to 299x299 as TF1 does; grey images repeated to RGB"}
    inc = dict(default=False)  # needs the Inception weights (a download): run when named, not by default
    register(Metric("fid-inception-x5", "FID with the standard Inception-v3 features, beside the floor; 5 draws", inception, _images, lambda c: _fid(c, "inception"), **inc))
    register(Metric("kid-inception-x5", "KID with the standard Inception-v3 features; 5 draws", inception, _images, lambda c: _kid(c, "inception"), **inc))
    register(Metric(
        "is-inception-n5000", "Inception Score (Salimans et al. 2016) with the standard Inception-v3, 5,000 samples, 10 splits",
        {"classifier": inception["feature_network"].replace("pool3 2048-d", "1008-way logits without bias"), "n": 5000, "splits": 10},
        _images, lambda c: _is(c, "inception-logits"), **inc,
    ))
    user = {**FEATURES, "kid": KID["kid"], "feature_network": "user-supplied (ganzoo eval --features MODULE:CALLABLE); its spec is in the result"}
    register(Metric("fid-userfeatures-x5", "FID on the features of a user-supplied extractor, beside the floor; 5 draws", user, _user_features, lambda c: _fid(c, "user")))
    register(Metric("kid-userfeatures-x5", "KID on the features of a user-supplied extractor; 5 draws", user, _user_features, lambda c: _kid(c, "user")))
    register(Metric("pr-userfeatures-x5-k3", "Precision/recall (k = 3) on a user-supplied extractor's features; 5 draws", user, _user_features, lambda c: _pr(c, "user")))
    register(Metric(
        "fid-per-class-digitscnn", "FID per class on digits-CNN features: G(z, c) against the real images of class c",
        {"feature_network": "digits-cnn", "n": f"per class c: as many generated as real images of c, Model.generate(n_c, seed=S, "
         f"labels=c) ({SEEDS}), against all real images of c (at most {MAX_N})"},
        lambda ctx: ctx.task == "conditional" and _digit_images(ctx), _fid_per_class,
    ))
    preservation = {
        "n": "every image of each domain, translated by Model.translate",
        "judge_accuracy": "each judge on untranslated images of its own domain (the ceiling)",
        "untranslated": "the other domain's judge on untranslated images (doing nothing)",
        "std": BOOTSTRAP_TEXT.format(n="N judged images of the direction"),
    }
    register(Metric(
        "label-preservation-digits-typeset", "Does translation keep the digit? A->B judged by a typeset-digit CNN, B->A by the digits CNN",
        {**preservation, "judges": "typeset-cnn (domain B) and digits-cnn (domain A), shipped in ganzoo/eval/weights",
         "restyled": "the same on images restyled with every stroke kept: A sharpened by tanh(4x), B averaged over 4x4 blocks"},
        _judged_pair("digits-typeset"), _label_preservation,
    ))
    register(Metric(
        "label-preservation-digits-m", "Does translation keep the digit? A->B judged by a digits-m CNN (colour), B->A by the digits CNN",
        {**preservation, "judges": "digits-m-cnn (domain B, colour input) and digits-cnn (domain A, grey), shipped in ganzoo/eval/weights"},
        _judged_pair("digits-m"), _label_preservation,
    ))
    register(Metric(
        "cycle-l1", "Cycle reconstruction error: mean |F(G(a)) - a| and |G(F(b)) - b| in [0, 1] pixel units",
        {"n": "every image of each domain"}, _translation, _cycle,
    ))
    register(Metric(
        "fid-per-domain-digitscnn", "FID of G(A) against real B and F(B) against real A, on digits-CNN features",
        {"feature_network": "digits-cnn (grey: colour images are averaged over channels)", "n": "every image of each domain",
         "fid_b_identity": "untranslated A against B"},
        _digit_pair, _fid_domains,
    ))
    from .sr import CONVENTION

    register(Metric(
        "sr-psnr-ssim-y-heldout", "PSNR/SSIM of the upscaled held-out photos on Y, beside bicubic upscaling",
        {"images": "the dataset's held-out whole images, never trained on", "convention": CONVENTION,
         "values": "each key is the mean over the images and KEY_std its sample std over them (per-image scores)"},
        _super_resolution, _sr_scores,
    ))
