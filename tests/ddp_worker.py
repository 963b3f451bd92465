"""Run under torchrun by tests/test_distributed.py: train (or resume) a tiny DCGAN with N processes
and save each rank's network weights, so the test can compare the ranks."""

import sys

import torch.distributed as dist
from safetensors.torch import save_file

from ganzoo._plugins import registry
from ganzoo.training import distributed, prepare, prepare_resume
from ganzoo.variant import unwrap

mode, out, steps, stop = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
distributed.setup()
settings = {"steps": steps, "batch_size": 8, "g_width": 8, "d_width": 8, "checkpoint_every": 0, "log_every": 1}
trainer = prepare(registry(), "dcgan", settings=settings, out=out, progress=False) if mode == "new" else prepare_resume(registry(), out, steps=steps, progress=False)
trainer.fit(stop_at=stop)
state = {f"{name}.{k}": v.detach().cpu().contiguous() for name, net in trainer.variant.networks().items()
         for k, v in unwrap(net).named_parameters()}
save_file(state, f"{out}/rank{dist.get_rank()}-step{trainer.step}.safetensors")
distributed.teardown()
