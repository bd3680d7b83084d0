"""The baseline: a bare aiohttp handler answering a small JSON body, served by the very
function that serves coatcheck (coatcheck.entrypoints.serving.run: uvloop, the same
backlog, the same request log and logging), so that a ratio to it measures coatcheck alone.

    .venv/bin/python -m bench.bare_app --port 8001

Its twin bench/plain_app.py imports nothing of coatcheck; the ratio between the two shows
whether coatcheck's serving path moved.
"""

from __future__ import annotations

from bench.plain_app import create_app, parser
from coatcheck.entrypoints.logs import configure_logging
from coatcheck.entrypoints.serving import run


def main() -> None:
    given = parser(__doc__, 8001).parse_args()
    # Exactly as `coatcheck serve` does: its logging, its loop, its server settings.
    configure_logging("json")
    run(create_app(), given.host, given.port, "json")


if __name__ == "__main__":
    main()
