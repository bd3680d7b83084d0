"""`coatcheck` run with a probe, for bench/soak-outages --probe: `python -m bench.soak_probe
serve ...` is `coatcheck serve ...` plus, on each SIGUSR1, a JSON line appended to
$SOAK_PROBE_DIR/probe.jsonl (the process's RSS, glibc's heap figures, Python's heap as
tracemalloc counts it, the size of every bounded cache of coatcheck's modules) and, when
$SOAK_PROBE_FRAMES is set, a tracemalloc snapshot (probe-<n>.snapshot) with that many frames
a trace. Diagnosis only: tracemalloc slows every allocation, so the figures of a probed run
are not the service's own (its memory is, but for tracemalloc's own traces, which the
probe reports apart)."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import re
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from types import FrameType
from typing import Any

from coatcheck.adapters.recent import Recent
from coatcheck.entrypoints.cli import main


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _libc() -> Any:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def _glibc_heap() -> dict[str, int]:
    """mallinfo2 (glibc 2.33+), summed over every arena: `arena` is what the heaps took from
    the system (not mmap'd blocks), `in_use` what is allocated in them, `free` what is free
    in them (fragmentation, or memory not yet given back), `mmapped` the large blocks."""
    try:
        call = _libc().mallinfo2
    except (OSError, AttributeError):
        return {}
    call.restype = _MallInfo2
    info = call()
    return {
        "arena": info.arena,
        "in_use": info.uordblks,
        "free": info.fordblks,
        "mmapped": info.hblkhd,
        "releasable": info.keepcost,
    }


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _caches() -> dict[str, int]:
    """The current size of every functools cache of coatcheck's modules, and of its
    memos kept by time (adapters/recent.py)."""
    sizes: dict[str, int] = {}
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("coatcheck") or module is None:
            continue
        for name, value in list(vars(module).items()):
            info = getattr(value, "cache_info", None)
            if callable(info) and getattr(value, "__module__", None) == module_name:
                sizes[f"{module_name}.{name}"] = info().currsize
            elif isinstance(value, Recent):
                sizes[f"{module_name}.{name}"] = len(value)
    return sizes


def _mappings() -> dict[str, int]:
    """Resident KiB by kind of mapping: the brk heap, anonymous mappings (pymalloc's arenas,
    glibc's other arenas, large blocks, thread stacks), files (code, shared libraries)."""
    kinds: dict[str, int] = {"heap": 0, "anonymous": 0, "files": 0, "other": 0}
    kind = "other"
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if not head:
            continue
        if not head[0].endswith(":"):  # a mapping's first line: range, perms, offset, ...
            name = head[5] if len(head) > 5 else ""
            kind = (
                "heap" if name == "[heap]" else "anonymous" if not name
                else "files" if name.startswith("/") else "other"
            )  # fmt: skip
        elif head[0] == "Rss:":
            kinds[kind] += int(head[1])
    return kinds


def _pymalloc() -> dict[str, int]:
    """pymalloc's own figures (sys._debugmallocstats, which writes to the C stderr)."""
    with tempfile.TemporaryFile("w+") as out:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read()
    wanted = {
        "# arenas allocated current": "arenas",
        "# bytes in allocated blocks": "allocated",
        "# bytes in available blocks": "available",
        "# bytes lost to pool headers": "pool_headers",
        "# bytes lost to quantization": "quantization",
    }
    figures: dict[str, int] = {}
    for line in text.splitlines():
        label, _, value = line.partition("=")
        key = wanted.get(label.strip())
        if key:
            figures[key] = int(value.strip().replace(",", ""))
    unused = re.search(r"(\d+) unused pools \* (\d+) bytes", text)
    if unused:
        figures["unused_pools"] = int(unused.group(1)) * int(unused.group(2))
    return figures


def _gc_objects() -> int:
    return len(gc.get_objects())


class Probe:
    def __init__(self, folder: Path, frames: int) -> None:
        self.folder, self.frames, self.count = folder, frames, 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        figures: dict[str, Any] = {
            "n": self.count,
            "at": time.time(),
            "rss_kib": _rss_kib(),
            "glibc": _glibc_heap(),
            "pymalloc": _pymalloc(),
            "mappings_kib": _mappings(),
            "caches": _caches(),
            "gc_objects": _gc_objects(),
            "threads": len(os.listdir("/proc/self/task")),
        }
        if tracemalloc.is_tracing():
            traced, _peak = tracemalloc.get_traced_memory()
            figures["python_heap"] = traced
            figures["tracemalloc_own"] = tracemalloc.get_tracemalloc_memory()
            tracemalloc.take_snapshot().dump(str(self.folder / f"probe-{self.count}.snapshot"))
        with (self.folder / "probe.jsonl").open("a") as out:
            out.write(json.dumps(figures) + "\n")


def run() -> int:
    folder = Path(os.environ["SOAK_PROBE_DIR"])
    frames = int(os.environ.get("SOAK_PROBE_FRAMES", "0"))
    if frames:
        tracemalloc.start(frames)
    signal.signal(signal.SIGUSR1, Probe(folder, frames))
    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(run())
