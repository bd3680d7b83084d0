"""coatcheck as someone else's dependency: its wheel, built from this tree and installed in a
fresh virtual environment, holds one top-level package, `coatcheck`, and its command; with
`--no-deps` and only the `guard` extra's requirements, the HTTP guards work against a
running coatcheck and nothing of the server's stores is there.

The server's own dependencies are not downloaded again: the first environment sees this
one's installed packages (a .pth line); the guard's few come through pip (its cache, the
pinned versions of constraints.txt)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import REGISTRATION
from tests.integration.http import COOKIE
from tests.integration.processes import coatcheck_serve

ROOT = Path(__file__).resolve().parents[2]
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
SECONDS = 240
SERVER_ONLY = [
    "aiohttp",
    "aiosqlite",
    "asyncpg",
    "bcrypt",
    "dependency_injector",
    "gunicorn",
    "redis",
]
LAYERS = ["domain", "adapters", "entrypoints"]


def _run(*command: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=SECONDS, check=False
    )
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this tree, built from a copy of it (a build writes beside its sources)."""
    folder = tmp_path_factory.mktemp("build")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, folder / name)
    shutil.copytree(ROOT / "src", folder / "src", ignore=shutil.ignore_patterns("__pycache__"))
    _run(*PIP, "wheel", "--no-deps", "--wheel-dir", str(folder / "dist"), str(folder))
    (built,) = (folder / "dist").glob("coatcheck-*.whl")
    return built


def _fresh_environment(folder: Path) -> Path:
    """A new virtual environment without pip of its own (this one's pip installs into it):
    its python."""
    _run(sys.executable, "-m", "venv", "--without-pip", str(folder))
    return folder / "bin" / "python"


def _site_packages(python: Path) -> Path:
    return Path(
        _run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )


def test_the_wheel_installs_one_coatcheck_package_and_its_command(
    wheel: Path, tmp_path: Path
) -> None:
    python = _fresh_environment(tmp_path / "venv")
    _run(*PIP, "--python", str(python), "install", "--no-deps", str(wheel))
    site = _site_packages(python)
    # The server's dependencies, as this environment has them, without its own coatcheck
    # (an editable install's finder is set up by a .pth file, which a path line skips).
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    in_the_wheel = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    installed = {path.name for path in site.iterdir()}
    found = _run(
        str(python),
        "-c",
        "import importlib.util as u, json, coatcheck;"
        f"print(json.dumps([coatcheck.__file__, [n for n in {LAYERS!r} if u.find_spec(n)]]))",
    )
    version = _run(str(tmp_path / "venv" / "bin" / "coatcheck"), "--version")

    assert in_the_wheel == {"coatcheck", wheel.name.split("-py3")[0] + ".dist-info"}
    assert not installed & set(LAYERS)
    location, layers = json.loads(found)
    assert Path(location).is_relative_to(site)
    assert layers == []
    assert re.fullmatch(r"coatcheck \d+\.\d+\.\d+\n", version)


def _guard_requirements(wheel: Path) -> list[str]:
    """The `guard` extra's requirements, as the wheel's metadata declares them."""
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    found = re.findall(r"^Requires-Dist: (.+?); extra == \"guard\"$", text, re.M)
    assert found, "the wheel declares no guard extra"
    return found


def _guard_alone_in_the_docs() -> list[str]:
    """What docs/protecting-services.md tells an application that wants the guard alone to
    install after `pip install --no-deps coatcheck`."""
    page = (ROOT / "docs" / "protecting-services.md").read_text()
    found = re.search(r"pip install --no-deps coatcheck\npip install ([^#\n]+)", page)
    assert found, "docs/protecting-services.md says no way to install the guard alone"
    return sorted(found.group(1).split())


@pytest.fixture(scope="module")
def coatcheck(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A running coatcheck (this environment's) and a ticket of Ada's."""
    for base in coatcheck_serve(tmp_path_factory.mktemp("coatcheck")):
        registered = httpx.post(base + "/authentication/register", json=REGISTRATION)
        assert registered.status_code == 201, registered.text
        yield base, registered.cookies[COOKIE]


_USE_THE_GUARDS = """
import asyncio, importlib.util, json, sys

base, ticket = sys.argv[1], sys.argv[2]
missing = [name for name in {server_only!r} if importlib.util.find_spec(name) is None]

from coatcheck.protect import AsgiGuard, WsgiGuard

def wsgi_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["coatcheck.identity"].email.encode()]

def wsgi(cookie):
    environ = {{"PATH_INFO": "/orders", "REQUEST_METHOD": "GET"}}
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    answer = {{}}
    body = WsgiGuard(wsgi_app, base)(environ, lambda status, headers: answer.update(status=status))
    return answer["status"], b"".join(body).decode()

async def asgi_app(scope, receive, send):
    who = scope["state"]["coatcheck_identity"]
    await send({{"type": "http.response.start", "status": 200, "headers": []}})
    await send({{"type": "http.response.body", "body": who.email.encode()}})

async def asgi(cookie):
    guard, sent = AsgiGuard(asgi_app, base), []
    headers = [(b"cookie", cookie.encode())] if cookie else []
    scope = {{"type": "http", "path": "/orders", "headers": headers}}
    async def receive():
        return {{"type": "http.request", "body": b""}}
    async def send(message):
        sent.append(message)
    await guard(scope, receive, send)
    await guard.aclose()
    return sent[0]["status"], sent[1]["body"].decode()

cookie = "{cookie}=" + ticket
print(json.dumps({{
    "missing": missing,
    "loaded": [name for name in {server_only!r} if name in sys.modules],
    "wsgi": [wsgi(None), wsgi(cookie)],
    "asgi": [asyncio.run(asgi(None)), asyncio.run(asgi(cookie))],
}}))
"""


def test_the_wheel_without_its_dependencies_and_with_the_guard_extra_guards_an_app(
    wheel: Path, coatcheck: tuple[str, str], tmp_path: Path
) -> None:
    base, ticket = coatcheck
    python = _fresh_environment(tmp_path / "venv")
    _run(*PIP, "--python", str(python), "install", "--no-deps", str(wheel))
    requirements = _guard_requirements(wheel)
    _run(
        *PIP,
        *("--python", str(python), "install"),
        *("--constraint", str(ROOT / "constraints.txt")),
        *requirements,
    )
    script = _USE_THE_GUARDS.format(server_only=SERVER_ONLY, cookie=COOKIE)

    used = json.loads(_run(str(python), "-c", script, base, ticket))

    assert sorted(requirement.split(">")[0] for requirement in requirements) == [
        "anyio",
        "attrs",
        "email-validator",  # the identity's Email checks an address's syntax
        "httpx",
    ]
    assert _guard_alone_in_the_docs() == sorted(r.split(">")[0] for r in requirements)
    assert used["missing"] == SERVER_ONLY  # none of the server's stores or process manager
    assert used["loaded"] == []
    assert used["wsgi"] == [
        ["401 Unauthorized", used["wsgi"][0][1]],
        ["200 OK", REGISTRATION["email"]],
    ]
    assert json.loads(used["wsgi"][0][1])["type"] == "urn:coatcheck:problem:not-authenticated"
    assert used["asgi"][0][0] == 401
    assert used["asgi"][1] == [200, REGISTRATION["email"]]
