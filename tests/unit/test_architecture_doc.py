"""docs/architecture.md names modules and folders that exist, and holds one diagram."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "architecture.md"
BASES = [ROOT, *(ROOT / "src" / layer for layer in ("", "entrypoints", "adapters", "domain"))]


def test_every_module_and_folder_the_page_names_exists() -> None:
    named = set(re.findall(r"`([\w./<>-]+(?:\.py|/))`", PAGE.read_text()))
    named = {path for path in named if "<" not in path}
    assert len(named) > 30
    missing = sorted(path for path in named if not any((b / path).exists() for b in BASES))
    assert missing == []


def test_the_page_has_one_mermaid_diagram() -> None:
    assert PAGE.read_text().count("```mermaid") == 1
