"""A Dask worker plugin for the fault tests (imported by the worker processes)."""

from __future__ import annotations

import os
import signal

from distributed import WorkerPlugin


class KillAfterFirstPart(WorkerPlugin):
    """Logs each partition task a worker starts and finishes (``<event> <key> <pid>`` lines in
    ``log``), and kills its own worker process (SIGKILL) right after the first partition task
    of the run finishes anywhere (``flag`` is created then, so it happens once)."""

    name = "hgobs-kill-after-first-part"

    def __init__(self, log: str, flag: str) -> None:
        self.log = log
        self.flag = flag

    def _write(self, text: str) -> None:
        with open(self.log, "a", encoding="utf-8") as out:
            out.write(text + "\n")

    def transition(self, key, start, finish, **kwargs):  # type: ignore[no-untyped-def]
        if not str(key).startswith("hgobs-part-"):
            return
        if finish == "executing":
            self._write(f"start {key} {os.getpid()}")
        elif start == "executing" and finish == "memory":
            self._write(f"done {key} {os.getpid()}")
            try:
                fd = os.open(self.flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return
            os.close(fd)
            self._write(f"kill {key} {os.getpid()}")
            os.kill(os.getpid(), signal.SIGKILL)
