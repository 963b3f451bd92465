import contextlib
import io
import os
import subprocess
import sys
import tempfile

import pytest
import torch

from ganzoo import _plugins

# Prepared copies of test folders (ganzoo.data.prepared) go to a scratch data root, not the user's
# ~/.cache; tests that need their own root set GANZOO_DATA_DIR themselves.
os.environ.setdefault("GANZOO_DATA_DIR", tempfile.mkdtemp(prefix="ganzoo-test-data-"))

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
    """`ganzoo ARGS` run in tmp_path, in this process (see run_main)."""
    def call(*args, **kw):
        kw.setdefault("cwd", tmp_path)
        return run_main(*args, **kw)

    return call


def run_main(*args, cwd=None, env=None, timeout=None):
    """``ganzoo.cli.main`` in this process, as a subprocess would see it: exit code, stdout and
    stderr as a CompletedProcess, with ``cwd``, ``env`` and ``sys.argv`` set as the console script
    would have them. A `ganzoo` subprocess costs 4 s of torch import before it does anything; this
    costs nothing, so most CLI tests use it. What only a real process shows (the console script
    itself, signals, two processes, plugins found on a fresh PYTHONPATH, import-time settings such
    as HF_HUB_OFFLINE, a test-only sitecustomize) is tested through run_cli."""
    import logging

    from ganzoo.cli import main

    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    old_cwd, old_argv, old_env = os.getcwd(), sys.argv, dict(os.environ)
    root = logging.getLogger()
    old_handlers, old_level = list(root.handlers), root.level
    try:
        if cwd is not None:
            os.chdir(cwd)
        os.environ.update({k: str(v) for k, v in (env or {}).items()})
        sys.argv = [os.path.join(os.path.dirname(sys.executable), "ganzoo"), *argv]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(argv)
            except SystemExit as exc:  # argparse: --help, usage errors
                rc = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    finally:
        os.chdir(old_cwd)
        sys.argv = old_argv
        os.environ.clear()
        os.environ.update(old_env)
        root.handlers, root.level = old_handlers, old_level
    return subprocess.CompletedProcess(["ganzoo", *argv], rc, out.getvalue(), err.getvalue())


@pytest.fixture
def main_cli(tmp_path):
    def call(*args, **kw):
        kw.setdefault("cwd", tmp_path)
        return run_main(*args, **kw)

    return call


@pytest.fixture
def real_cli(tmp_path):
    """The real `ganzoo` console script in a subprocess, run in tmp_path."""
    def call(*args, **kw):
        kw.setdefault("cwd", tmp_path)
        return run_cli(*args, **kw)

    return call
