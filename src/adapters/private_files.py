"""Files that only their owner may read: the embedded store (password hashes, sessions), its
write-ahead log, the session secret. Whatever the umask, and whatever an older release made."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(folder: Path) -> None:
    """Make the folder if it is missing, its owner's alone; one that exists is left as it is
    (it may be a shared one, such as the working directory)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=FOLDER_MODE)


def private_file(path: Path) -> None:
    """Make the file if it is missing; either way, its owner's alone."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)
    finally:
        os.close(descriptor)


def keep_private(path: Path) -> None:
    """Make the file its owner's alone if it exists."""
    with contextlib.suppress(FileNotFoundError):
        path.chmod(FILE_MODE)


def publish_once(path: Path, content: bytes) -> None:
    """Give `path` this content, complete, unless it has some already: written to a temporary
    file first, then hard-linked to its name, which fails if the name exists. Never a rename:
    that would replace what another process may have read already, and an O_EXCL create
    would show others an empty file until it is written."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            os.fchmod(file.fileno(), FILE_MODE)
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
