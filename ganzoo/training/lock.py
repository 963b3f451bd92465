"""One writer per run directory: an advisory lock file, taken before anything is written.

``RUN/.lock`` holds the owner's pid, host and start time as JSON. It is created with O_EXCL, so of
two processes starting at once exactly one gets it; the other is refused with the holder named.
A lock whose process no longer runs on this host (a kill -9, a crash) is stale: it is replaced,
with a line saying so. A lock from another host cannot be checked and is never broken silently.
"""

from __future__ import annotations

import atexit
import datetime
import json
import logging
import os
import socket
from pathlib import Path

from ..errors import GanzooError

log = logging.getLogger(__name__)

NAME = ".lock"


class RunLocked(GanzooError):
    """Another process is writing to the run directory."""


def process_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunLock:
    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / NAME
        self.held = False

    def acquire(self) -> "RunLock":
        if self.held:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": datetime.datetime.now().isoformat(timespec="seconds")}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is not None and self._stale(holder):
                    log.warning("'%s' was left by process %s on %s, which no longer runs; taking it over",
                                self.path, holder.get("pid"), holder.get("host"))
                    self.path.unlink(missing_ok=True)
                    continue
                if holder is None:  # being written this instant, or emptied by a crash mid-write
                    continue
                raise RunLocked(
                    f"'{self.path.parent}' is in use by process {holder.get('pid')} on {holder.get('host')} "
                    f"(since {holder.get('started')}); wait for it, stop it, or choose another --out. If that process is gone, "
                    f"delete {self.path}"
                ) from None
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
                f.flush()
                os.fsync(f.fileno())
            self.held = True
            atexit.register(self.release)  # a process that ends without fit() (an error, --show-config) leaves no lock
            return self
        raise RunLocked(f"could not take the lock '{self.path}'; delete it if no ganzoo process uses the folder")

    def _holder(self) -> dict | None:
        try:
            data = json.loads(self.path.read_text())
            return data if isinstance(data, dict) else None
        except (OSError, ValueError):
            return None

    @staticmethod
    def _stale(holder: dict) -> bool:
        pid = holder.get("pid")
        return holder.get("host") == socket.gethostname() and isinstance(pid, int) and pid != os.getpid() and not process_alive(pid)

    def release(self) -> None:
        if self.held:
            self.held = False
            holder = self._holder()
            if holder is not None and holder.get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
