"""Every process a benchmark starts, and the guarantee that it ends: each runs in its own
process group (so a server's workers go with it), and `Reaper.close` ends them all, on
success, error or Ctrl-C alike."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any


class Reaper:
    def __init__(self) -> None:
        self._running: list[subprocess.Popen[Any]] = []

    def __enter__(self) -> Reaper:
        # SIGTERM (a timeout, a closed terminal) unwinds like Ctrl-C, through every finally;
        # and Ctrl-C does so even where a shell started us with SIGINT ignored (`cmd &`).
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def spawn(
        self,
        command: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stdout: IO[Any] | int | None = None,
        stderr: IO[Any] | int | None = None,
        stdin: IO[Any] | int = subprocess.DEVNULL,
    ) -> subprocess.Popen[Any]:
        process = subprocess.Popen(
            list(command),
            env=env,
            cwd=cwd,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        self._running.append(process)
        return process

    def stop(self, process: subprocess.Popen[Any], grace: float = 10.0) -> None:
        """SIGTERM to the process group, SIGKILL if it is still there after `grace` seconds."""
        if process in self._running:
            self._running.remove(process)
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(5)
        # a worker that outlived its parent is still in the group
        _signal_group(process, signal.SIGKILL)

    def close(self) -> None:
        for process in list(self._running):
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in list(self._running):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
            _signal_group(process, signal.SIGKILL)
            if process.poll() is None:
                process.wait(5)
            self._running.remove(process)


def _signal_group(process: subprocess.Popen[Any], number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, number)  # the group's id is the leader's pid (new session)


def _interrupt(number: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {number}")
