"""Run under torchrun by tests/test_distributed.py: train (or resume) a tiny DCGAN with N processes
and save each rank's network weights, so the test can compare the ranks. Takes one or more jobs,
MODE OUT STEPS STOP each, run one after the other in the same process group (a torchrun launch
costs three torch imports)."""

import sys

import torch.distributed as dist
from safetensors.torch import save_file

from ganzoo._plugins import registry
from ganzoo.training import distributed, prepare, prepare_resume
from ganzoo.variant import unwrap

args = sys.argv[1:]
distributed.setup()
for i in range(0, len(args), 4):
    mode, out, steps, stop = args[i], args[i + 1], int(args[i + 2]), int(args[i + 3])
    settings = {"steps": steps, "batch_size": 8, "g_width": 8, "d_width": 8, "checkpoint_every": 0, "log_every": 1}
    if mode == "new":
        trainer = prepare(registry(), "dcgan", settings=settings, out=out, progress=False)
    else:
        trainer = prepare_resume(registry(), out, steps=steps, progress=False)
    trainer.fit(stop_at=stop)
    state = {f"{name}.{k}": v.detach().cpu().contiguous() for name, net in trainer.variant.networks().items()
             for k, v in unwrap(net).named_parameters()}
    save_file(state, f"{out}/rank{dist.get_rank()}-step{trainer.step}.safetensors")
distributed.teardown()
