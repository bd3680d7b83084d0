# Sourced by the other scripts: makes .venv and installs coatcheck with its pinned
# dependencies, again whenever pyproject.toml or constraints.txt change.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
stamp=.venv/.installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    --constraint constraints.txt --editable '.[dev]'
  echo "$want" > "$stamp"
fi
# mypy reads no editable-install import hook: it finds the package `coatcheck` (src/) here.
mkdir -p .venv/mypy-path && ln -sfn ../../src .venv/mypy-path/coatcheck
