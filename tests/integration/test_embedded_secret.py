"""The embedded store's session secret when several processes start at once (--workers)."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier
from pathlib import Path

from coatcheck.entrypoints.resources import embedded_session_secret

PROCESSES = 8
TRIALS = 40


def _race(folders: list[Path], start: Barrier, results: multiprocessing.Queue[object]) -> None:
    for folder in folders:
        start.wait(timeout=30)
        results.put((str(folder), embedded_session_secret(folder)))


def test_processes_starting_together_all_hold_one_complete_secret(tmp_path: Path) -> None:
    folders = [tmp_path / f"trial-{n}" / "data" for n in range(TRIALS)]
    context = multiprocessing.get_context("fork")
    start = context.Barrier(PROCESSES)
    results: multiprocessing.Queue[object] = context.Queue()
    workers = [
        context.Process(target=_race, args=(folders, start, results)) for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    held: dict[str, set[bytes]] = {}
    for _ in range(PROCESSES * TRIALS):
        folder, secret = results.get(timeout=60)
        held.setdefault(folder, set()).add(secret)
    for worker in workers:
        worker.join(timeout=30)

    assert all(worker.exitcode == 0 for worker in workers)
    for folder in folders:
        [secret] = held[str(folder)]  # one secret per folder, whoever made it
        assert len(secret) >= 32
        assert (folder / "session_secret").read_bytes().strip() == secret
        assert [file.name for file in folder.iterdir()] == ["session_secret"]  # no leftovers
