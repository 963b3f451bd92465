import contextlib
import io
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


def run_main(*args, cwd=None):
    """``ganzoo.cli.main`` in this process, as a subprocess would see it: exit code, stdout,
    stderr (a CompletedProcess). Cheaper than run_cli by a Python start and a torch import; used
    for tables of cases, each kind of which also has a real-subprocess test."""
    from ganzoo.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main([str(a) for a in args])
            except SystemExit as exc:  # argparse's usage errors
                rc = exc.code
    finally:
        os.chdir(old)
    return subprocess.CompletedProcess(["ganzoo", *map(str, args)], rc, out.getvalue(), err.getvalue())


@pytest.fixture
def main_cli(tmp_path):
    def call(*args, **kw):
        kw.setdefault("cwd", tmp_path)
        return run_main(*args, **kw)

    return call
