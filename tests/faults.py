"""Stores of the tests' own, to break: a redis-server and a throwaway PostgreSQL cluster
(initdb) on free loopback ports, each in a process group of its own so that it can be
killed (SIGKILL), hung (SIGSTOP, then SIGCONT) and started again. Nothing else is touched:
never the machine's shared PostgreSQL or Redis."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.services import service_missing

START_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


TCP_ESTABLISHED, TCP_LISTEN = "01", "0A"


def loopback_sockets(port: int) -> list[tuple[str, int, str]]:
    """This machine's TCP sockets on 127.0.0.1:port, from /proc/net/tcp: (state, bytes
    received and not yet read, inode), the state as the kernel writes it (TCP_LISTEN...)."""
    local = f"0100007F:{port:04X}"
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local:
            found.append((fields[3], int(fields[4].split(":")[1], 16), fields[9]))
    return found


def _wait_until(ready: object, what: str, seconds: float = START_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start in time")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    """Every process whose parent is `pid` (PostgreSQL's backends lead groups of their own)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


class _Process:
    """A server in a process group of its own; its children are signalled too."""

    process: subprocess.Popen[bytes] | None = None

    def _signal(self, number: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, number)
        for child in _children(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, number)

    def hang(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.process is None:
            return
        self._signal(signal.SIGCONT)
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None


class RedisServer(_Process):
    """Appends every write to its file before answering, so a killed one restarts whole."""

    def __init__(self, folder: Path) -> None:
        if shutil.which("redis-server") is None:
            service_missing("redis-server", FileNotFoundError("redis-server"))
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "yes", "--appendfsync", "always"),
                *("--dir", str(self.folder), "--logfile", str(self.folder / "redis.log")),
            ],
            start_new_session=True,
        )
        _wait_until(lambda: self.cli("PING") == "PONG", "redis-server")

    def cli(self, *command: str) -> str:
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), *command],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        return done.stdout.strip()

    def out_of_memory(self) -> None:
        self.cli("CONFIG", "SET", "maxmemory-policy", "noeviction")
        self.cli("CONFIG", "SET", "maxmemory", "1")

    def memory_back(self) -> None:
        self.cli("CONFIG", "SET", "maxmemory", "0")


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    folder = Path(tempfile.mkdtemp(prefix="coatcheck-redis-"))
    server = RedisServer(folder)
    try:
        server.start()
        yield server
    finally:
        server.kill()
        shutil.rmtree(folder, ignore_errors=True)


def _postgres_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    if shutil.which(name):
        return str(shutil.which(name))
    service_missing("PostgreSQL binaries", FileNotFoundError(name))
    raise AssertionError  # unreachable


class PostgresServer(_Process):
    """A cluster made with initdb (as the postgres user when the tests run as root)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._user = None
        if os.geteuid() == 0:
            try:
                self._user = pwd.getpwnam("postgres")
            except KeyError:
                service_missing("a postgres user for initdb", KeyError("postgres"))
            os.chown(folder, self._user.pw_uid, self._user.pw_gid)
        folder.chmod(0o755)

    def _run_as(self) -> dict[str, object]:
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}

    def initdb(self) -> None:
        subprocess.run(
            [_postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-N"],
            check=True,
            capture_output=True,
            timeout=120,
            **self._run_as(),  # type: ignore[call-overload]
        )

    def start(self) -> None:
        with (self.folder / "postgres.log").open("ab") as log:
            self.process = subprocess.Popen(  # type: ignore[call-overload]
                [
                    *(_postgres_bin("postgres"), "-D", str(self.data), "-p", str(self.port)),
                    *("-k", str(self.folder), "-c", "listen_addresses=127.0.0.1"),
                    *("-c", "fsync=off", "-c", "max_connections=60"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
                **self._run_as(),
            )
        _wait_until(lambda: _answers(self.port) and self._accepts(), "postgres")

    def _accepts(self) -> bool:
        done = subprocess.run(
            [_postgres_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True,
            check=False,
            timeout=5,
        )
        return done.returncode == 0


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    folder = Path(tempfile.mkdtemp(prefix="coatcheck-pg-"))
    server = PostgresServer(folder)
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        server.kill()
        shutil.rmtree(folder, ignore_errors=True)
