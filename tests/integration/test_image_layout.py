"""The image's filesystem, without a container engine: the Dockerfile's COPY lines and its
install are done into a folder (root's, as in the image), its data folder made as the
Dockerfile makes it, and `coatcheck serve` run there as an unprivileged user, embedded: it
serves, and keeps its store in the data folder; pointed at a folder it cannot create, it
stops with a message naming it."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.integration.conftest import REGISTRATION
from tests.integration.serving import coatcheck_serve
from tests.services import service_missing

ROOT = Path(__file__).parents[2]
SYSTEM_PYTHON = Path("/usr/bin/python3.11")  # one an unprivileged user can run
UNPRIVILEGED = "nobody"


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text().replace("\\\n", " ")


def build(into: Path) -> tuple[Path, Path]:
    """The image's /app as `into`/app, and the interpreter with coatcheck installed from it.
    (Its dependencies are this environment's, reached through a .pth file.)"""
    app = into / "app"
    app.mkdir()
    for line in re.findall(r"^COPY (.+)$", dockerfile(), re.MULTILINE):
        *sources, _ = line.split()
        for source in sources:
            if (ROOT / source).is_dir():
                shutil.copytree(
                    ROOT / source, app / source, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy(ROOT / source, app)
    venv = into / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", venv], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            site,
            app,
            # redis-py wants it below Python 3.11.3 (the system's), not on the image's
            "async-timeout",
        ],
        check=True,
        cwd=into,
    )
    for folder in (into, app, venv):
        folder.chmod(0o755)
    return app, venv / "bin" / "python"


def data_folder_as_the_dockerfile_makes_it(app: Path) -> Path:
    made = re.search(
        r"install --directory --owner=coatcheck --group=coatcheck --mode=(\d+) /app/(\S+)",
        dockerfile(),
    )
    assert made, "the Dockerfile makes no data folder of the service's own"
    folder = app / made.group(2)
    user = pwd.getpwnam(UNPRIVILEGED)
    folder.mkdir(mode=int(made.group(1), 8))
    os.chown(folder, user.pw_uid, user.pw_gid)
    return folder


@pytest.fixture
def image() -> Iterator[tuple[Path, Path]]:
    if os.geteuid() != 0 or not SYSTEM_PYTHON.exists():
        # .ci/run installs Debian's python3; under CI=true its absence fails the test.
        service_missing("root and the system's Python 3.11", FileNotFoundError(SYSTEM_PYTHON))
    into = Path(tempfile.mkdtemp(prefix="coatcheck-image-"))  # pytest's own is root's alone
    try:
        yield build(into)
    finally:
        shutil.rmtree(into)


def as_unprivileged(python: Path) -> tuple[str, ...]:
    user = pwd.getpwnam(UNPRIVILEGED)
    return (
        "setpriv",
        f"--reuid={user.pw_uid}",
        f"--regid={user.pw_gid}",
        "--clear-groups",
        str(python),
        "-m",
        "coatcheck.entrypoints.cli",
        "serve",
    )


async def test_the_image_serves_embedded_as_its_unprivileged_user(
    image: tuple[Path, Path], tmp_path: Path
) -> None:
    app, python = image
    data = data_folder_as_the_dockerfile_makes_it(app)
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "DATA_DIR": str(data),
        "BCRYPT_ROUNDS": "4",
        "HOME": "/nonexistent",
    }
    serving = coatcheck_serve(
        env=environment, log=tmp_path / "server.log", cwd=app, program=as_unprivileged(python)
    )
    async with (
        serving as base,
        aiohttp.ClientSession() as http,
        http.post(f"{base}/authentication/register", json=REGISTRATION) as response,
    ):
        assert response.status == 201
    store = data / "coatcheck.sqlite3"
    assert store.stat().st_uid == pwd.getpwnam(UNPRIVILEGED).pw_uid


def test_a_data_folder_it_cannot_make_is_named(image: tuple[Path, Path]) -> None:
    app, python = image
    environment = {"PATH": os.environ.get("PATH", ""), "DATA_DIR": str(app / "elsewhere" / "data")}
    done = subprocess.run(
        [*as_unprivileged(python), "--port", "1"],
        env=environment,
        cwd=app,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode != 0
    assert str(app / "elsewhere") in done.stderr
