"""A real nginx (Debian's package) for tests, running the shipped deploy/nginx/coatcheck.conf
with only its addresses and certificate replaced: on free loopback ports, with a
self-signed certificate, everything it writes in a folder of the test's own, stopped at the
end. Under CI=true a missing nginx fails the test; elsewhere it skips it."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp.test_utils import unused_port
from attrs import frozen

from tests.services import service_missing

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "coatcheck.conf"
START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 10.0

_MAIN = """\
daemon off;
master_process off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/coatcheck.conf;
}}
"""


@frozen
class Proxy:
    """A running nginx: its HTTPS origin, its plain-HTTP origin, and a client context that
    trusts its certificate."""

    https: str
    http: str
    tls: ssl.SSLContext
    error_log: Path


def installed(program: str) -> str:
    """The program's path; a missing one fails the test under CI=true, else skips it."""
    found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if found is None:
        service_missing(program, FileNotFoundError(f"apt-get install -y {program}"))
        raise AssertionError("unreachable")
    return found


def _replace_once(text: str, pattern: str, replacement: str) -> str:
    """The shipped file must hold `pattern` exactly once: a change there that the test does
    not follow fails loudly instead of testing something else."""
    changed, count = re.subn(pattern, replacement, text, flags=re.M)
    assert count == 1, f"{SHIPPED.name}: expected one match of {pattern!r}, found {count}"
    return changed


def site(coatcheck: int, application: int, https: int, http: int, cert: Path, key: Path) -> str:
    """The shipped site with the test's ports and certificate."""
    text = SHIPPED.read_text()
    for pattern, replacement in (
        (r"^(\s*)server 127\.0\.0\.1:8000;", rf"\g<1>server 127.0.0.1:{coatcheck};"),
        (r"^(\s*)server 127\.0\.0\.1:9000;", rf"\g<1>server 127.0.0.1:{application};"),
        (r"^(\s*)listen 80;", rf"\g<1>listen 127.0.0.1:{http};"),
        (r"^(\s*)listen 443 ssl;", rf"\g<1>listen 127.0.0.1:{https} ssl;"),
        (r"^(\s*)ssl_certificate \S+;", rf"\g<1>ssl_certificate {cert};"),
        (r"^(\s*)ssl_certificate_key \S+;", rf"\g<1>ssl_certificate_key {key};"),
    ):
        text = _replace_once(text, pattern, replacement)
    return text


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, valid for a day, and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(installed("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


@asynccontextmanager
async def nginx(folder: Path, coatcheck: int, application: int) -> AsyncIterator[Proxy]:
    """nginx running the shipped site in front of coatcheck and the application (their
    ports on 127.0.0.1); yields once it accepts connections, stops it on the way out."""
    binary = installed("nginx")
    https, http = unused_port(), unused_port()
    cert = _configure(folder, coatcheck, application, https, http)
    error_log = folder / "error.log"
    process = await asyncio.create_subprocess_exec(
        *(binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(error_log)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        await _wait_until_listening(process, https, error_log)
        tls = ssl.create_default_context(cafile=str(cert))
        yield Proxy(f"https://127.0.0.1:{https}", f"http://127.0.0.1:{http}", tls, error_log)
    finally:
        await _stop(process)


def _configure(folder: Path, coatcheck: int, application: int, https: int, http: int) -> Path:
    """The main configuration and the site in `folder`; the certificate's path."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(folder)
    (folder / "coatcheck.conf").write_text(site(coatcheck, application, https, http, cert, key))
    (folder / "nginx.conf").write_text(_MAIN.format(folder=folder))
    return cert


def _log(error_log: Path) -> str:
    return error_log.read_text() if error_log.exists() else "(no error log)"


async def _wait_until_listening(
    process: asyncio.subprocess.Process, port: int, error_log: Path
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise AssertionError(f"nginx exited:\n{_log(error_log)}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"nginx did not listen in time:\n{_log(error_log)}")


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM (nginx's fast stop), then SIGKILL if it has not ended in time."""
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
