"""wrk, the load generator from Debian's `wrk` package, driven by bench/load.lua whose
done() hook prints the figures as JSON; or with no script at all (`Load.script=False`), the
run that shows whether the script costs the load generator anything, read from wrk's text."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.processes import Reaper

SCRIPT = Path(__file__).resolve().parent / "load.lua"
MARK = "WRK-JSON "


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian's package when missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench: wrk is missing, installing Debian's package: apt-get install -y wrk")
        install = ["apt-get", "install", "-y", "wrk"]
        if subprocess.run(install, check=False, timeout=600).returncode != 0:
            subprocess.run(["apt-get", "update"], check=False, timeout=600)
            subprocess.run(install, check=False, timeout=600)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit(
        "bench: the load generator wrk is not installed. It comes from Debian's package:\n"
        "    sudo apt-get update && sudo apt-get install -y wrk"
    )


@dataclass(frozen=True)
class Load:
    """One wrk invocation."""

    url: str
    connections: int
    duration: float
    threads: int = 1
    lines: Path | None = None
    mode: str = "plain"  # cookie | body | plain (see load.lua)
    user_agent: str = "wrk"
    count_status: bool = False
    pace: bool = False  # the rate as the slope of answers over time (see load.lua)
    timeout: float = 2.0  # seconds before wrk counts a request as timed out
    script: bool = True  # False: wrk alone, no Lua at all (plain GETs, no rotation)
    cpus: str = ""  # taskset's CPU list for wrk ("" = unpinned)

    def command(self, binary: str) -> list[str]:
        pinned = ["taskset", "-c", self.cpus] if self.cpus else []
        common = [
            *pinned,
            binary,
            *("-t", str(min(self.threads, self.connections)), "-c", str(self.connections)),
            *("-d", f"{_whole(self.duration)}s", "--timeout", f"{_whole(self.timeout)}s"),
        ]
        if not self.script:
            return [*common, "--latency", "-H", f"User-Agent: {self.user_agent}", self.url]
        arguments = [
            *common,
            *("-s", str(SCRIPT), self.url, "--"),
            f"mode={self.mode}",
            f"ua={self.user_agent}",
        ]
        if self.lines is not None:
            arguments.append(f"lines={self.lines}")
        if self.count_status:
            arguments.append("count=1")
        if self.pace:
            arguments.append("pace=1")
        return arguments


def _whole(seconds: float) -> int:
    """wrk takes whole seconds only."""
    return max(1, round(seconds))


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    status: dict[str, int] | None  # answers by class, when counted
    steady_rate: float | None = None  # when paced

    @property
    def rate(self) -> float:
        """Answers per second: the slope of answers over time when paced, else the answers
        of the whole run over its duration."""
        if self.steady_rate is not None:
            return self.steady_rate
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def socket_errors(self) -> int:
        return sum(count for name, count in self.errors.items() if name != "status")


class Wrk:
    def __init__(self, reaper: Reaper) -> None:
        self._binary = ensure_wrk()
        self._reaper = reaper

    def start(self, load: Load) -> tuple[Load, subprocess.Popen[Any]]:
        process = self._reaper.spawn(
            load.command(self._binary), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        return load, process

    def finish(self, started: tuple[Load, subprocess.Popen[Any]]) -> Result:
        load, process = started
        try:
            out, err = process.communicate(timeout=load.duration + load.timeout + 30)
        except subprocess.TimeoutExpired:
            self._reaper.stop(process, grace=1)
            raise RuntimeError(f"wrk did not finish: {' '.join(load.command('wrk'))}") from None
        self._reaper.stop(process, grace=0)
        text, errors = out.decode(errors="replace"), err.decode(errors="replace")
        return parse(text, errors) if load.script else parse_text(text, errors)

    def run(self, load: Load) -> Result:
        return self.finish(self.start(load))


def parse(out: str, err: str = "") -> Result:
    for line in out.splitlines():
        if line.startswith(MARK):
            data = json.loads(line[len(MARK) :])
            latency = data["latency_us"]
            return Result(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                p50_ms=latency["p50"] / 1000,
                p99_ms=latency["p99"] / 1000,
                errors=data["errors"],
                status=data["status"] if data["counted"] else None,
                steady_rate=data["steady_rate"] if data["steady_rate"] >= 0 else None,
            )
    raise RuntimeError(f"wrk printed no figures:\n{out[-2000:]}\n{err[-2000:]}")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_PERCENTILE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),", re.MULTILINE)
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_STATUS = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def parse_text(out: str, err: str = "") -> Result:
    """The figures of a run of wrk without a script (`--latency`), from its text."""
    total = _TOTAL.search(out)
    percentiles = {
        number: float(value) * _UNITS[unit] for number, value, unit in _PERCENTILE.findall(out)
    }
    if total is None or set(percentiles) != {"50", "99"}:
        raise RuntimeError(f"wrk printed no figures:\n{out[-2000:]}\n{err[-2000:]}")
    sockets = _SOCKET.search(out)
    connect, read, write, timeout = (int(n) for n in sockets.groups()) if sockets else (0,) * 4
    status = _STATUS.search(out)
    return Result(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _UNITS[total.group(3)] / 1000,
        p50_ms=percentiles["50"],
        p99_ms=percentiles["99"],
        errors={
            "connect": connect,
            "read": read,
            "write": write,
            "timeout": timeout,
            "status": int(status.group(1)) if status else 0,
        },
        status=None,
    )
