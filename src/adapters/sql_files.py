"""Versioned SQL migrations shipped as files: `NNNN_name.sql` in a package's folder."""

from __future__ import annotations

from importlib import resources


def versioned_sql(package: str, folder: str = "migrations") -> list[tuple[str, str]]:
    """(version, SQL) of every migration, oldest first; the version is the file stem."""
    files = sorted(
        (entry for entry in (resources.files(package) / folder).iterdir()),
        key=lambda entry: entry.name,
    )
    return [
        (entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8"))
        for entry in files
        if entry.name.endswith(".sql")
    ]
