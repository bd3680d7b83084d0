"""`bench/run --against COMMIT`: an older build of coatcheck measured in the same rounds as
this one (issue 21: "the authenticated GET's ratio to bare stays within 3 % of the commit
before this work, measured in the same run").

The commit is checked out with `git worktree add --detach` into the run's scratch folder
and served by this checkout's `.venv` with that tree's `src/` first on the import path (a
folder whose `coatcheck` links to it), so that `coatcheck serve` runs the older code on the
same interpreter and packages. That holds while the older build needs no package this
`.venv` lacks (constraints.txt only grew since the commit this was written for, 0fc9924);
a build that cannot start fails the run. It gets a scratch database and a Redis prefix of
its own, and its sessions are made by itself (register and log in over HTTP, as for this
build), so that it only ever reads records it wrote.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.servers import ROOT


@dataclass(frozen=True)
class Build:
    commit: str  # abbreviated
    pythonpath: str  # a folder whose `coatcheck` is the build's src/


def _git(*arguments: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), *arguments], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: git {' '.join(arguments)}: {done.stderr.strip()}")
    return done.stdout.strip()


def resolve(commit: str) -> str:
    """The full hash of `commit` (fails the run early when it names none)."""
    return _git("rev-parse", "--verify", f"{commit}^{{commit}}")


@contextlib.contextmanager
def checkout(commit: str, folder: Path) -> Iterator[Build]:
    """The build of `commit`, checked out under `folder` until the end of the block."""
    full = resolve(commit)
    tree = folder / "against-tree"
    _git("worktree", "add", "--detach", str(tree), full)
    try:
        path = folder / "against-path"
        path.mkdir()
        (path / "coatcheck").symlink_to(tree / "src", target_is_directory=True)
        yield Build(_git("rev-parse", "--short", full), str(path))
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
            capture_output=True,
            check=False,
        )
