"""What one run measured, kept raw (every wrk run) so that the report takes medians and
paired ratios: the i-th figure of each workload comes from the i-th round."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.cpu_share import CpuShare
from bench.memory import Footprint
from bench.wrk import Result


@dataclass
class Level:
    """The authenticated GET with `sessions` live sessions in Redis, and the bare handler
    measured beside it (its drift gauge)."""

    sessions: int
    coatcheck: list[Result] = field(default_factory=list)
    bare: list[Result] = field(default_factory=list)


@dataclass
class RunData:
    facts: dict[str, str] = field(default_factory=dict)
    loads: defaultdict[str, list[Result]] = field(default_factory=lambda: defaultdict(list))
    hash_seconds: list[float] = field(default_factory=list)  # wall: the bound's
    hash_cpu_seconds: list[float] = field(default_factory=list)
    login_cpu: list[CpuShare] = field(default_factory=list)  # over each log-in run
    memory: tuple[Footprint, Footprint] | None = None
    levels: list[Level] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, name: str, result: Result, expect: str = "2xx") -> None:
        """Keep a wrk result, noting answers that show it measured something else."""
        self.loads[name].append(result)
        wrong = check(result, expect)
        if wrong:
            self.problems.append(f"{name}, run {len(self.loads[name])}: {wrong}")


def check(result: Result, expect: str) -> str:
    if result.requests == 0:
        return "no answer at all"
    if expect == "2xx" and result.errors["status"]:
        return f"{result.errors['status']} of {result.requests} answers were 4xx/5xx"
    if expect == "401" and result.errors["status"] != result.requests:
        return f"{result.requests - result.errors['status']} answers were not 4xx"
    return ""


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def paired(top: Sequence[float], bottom: Sequence[float]) -> float | None:
    """The median of the per-round ratios top[i] / bottom[i]."""
    return median([a / b for a, b in zip(top, bottom, strict=False) if b])
