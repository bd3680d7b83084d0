"""The servers under load, each a real process on 127.0.0.1: coatcheck as its CLI runs it
(`coatcheck serve`), and the apps it is measured against (bench/bare_app.py, plain_app.py,
ceiling_app.py, peer_app.py), each pinned to `cpus` by taskset when given."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.processes import Reaper

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
# Only these pass through from our environment: coatcheck runs on its shipping defaults
# plus what each benchmark sets, whatever the caller's shell exports.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
READY_TIMEOUT = 60.0


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[Any]
    log: Path

    def truncate_log(self) -> None:
        """Access logs grow by one line a request: dropped between loads, kept on failure."""
        if self.process.poll() is None:
            os.truncate(self.log, 0)

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def inherited() -> dict[str, str]:
    return {key: os.environ[key] for key in _INHERITED if key in os.environ}


def _pinned(cpus: str) -> list[str]:
    return ["taskset", "-c", cpus] if cpus else []


def start_coatcheck(
    reaper: Reaper,
    name: str,
    env: dict[str, str],
    log_dir: Path,
    workers: int = 1,
    cpus: str = "",
    program: tuple[str, ...] = (str(VENV_BIN / "coatcheck"),),
) -> Server:
    """`program` is coatcheck's CLI, or what runs it (bench/soak_probe.py)."""
    port = free_port()
    command = [
        *_pinned(cpus),
        *program,
        *("serve", "--host", "127.0.0.1", "--port", str(port)),
    ]
    if workers != 1:
        command += ["--workers", str(workers)]
    # Several servers run at once: none takes the default metrics listener (127.0.0.1:9181).
    metrics = {"METRICS_PORT": "api"}
    return _start(reaper, name, command, inherited() | metrics | env, port, log_dir)


def start_app(
    reaper: Reaper, name: str, module: str, log_dir: Path, *options: str, cpus: str = ""
) -> Server:
    """`python -m bench.<module> --host 127.0.0.1 --port P <options>`."""
    port = free_port()
    command = [
        *_pinned(cpus),
        str(VENV_BIN / "python"),
        *("-m", f"bench.{module}", "--host", "127.0.0.1", "--port", str(port), *options),
    ]
    env = inherited() | {"PYTHONPATH": str(ROOT)}
    return _start(reaper, name, command, env, port, log_dir)


def _start(
    reaper: Reaper, name: str, command: list[str], env: dict[str, str], port: int, log_dir: Path
) -> Server:
    log = log_dir / f"{name}.log"
    # O_APPEND, so that truncating the file from here leaves no hole behind the writer
    with log.open("ab") as output:
        process = reaper.spawn(
            command, env=env, cwd=log_dir, stdout=output, stderr=subprocess.STDOUT
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log)
    _wait_ready(server)
    return server


def _wait_ready(server: Server) -> None:
    """Until GET /health/ready answers 200: the stores answer and migrations are applied."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode} before it was ready:\n"
                + server.tail()
            )
        try:
            with urllib.request.urlopen(server.url + "/health/ready", timeout=2) as answer:  # noqa: S310 -- our own http://127.0.0.1 URL
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"{server.name} was not ready within {READY_TIMEOUT:.0f} s:\n{server.tail()}"
    )
