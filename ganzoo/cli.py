"""The ``ganzoo`` command line.

User errors (:class:`ganzoo.GanzooError`) print one line and exit with code 2, never a traceback;
argparse's own usage errors exit with 2 as well.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ._version import __version__
from .errors import GanzooError, describe_os_error

log = logging.getLogger("ganzoo")

EPILOG = """examples:
  ganzoo run dcgan                       train DCGAN on the embedded digits (offline, ~2 min on CPU)
  ganzoo run dcgan --data mnist --steps 5000 --set g_width=128
  ganzoo run dcgan --resume runs/dcgan-digits-20261122-091500 --steps 2000
  ganzoo sample runs/dcgan-digits-20261122-091500/export -n 64 -o grid.png
  ganzoo eval runs/dcgan-digits-20261122-091500      score it with every metric that applies
  ganzoo push runs/dcgan-digits-20261122-091500 --repo you/dcgan-digits
  ganzoo sample hf-hub:you/dcgan-digits@main -o grid.png
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ganzoo",
        description="A model zoo of GAN variants: train, sample and compare them with one trainer.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"ganzoo {__version__}")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only (no warnings or notes)")
    p.add_argument("-v", "--verbose", action="count", default=0, help="print notes (-v) and debugging detail (-vv)")
    # The same flags after the command (`ganzoo run dcgan -v`); SUPPRESS keeps the top-level value otherwise.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="print errors only")
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help="print notes (-v) and debugging detail (-vv)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ls = sub.add_parser("list", parents=[common], help="list the installed variants (or pretrained models)", description="Table of installed variants: name, plugin distribution and version, task, summary.")
    ls.add_argument("--pretrained", action="store_true", help="list the pretrained models instead: name, variant, dataset, resolution, size, a metric")

    pl = sub.add_parser("plugins", help="list installed plugins and any that failed to load", description="Installed plugins with the hooks they implement, and every plugin that failed to load or register, with the reason.")
    pl.add_argument("--verbose", "-v", action="count", default=argparse.SUPPRESS, help="show the full traceback of each failure (and notes)")
    pl.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="print errors only")

    pr = sub.add_parser("prepare", parents=[common], help="decode a folder of images once into a prepared dataset",
        description="Decode every image below SOURCE (class sub-folders become labels, their names kept) once, on every core, "
        "into DIR: one memory-mappable uint8 array, the labels and a manifest (source, shape, the file list's fingerprint, "
        "a sha256, the files left out). `ganzoo run --data DIR` then trains from it without decoding; `--data FOLDER` does "
        "the same through a cache under the data root. SOURCE may also be a Hub dataset repo, hf-hub:owner/name[@revision] "
        "(parquet with an image column, or an image folder), whose train split is downloaded into the Hugging Face cache.")
    pr.add_argument("source", metavar="SOURCE", help="a folder of images (ImageFolder layout for labels), a registered dataset's name "
                    "(cifar10, svhn, ...) or a Hub dataset, hf-hub:owner/name[@revision]")
    pr.add_argument("-o", "--out", required=True, metavar="DIR", help="the prepared dataset's folder (new, or a prepared dataset to replace)")
    pr.add_argument("--size", type=int, metavar="N", help="centre-crop to a square and resize to N x N (default: the images' own size, if square)")
    pr.add_argument("--channels", type=int, choices=[1, 3], help="1 (grey) or 3 (RGB); default: 1 if every image is grey, else 3")
    pr.add_argument("--strict", action="store_true", help="refuse a folder with unreadable files (default: skip them, listed in the manifest)")
    pr.add_argument("--workers", type=int, metavar="N", help="decoding processes (default: one per core)")
    pr.add_argument("--image-column", default="", metavar="NAME", help="a Hub dataset's image column, when it has several")
    pr.add_argument("--label-column", default="", metavar="NAME", help="a Hub dataset's label column, when it has several ('none': no labels)")

    sub.add_parser("datasets", parents=[common], help="list the registered datasets", description="Datasets usable with `ganzoo run --data NAME`. Also: --data FOLDER (a folder of images; class "
                   "sub-folders become labels), --data DIR (`ganzoo prepare`'s output) and --data hf-hub:owner/name[@revision] "
                   "(a Hub dataset repo; its licence is on its card).")

    r = sub.add_parser("run", parents=[common],
        help="train a variant",
        description="Train VARIANT and write a run directory: config.json, metrics.jsonl, loss.png, samples/, checkpoints/ and export/.",
        epilog="Every variant config key and trainer key can be set with --set; `ganzoo run VARIANT --show-config` prints them with their defaults.",
    )
    r.add_argument("variant", metavar="VARIANT", help="variant name (see `ganzoo list`)")
    r.add_argument("--data", metavar="NAME|PATH", help="registered dataset (see `ganzoo datasets`), a folder of images, a prepared dataset "
                   "or a Hub dataset (hf-hub:owner/name[@revision]); default: the variant's own")
    r.add_argument("--steps", type=int, metavar="N", help="training steps (default: the variant's demo budget)")
    r.add_argument("--batch-size", type=int, metavar="N", help="real samples per batch (default: the paper's)")
    r.add_argument("--device", metavar="D", help="auto (default: cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    r.add_argument("--seed", type=int, metavar="S", help="random seed (default 0); same seed and thread count on CPU -> bit-identical weights")
    r.add_argument("--out", metavar="DIR", help="run directory (default: runs/VARIANT-DATASET-TIMESTAMP)")
    r.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE", help="set any config key, e.g. --set lr=1e-4 --set ema=true (repeatable)")
    r.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its newest checkpoint, with its own config; --steps, --device, --amp, --compile and --set of how-it-runs trainer keys (logging, checkpoints, evaluation) may change, anything else is refused")
    r.add_argument("--config", metavar="FILE", help="read config keys from a YAML or JSON file (what --show-config writes, or a run's config.json); --set and flags override it")
    r.add_argument("--show-config", action="store_true", help="print the resolved config as YAML, each key with its comment and type, and exit without training; --config reads it back")
    r.add_argument("--amp", choices=["auto", "off", "bf16", "fp16"], help="mixed precision (default auto: bf16, or fp16 with loss scaling, on CUDA; off elsewhere)")
    r.add_argument("--tracker", action="append", dest="trackers", metavar="NAME", help="also report to this experiment tracker (repeatable): tensorboard (built in), wandb, mlflow, or a plugin's; `ganzoo plugins` lists them")
    r.add_argument("--compile", action="store_true", help="torch.compile every network (the first steps wait for compilation)")
    r.add_argument("--strict", action="store_true", help="refuse an image folder with unreadable files (default: skip them with a warning)")
    r.add_argument("--nproc", type=int, metavar="N", help="train with N processes (DistributedDataParallel; one GPU each, or gloo on CPU): runs torchrun for you")

    e = sub.add_parser("eval", parents=[common],
        help="score a trained model with the evaluation harness",
        description="Score an export folder (or a run directory's export/, a pretrained model, a Hub repo) with every metric that applies to it, "
        "or the ones named; prints a table, then adds the results to eval.json beside the weights (a metric evaluated again replaces "
        "its earlier result, the others stay) and to the model card.",
    )
    e.add_argument("path", metavar="PATH", nargs="?", help="run directory, export folder, pretrained name (ganzoo list --pretrained) or hf-hub:USER/NAME[@REVISION]")
    e.add_argument("--metrics", nargs="+", metavar="NAME", help="metric names (see `ganzoo metrics`); default: all that apply, except the *-inception-* ones, which download weights")
    e.add_argument("--out", metavar="DIR", help="write eval.json here instead of beside the weights (pretrained and Hub models default to ~/.cache/ganzoo/evals/NAME)")
    e.add_argument("--data", metavar="NAME|PATH", help="the reference data the metrics compare with (default: the dataset the model was trained on, as its config.json names it)")
    e.add_argument("--token", help="Hugging Face token for private repos")
    e.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    e.add_argument("--device", default="auto", help="device (default auto)")
    e.add_argument("--features", metavar="MODULE:CALLABLE", help="a feature extractor for the *-userfeatures-* metrics: CALLABLE() returns a module mapping images in [-1, 1] to (N, D) features")
    e.add_argument("--json", action="store_true", help="print the eval.json document to stdout instead of a table")
    e.add_argument("--truncation", type=float, default=0.0, metavar="Q", help="score the samples of Jacobian-based truncation rejecting Q of the latents; results are recorded as METRIC+jbtQ (default 0: G as trained)")

    sub.add_parser("metrics", parents=[common], help="list the registered metrics", description="Metrics usable with `ganzoo eval --metrics`, with their protocols.")

    s = sub.add_parser("sample", parents=[common], help="draw a sample grid from an exported model", description="Draw samples from an export folder, a run directory or a Hub repo and save them as one PNG grid.")
    s.add_argument("source", metavar="SOURCE", help="a pretrained model's name (ganzoo list --pretrained), an export folder, a run directory, or hf-hub:USER/NAME[@REVISION]")
    s.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    s.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    s.add_argument("--scale", type=int, metavar="K", help="enlarge each sample K times, pixels kept square (default: 1, or enough for 24 px: 2 for 16x16 models)")
    s.add_argument("--label", help="class for conditional variants: an index, or a class name the model records (a class folder's name)")
    s.add_argument("--truncation", type=float, default=0.0, metavar="Q", help="fraction of latents to reject, those the generator stretches most (Jacobian-based truncation, Tanielian et al. 2020: trims the samples between modes; default 0: as trained)")
    s.add_argument("--device", default="auto", help="device (default auto)")
    s.add_argument("-o", "--output", default="grid.png", help="output PNG (default grid.png)")
    s.add_argument("--token", help="Hugging Face token for private repos (default: HF_TOKEN or `hf auth login`)")

    t = sub.add_parser("translate", parents=[common], help="translate an image with an unpaired-translation model (CycleGAN)",
        description="Translate INPUT (any image file) from domain A to B (or B to A) with an exported CycleGAN and save the result as PNG.",
    )
    _image_to_image_args(t, "translated.png")
    t.add_argument("--direction", choices=["a2b", "b2a"], default="a2b", help="a2b (default) or b2a")

    u = sub.add_parser("upscale", parents=[common], help="super-resolve an image with a super-resolution model (SRGAN)",
        description="Upscale INPUT (any image file, any size) with an exported super-resolution model and save the result as PNG; "
        "large images are processed in overlapping tiles.",
    )
    _image_to_image_args(u, "upscaled.png")
    u.add_argument("--tile", type=int, default=128, help="tile side in input pixels, bounding memory (default 128)")

    pu = sub.add_parser("push", parents=[common], help="publish an export to the Hugging Face Hub",
        description="Upload an export folder (or a run directory's export/) to a Hub model repo in one commit, creating the repo if needed: "
        "model.safetensors, config.json, README.md model card, samples.png and eval.json when present.",
    )
    pu.add_argument("export", metavar="EXPORT_DIR", help="export folder or run directory")
    pu.add_argument("--repo", required=True, metavar="USER/NAME", help="the Hub repo to push to")
    pu.add_argument("--private", action="store_true", help="create the repo private")
    pu.add_argument("--revision", metavar="BRANCH", help="branch to commit to, created if needed (default main)")
    pu.add_argument("--token", help="Hugging Face token with write access (default: HF_TOKEN or `hf auth login`)")
    pu.add_argument("--overwrite-card", action="store_true", help="replace a README.md on the Hub that ganzoo did not write")

    pl2 = sub.add_parser("pull", parents=[common], help="download a model from the Hugging Face Hub",
        description="Download USER/NAME[@REVISION] into the Hugging Face cache (HF_HOME, HF_HUB_OFFLINE and HF_ENDPOINT apply) and print its local path.",
    )
    pl2.add_argument("repo", metavar="USER/NAME[@REVISION]", help="Hub repo, optionally pinned to a branch, tag or commit")
    pl2.add_argument("--token", help="Hugging Face token for private repos (default: HF_TOKEN or `hf auth login`)")

    c = sub.add_parser("completion", help="print a shell completion script (bash, zsh or fish)",
        description="Print a script that completes sub-commands, flags, variants, datasets, metrics, pretrained names and --set keys. "
        "bash: eval \"$(ganzoo completion bash)\" in ~/.bashrc; zsh: the same with zsh; fish: ganzoo completion fish > "
        "~/.config/fish/completions/ganzoo.fish. The names are those installed now: generate it again after installing a plugin.",
    )
    c.add_argument("shell", choices=["bash", "zsh", "fish"], help="the shell")
    return p


def _image_to_image_args(p: argparse.ArgumentParser, default_output: str) -> None:
    p.add_argument("source", metavar="EXPORT", help="pretrained name, export folder, run directory or hf-hub:USER/NAME[@REVISION]")
    p.add_argument("input", metavar="INPUT", help="image file")
    p.add_argument("-o", "--output", default=default_output, help=f"output PNG (default {default_output})")
    p.add_argument("--device", default="auto", help="device (default auto)")
    p.add_argument("--token", help="Hugging Face token for private repos")


class _Format(logging.Formatter):
    """`ganzoo: warning: ...` lines, as the CLI's own messages read."""

    def format(self, record: logging.LogRecord) -> str:
        level = {"WARNING": "warning: ", "ERROR": "error: ", "INFO": "", "DEBUG": "debug: "}.get(record.levelname, "")
        return f"ganzoo: {level}{record.getMessage()}"


def setup_logging(quiet: bool, verbose: int) -> None:
    """The library logs under the "ganzoo" logger (and plugins under their own module names); the
    CLI shows warnings by default, notes with -v, everything with -vv, errors only with -q."""
    level = logging.ERROR if quiet else logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Format())
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "_ganzoo", False)]
    handler._ganzoo = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    import warnings

    from ._plugin_api import GanzooDeprecationWarning

    warnings.filterwarnings("default", category=GanzooDeprecationWarning)  # a plugin's author should hear of it
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):  # ours as one `ganzoo: warning:` line
        if issubclass(category, GanzooDeprecationWarning):
            print(f"ganzoo: warning: {filename}:{lineno}: {message}", file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    if not getattr(shown, "_ganzoo", False):  # once per process, however often main() runs
        show._ganzoo = True  # type: ignore[attr-defined]
        warnings.showwarning = show
    args = build_parser().parse_args(argv)
    setup_logging(args.quiet, args.verbose)
    try:
        rc = COMMANDS[args.command](args)
        sys.stdout.flush()  # inside the try: a closed pipe is reported here, not at interpreter exit
        return rc
    except GanzooError as exc:
        print(f"ganzoo: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ganzoo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `ganzoo list | head -1`: the reader left; say nothing, as `cat` does
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a command killed by the pipe
    except OSError as exc:  # a full disk, a read-only file system, a permission: the user's to fix
        print(f"ganzoo: error: cannot use {describe_os_error(exc)}", file=sys.stderr)
        return 2


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush does not raise BrokenPipeError again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    rows = [header, *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _warn_failures(reg) -> None:
    if reg.failures:
        names = sorted({f.plugin for f in reg.failures})
        print(f"ganzoo: warning: {len(names)} plugin(s) failed to load: {', '.join(names)} (see `ganzoo plugins`)", file=sys.stderr)


def cmd_list(args) -> int:
    from ._plugins import registry

    reg = registry()
    if args.pretrained:
        rows = [
            (p.name, p.variant, p.dataset, "x".join(map(str, p.resolution)), f"{p.file_size / 1e6:.2f} MB", p.summary(), _use(p, reg))
            for p in (reg.pretrained[n] for n in sorted(reg.pretrained))
        ]
        print(_table(rows, ("pretrained", "variant", "dataset", "resolution", "weights", "metric", "use")))
        print("\nin Python: ganzoo.load(NAME) for any of them (.sample, .translate, .upscale)")
        _warn_failures(reg)
        return 0
    variants = []
    for name in sorted(reg.variants):
        cls = reg.variants[name]
        dist, version = reg.distribution_of_variant(name)
        plugin = f"{dist} {version}" if dist else f"{reg.variant_plugin[name]} (in-process)"
        variants.append((name, plugin, cls.task.value, cls.summary))
    print(_table(variants, ("variant", "plugin", "task", "summary")))
    _warn_failures(reg)
    return 0


def _use(entry, reg) -> str:
    """The command that shows what a pretrained model does, by its kind."""
    cls = reg.variants.get(entry.variant)
    task = cls.task.value if cls is not None else ""
    if task == "unpaired-translation":
        return f"ganzoo translate {entry.name} IMAGE"
    if task == "super-resolution":
        return f"ganzoo upscale {entry.name} IMAGE"
    if len(entry.resolution) == 1:  # points: no image to draw
        return f"ganzoo.load('{entry.name}').sample(n)"
    return f"ganzoo sample {entry.name}" + (" --label L" if task == "conditional" else "")


def cmd_plugins(args) -> int:
    from ._plugins import plugin_infos, registry

    reg = registry()
    from ._plugin_api import PLUGIN_API, REMOVED

    rows, old = [], []
    for info in plugin_infos():
        dist = f"{info.distribution} {info.version}" if info.distribution else "(in-process)"
        provides = [n for owners in (reg.variant_plugin, reg.dataset_plugin, reg.tracker_plugin) for n, p in owners.items() if p == info.name]
        rows.append((info.name, dist, str(info.api) if info.api is not None else "-", ", ".join(info.hooks), ", ".join(sorted(provides))))
        old += [(info.name, REMOVED[n]) for n in info.deprecated]
    print(_table(rows, ("plugin", "distribution", "api", "hooks", "provides")))
    print(f"\nplugin API {PLUGIN_API} (docs/plugin-api.md); '-': the plugin declares no GANZOO_PLUGIN_API")
    if old:
        print("\ndeprecated:")
        for plugin, entry in old:
            print(f"  {plugin}: imports {entry.name}, removed in {entry.removed_in} and gone in {entry.shim_until}; use {entry.use}")
    if reg.failures:
        print("\nfailed:")
        for f in reg.failures:
            print(f"  {f.plugin} ({f.distribution or 'in-process'}): {f.error}")
            if args.verbose and f.detail:
                print("    " + f.detail.rstrip().replace("\n", "\n    "))
    return 0


def cmd_datasets(args) -> int:
    from ._plugins import registry

    reg = registry()
    rows = [
        (ds.name, ds.kind, "yes" if ds.labels else "no", "yes" if ds.offline else "download", ds.summary, ds.terms or "-")
        for ds in sorted(reg.datasets.values(), key=lambda d: d.name)
    ]
    print(_table(rows, ("dataset", "kind", "labels", "offline", "summary", "licence / terms")))
    _warn_failures(reg)
    return 0


def _precision_text(trainer) -> str:
    """The precision and, on a CPU, the thread count: what a run's speed and its exact weights depend on."""
    import torch

    mode = {"off": "fp32", "bf16": "bf16 autocast", "fp16": "fp16 autocast"}[trainer.precision.mode]
    threads = torch.get_num_threads()
    return f"{mode}, {threads} thread{'s' if threads != 1 else ''}" if trainer.device.type == "cpu" else mode


def cmd_run(args) -> int:
    from .training import distributed

    if args.nproc is not None and args.nproc < 1:
        raise GanzooError(f"--nproc must be at least 1, got {args.nproc}")
    if args.nproc and args.nproc > 1 and not distributed.launched():
        return _launch(args.nproc)
    distributed.setup()
    try:
        return _run(args)
    finally:
        distributed.teardown()


def _launch(nproc: int) -> int:
    """`ganzoo run ... --nproc N` is `torchrun --standalone --nproc_per_node=N -m ganzoo run ...`."""
    import subprocess

    argv = sys.argv[1:]
    i = argv.index("--nproc") if "--nproc" in argv else None
    rest = argv[:i] + argv[i + 2 :] if i is not None else [a for a in argv if not a.startswith("--nproc=")]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m", "ganzoo", *rest]
    print("ganzoo: launching " + " ".join(cmd[1:]), file=sys.stderr)
    return subprocess.call(cmd)


def _run(args) -> int:

    from ._plugins import registry
    from .config import parse_assignments
    from .training import prepare, prepare_resume
    from .training.setup import command_line

    settings = parse_assignments(args.settings)  # --set text, parsed by each key's type; the flags below are typed already
    flags = {"device": args.device, "amp": args.amp, "compile": True if args.compile else None,
             "trackers": tuple(args.trackers) if args.trackers else None}
    data = args.data
    if args.config and not args.resume:
        from . import config_file

        file_settings, file_data = config_file.settings(config_file.read(args.config), args.config, args.variant, registry().variant(args.variant))
        settings = {**file_settings, **settings}  # --set over the file
        data = data or file_data
    if args.resume:
        extra = [f for f in ("data", "batch_size", "seed", "out", "config") if getattr(args, f) is not None]
        if extra:
            raise GanzooError(f"--resume continues a run with its own config; it cannot be combined with --{extra[0].replace('_', '-')}")
        settings.update({k: v for k, v in flags.items() if v is not None})
        trainer = prepare_resume(registry(), args.resume, variant=args.variant, steps=args.steps, settings=settings, strict_data=args.strict,
                                 progress=False if args.quiet else None)
    else:
        flags.update(steps=args.steps, batch_size=args.batch_size, seed=args.seed)
        settings.update({k: v for k, v in flags.items() if v is not None})
        if args.show_config:
            from . import config_file
            from .training.setup import resolve_configs

            cls = registry().variant(args.variant)
            config, train = resolve_configs(cls, settings)
            print(config_file.to_yaml(cls.name, data or cls.default_dataset, config, train), end="")
            return 0
        trainer = prepare(registry(), args.variant, data=data, settings=settings, out=args.out, auto_threads=True,
                          command=command_line([sys.argv[0], *sys.argv[1:]]), strict_data=args.strict, progress=False if args.quiet else None)
    if args.show_config:  # of a resumed run: its own config, as it continues
        from . import config_file

        print(config_file.to_yaml(trainer.variant.name, trainer.dataset, trainer.config, trainer.train), end="")
        return 0
    info = trainer.data.info
    world = f" x {trainer.world} processes" if trainer.world > 1 else ""
    print(
        f"ganzoo: training {trainer.variant.name} on {trainer.dataset} ({len(trainer.data)} samples of "
        f"{'x'.join(map(str, info.shape))}) for {trainer.config.steps} steps on {trainer.device}{world} ({_precision_text(trainer)})"
        + (f", resuming at step {trainer.step}" if args.resume else ""),
        file=sys.stderr,
    ) if trainer.is_main and not args.quiet else None
    result = trainer.fit()
    if not trainer.is_main:
        return 0
    print(f"trained {result.steps} steps at {result.images_per_s:.0f} images/s")
    print(f"samples: {result.grid}")
    print(f"weights: {result.export_dir / 'model.safetensors'}")
    print(f"metrics: {result.metrics}")
    if not args.quiet:
        tip = _zoo_tip(trainer, registry())
        if tip:
            print(tip)
    return 0


def _zoo_tip(trainer, reg) -> str | None:
    """For a run whose variant and data have a zoo model trained with another recipe, that model's
    score and the line that trains it: the demo's defaults are the paper's, the zoo's are tuned."""
    from .config import to_dict
    from .export.describe import set_text

    ran = {**to_dict(trainer.config), **to_dict(trainer.train)}
    for entry in (reg.pretrained[n] for n in sorted(reg.pretrained)):
        if entry.variant != trainer.variant.name or entry.dataset != trainer.dataset:
            continue
        recipe = {k: v for k, v in dict(entry.recipe.get("settings") or {}).items() if k in ran}
        if all(ran[k] == v for k, v in recipe.items()):
            continue
        keys = [k for k in recipe if k not in ("sample_every", "checkpoint_every", "eval_every", "eval_metrics", "log_every")]
        line = " ".join(["ganzoo", "run", entry.variant, *(["--data", entry.dataset] if entry.dataset != type(trainer.variant).default_dataset else []),
                         *[f"--set {k}={set_text(recipe[k])}" for k in keys]])
        return f"better: the zoo's {entry.name} ({entry.summary()}) was trained with: {line} (or use it: ganzoo sample {entry.name})"
    return None


def cmd_sample(args) -> int:
    from . import load
    from ._io import atomic_write
    from .plots import MAX_GRID_PIXELS, auto_scale, grid_geometry, streamed_grid
    from .training import resolve_device
    from .truncation import check_fraction

    if args.n < 1:
        raise GanzooError(f"-n must be at least 1, got {args.n}")
    check_fraction(args.truncation)
    out = _output_file(args.output)
    model = load(args.source, device=str(resolve_device(args.device)), token=args.token)
    if model.data.kind != "image":
        raise GanzooError(f"'{args.source}' generates {model.data.kind}, not images; sample it with ganzoo.load(...).sample(n) in Python")
    if args.scale is not None and not 1 <= args.scale <= 64:
        raise GanzooError(f"--scale must be between 1 and 64, got {args.scale}")
    shape = tuple(model.data.shape)
    scale = args.scale or auto_scale(shape)
    n, nrow, rows = args.n, None, None
    if model.task.value == "conditional" and args.label is None:  # one labelled row per class
        n, nrow = model.variant.grid(args.n)
        classes = model.data.num_classes or 0
        if nrow and -(-n // nrow) == classes:
            rows = list(model.class_names or (str(i) for i in range(classes)))
        if n != args.n:
            log.warning("drew %d samples, not %d: the grid has one row per class (%d classes x %d); "
                        "give -n as a multiple of %d, or --label for one class", n, args.n, classes, nrow or 0, classes)
    shown_shape = (shape[0], shape[1] * scale, shape[2] * scale)
    _, _, height, width = grid_geometry(n, shown_shape, nrow)
    if height * width > MAX_GRID_PIXELS:
        most = max(n for n in (2**k for k in range(24)) if (lambda g: g[2] * g[3] <= MAX_GRID_PIXELS)(grid_geometry(n, shown_shape)))
        raise GanzooError(f"-n {args.n} would make a {width:,}x{height:,} grid, more pixels than image viewers open "
                          f"({MAX_GRID_PIXELS:,}); draw at most about {most:,} per grid (several seeds for more)")
    batches = model.generate_batches(n, seed=args.seed, labels=args.label, truncation=args.truncation)  # one batch in memory at a time
    grid = streamed_grid(batches, n, shape, nrow, row_labels=rows, scale=scale)
    atomic_write(out, lambda f: grid.save(f, format="PNG"))  # encoded straight into the file
    print(out)
    return 0


def _output_file(text: str) -> Path:
    """An output PNG path the user gave, refused in one line when it cannot be one."""
    out = Path(text)
    if out.is_dir():
        raise GanzooError(f"output '{out}' is a folder; give a file name ending in .png")
    if out.suffix.lower() != ".png":
        raise GanzooError(f"output '{out}' must end in .png")
    if out.parent.exists() and not out.parent.is_dir():
        raise GanzooError(f"output '{out}': '{out.parent}' is a file, not a folder")
    return out


def cmd_eval(args) -> int:
    import json

    from . import resolve
    from ._plugins import registry
    from .eval import eval_cache_dir, record, score
    from .training import resolve_device

    path = args.path
    if path is None and args.metrics:  # `ganzoo eval --metrics A B PATH`: argparse gave PATH to --metrics
        path = args.metrics.pop()
    if path is None or args.metrics == []:
        raise GanzooError("ganzoo eval needs PATH (a run directory, export folder, pretrained name or hf-hub: id)"
                          + ("" if path is None else " and at least one name after --metrics"))
    reg = registry()
    folder = resolve(path, token=args.token)
    own = not (path in reg.pretrained and not Path(path).exists()) and not path.startswith("hf-hub:")
    doc, model = score(folder, reg, args.metrics, seed=args.seed, device=str(resolve_device(args.device)), features=args.features,
                       truncation=args.truncation, data=args.data)
    if args.json:
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        from ._text import unit_of, with_spreads

        rows = [(name, key, text, unit_of(key)) for name, result in doc["metrics"].items() for key, text in with_spreads(result["values"])]
        print(_table(rows, ("metric", "key", "value ± spread", "unit")))
        print("\n± is each metric's own spread (over evaluation draws, or a bootstrap standard error); its protocol in eval.json says which")
    sys.stdout.flush()  # the results are out before anything is written
    dest = Path(args.out) if args.out else folder if own else eval_cache_dir(path)
    if dest.exists() and not dest.is_dir():
        raise GanzooError(f"--out '{dest}' is a file; give a folder for eval.json")
    try:
        record(doc, model, dest, card=dest == folder)
    except OSError as exc:
        raise GanzooError(f"the results above were not saved: cannot write {describe_os_error(exc)}") from None
    print(f"wrote {dest / 'eval.json'}", file=sys.stderr if args.json else sys.stdout)
    return 0


def cmd_metrics(args) -> int:
    from ._plugins import registry

    reg = registry()
    rows = [(m.name, reg.metric_plugin[m.name], m.summary) for m in sorted(reg.metrics.values(), key=lambda m: m.name)]
    print(_table(rows, ("metric", "plugin", "summary")))
    _warn_failures(reg)
    return 0


def _read_image(path: str, channels: int):
    """An image file as uint8 (C, H, W) with the model's channel count (converted as training data is)."""
    from .data.images import open_image

    if not Path(path).is_file():
        raise GanzooError(f"input image '{path}' does not exist" if not Path(path).exists() else f"input image '{path}' is not a file")
    try:
        return open_image(Path(path), channels)
    except (ValueError, OSError) as exc:
        raise GanzooError(f"cannot read image '{path}': {exc}") from None


def _write_image(path: Path, image) -> None:
    """A uint8 (C, H, W) tensor as a PNG, atomically, encoded straight into the file."""
    from PIL import Image

    from ._io import atomic_write

    hwc = image.cpu().permute(1, 2, 0)  # no copy when the tensor is channels-last, as tiled outputs are
    array = hwc.numpy() if hwc.is_contiguous() else hwc.contiguous().numpy()
    picture = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
    del hwc, array, image
    atomic_write(path, lambda f: picture.save(f, format="PNG"))
    print(path)


def _image_model(args, task: str):
    from . import load
    from .training import resolve_device

    out = _output_file(args.output)
    model = load(args.source, device=str(resolve_device(args.device)), token=args.token)
    if model.task.value != task:
        raise GanzooError(f"'{args.source}' holds a {model.name} model ({model.task.value}), not {_article(task)} {task} model")
    return model, out


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def cmd_translate(args) -> int:
    import torch

    model, out = _image_model(args, "unpaired-translation")
    x = _read_image(args.input, model.data.shape[0])
    _write_image(out, model.translate(x, args.direction, dtype=torch.uint8))  # the generator pads and crops as its stages need
    return 0


def cmd_upscale(args) -> int:
    import torch

    if args.tile < 16:
        raise GanzooError(f"--tile must be at least 16, got {args.tile}")
    model, out = _image_model(args, "super-resolution")
    x = _read_image(args.input, model.data.shape[0])
    _write_image(out, model.upscale(x, tile=args.tile, dtype=torch.uint8))  # tiles go straight into a uint8 output
    return 0


def cmd_push(args) -> int:
    from . import push

    print(push(args.export, args.repo, private=args.private, revision=args.revision, token=args.token, overwrite_card=args.overwrite_card))
    return 0


def cmd_pull(args) -> int:
    from . import load, pull

    path = pull(args.repo, token=args.token)
    load(str(path))  # refuses, by name, an export that would not load: a missing plugin, mismatched tensors
    print(path)
    return 0


def cmd_prepare(args) -> int:
    from .data.prepared import prepare_data, prepare_folder

    if args.size is not None and not 4 <= args.size <= 8192:
        raise GanzooError(f"--size must be between 4 and 8192, got {args.size}")
    if args.workers is not None and args.workers < 1:
        raise GanzooError(f"--workers must be at least 1, got {args.workers}")
    if args.source.startswith("hf-hub:"):
        from .data.hub import download, prepare_hub

        repo, sha, folder = download(args.source)
        m = prepare_hub(folder, Path(args.out).expanduser(), source=f"hf-hub:{repo}@{sha}", size=args.size, channels=args.channels,
                        strict=args.strict, image_column=args.image_column, label_column=args.label_column, workers=args.workers,
                        progress=False if args.quiet else None)
    elif not Path(args.source).expanduser().exists():  # a registered dataset by name: cifar10, svhn, a plugin's
        from ._plugins import registry
        from .data import load_data
        from .data.types import DataRequest

        reg = registry()
        if args.source not in reg.datasets:
            load_data(args.source, DataRequest(), reg.datasets)  # says what is unknown, with the closest names
        data = load_data(args.source, DataRequest(size=args.size, channels=args.channels, labels=reg.datasets[args.source].labels), reg.datasets)
        m = prepare_data(data, args.source, args.out)
    else:
        m = prepare_folder(args.source, args.out, size=args.size, channels=args.channels, strict=args.strict, workers=args.workers,
                           progress=False if args.quiet else None)
    classes = f", {len(m.class_names)} classes ({', '.join(m.class_names[:5])}{'...' if len(m.class_names) > 5 else ''})" if m.class_names else ""
    print(f"prepared {m.shape[0]:,} images of {m.shape[1]}x{m.shape[2]}x{m.shape[3]}{classes} into {args.out}"
          + (f"; {len(m.skipped)} left out (manifest.json lists them)" if m.skipped else ""))
    return 0


def cmd_completion(args) -> int:
    from ._plugins import registry
    from .completion import script

    print(script(args.shell, build_parser(), registry()), end="")
    return 0


COMMANDS = {
    "completion": cmd_completion,
    "prepare": cmd_prepare,
    "translate": cmd_translate,
    "upscale": cmd_upscale,
    "push": cmd_push,
    "pull": cmd_pull,
    "eval": cmd_eval,
    "metrics": cmd_metrics,
    "list": cmd_list,
    "plugins": cmd_plugins,
    "datasets": cmd_datasets,
    "run": cmd_run,
    "sample": cmd_sample,
}
