import os
import subprocess
import sys

import pytest
import torch

from ganzoo import _plugins

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One torch thread per xdist worker (and per `ganzoo` subprocess a test starts): two workers on
    # two cores, not four threads fighting over them.
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def register_plugin():
    """Register in-process plugin objects for one test, and unregister them afterwards (as llm's tests do)."""
    names = []

    def register(plugin, name):
        _plugins.pm.register(plugin, name=name)
        names.append(name)

    yield register
    for name in names:
        _plugins.pm.unregister(name=name)


def run_cli(*args, cwd=None, env=None, timeout=600):
    """Run the real `ganzoo` console script in a subprocess; returns the CompletedProcess."""
    exe = os.path.join(os.path.dirname(sys.executable), "ganzoo")
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([exe, *map(str, args)], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli(tmp_path):
    def call(*args, **kw):
        kw.setdefault("cwd", tmp_path)
        return run_cli(*args, **kw)

    return call
