"""Errors a user can cause and fix.

Everything raised as a :class:`GanzooError` is the user's to fix (a misspelt variant, a bad
``--set`` value, a folder with no images); the CLI prints its message and exits with code 2,
without a traceback. Any other exception is a bug in ganzoo or a plugin and keeps its traceback.
"""

from __future__ import annotations


class GanzooError(Exception):
    """A user error: the message alone must say what is wrong and, where it can, how to fix it."""

    exit_code = 2  # what the CLI exits with


class ConfigError(GanzooError):
    """A config key that does not exist, or a value that does not fit the key's type."""


class DataError(GanzooError):
    """A dataset that cannot be found, loaded, or used by the chosen variant."""


class PluginError(GanzooError):
    """A variant or dataset name that no loaded plugin provides."""


class ExportError(GanzooError):
    """A folder that is not a ganzoo export, or whose weights do not match its config."""


class Interrupted(GanzooError):
    """Training was stopped by SIGINT (Ctrl-C) or SIGTERM: the step in flight finished and a
    checkpoint at its boundary was written, so --resume continues exactly. Exit code 130."""

    exit_code = 130


class Diverged(GanzooError):
    """A loss became NaN or infinite (or beyond ``max_loss``): training stopped before writing any
    of it, so the last good checkpoint and the export are untouched. Exit code 3."""

    exit_code = 3


class WriteFailed(GanzooError):
    """A file could not be written or read: a full disk (ENOSPC), a read-only file system (EROFS),
    a permission (EACCES), a folder where a file should be. The message names the path and the
    cause; during training (exit code 3) also the last good checkpoint and the resume command."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def describe_os_error(exc: OSError) -> str:
    """'cannot write '/path': No space left on device', from any OSError."""
    path = exc.filename if exc.filename is not None else None
    cause = exc.strerror or str(exc) or type(exc).__name__
    if path is None:
        return cause
    other = f" -> '{exc.filename2}'" if getattr(exc, "filename2", None) else ""
    return f"'{path}'{other}: {cause}"
