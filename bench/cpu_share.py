"""Where the log-in run's bcrypt bound went, from Linux's CPU accounting (`/proc`).

The bound is the machine's cores over the wall time of one hash timed alone; the rate falls
short of it for three reasons, which multiply:

    rate / bound = efficiency x share x timing
    efficiency = rate x (CPU of one hash) / (the server's CPU a second)   coatcheck's own
    share      = the server's CPU a second / the machine's cores           what it was given
    timing     = (wall time of the timed hash) / (its CPU time)             the timing's load

Efficiency is what coatcheck spends outside bcrypt (its event loop, its stores' clients);
share, what everything else on the machine took (wrk, PostgreSQL, Redis, other processes);
timing, how loaded the machine was while the hash was timed (1 when it had a core to
itself). Only the first is coatcheck's; the other two say whether a run measured it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, every thread of it, so far (0.0 if unreadable)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of the children it has now (a --workers server's
    workers), so far. A child that ended took its CPU with it: read over one run only."""
    total = process_cpu_seconds(pid)
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return total
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as children:
                total += sum(tree_cpu_seconds(int(child)) for child in children.read().split())
        except OSError:
            continue
    return total


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (every core) so far: not idle, not iowait."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:]]
    except OSError:
        return 0.0
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / TICK


@dataclass(frozen=True)
class Sample:
    wall: float
    server: float
    machine: float


def sample(pid: int) -> Sample:
    return Sample(time.monotonic(), process_cpu_seconds(pid), machine_busy_seconds())


@dataclass(frozen=True)
class CpuShare:
    """The CPU a load's server and the machine used over it, in cores."""

    server_cores: float
    machine_cores: float  # busy, every process, the server included

    @classmethod
    def between(cls, before: Sample, after: Sample) -> CpuShare:
        wall = max(after.wall - before.wall, 1e-9)
        return cls((after.server - before.server) / wall, (after.machine - before.machine) / wall)


@dataclass(frozen=True)
class HashTiming:
    """One hash timed alone: its wall time (the bound's) and its CPU time."""

    wall: float
    cpu: float
