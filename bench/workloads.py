"""Targets 1 to 4 and 7 of issue 8 against coatcheck processes on one PostgreSQL database
and one Redis prefix, with the bare handler measured in the same rounds, and issue 12's
forward-auth check against the authenticated GET: seeding over HTTP, then rounds of
interleaved wrk runs."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import secrets
import statistics
import time
from pathlib import Path

import bcrypt

from bench import fields, seed_http
from bench.processes import Reaper
from bench.results import RunData
from bench.seed_redis import BenchUser
from bench.servers import Server, start_bare, start_coatcheck
from bench.wrk import Load, Wrk

LOGIN_TIMEOUT = 10.0  # seconds: a log-in queues behind bcrypt
VERIFY = "/authentication/verify"


class Bench:
    def __init__(
        self,
        arguments: argparse.Namespace,
        reaper: Reaper,
        folder: Path,
        database_url: str,
        redis_url: str,
        root_prefix: str,
        data: RunData,
    ) -> None:
        self.arguments = arguments
        self.reaper = reaper
        self.folder = folder
        self.database_url = database_url
        self.redis_url = redis_url
        self.prefix = root_prefix + "main:"
        self.root_prefix = root_prefix
        self.data = data
        self.secret = secrets.token_urlsafe(36)  # 48 characters
        self.wrk = Wrk(reaper)
        self.user_agent = fields.user_agent()
        self.users: list[BenchUser] = []
        self.cookies_file = folder / "cookies.txt"
        self.cookie_name = ""
        self._bare: Server | None = None

    # -- servers -------------------------------------------------------------------------

    def coatcheck_env(self, prefix: str, **settings: str) -> dict[str, str]:
        """Shipping defaults but for the stores, and `settings` (only BCRYPT_ROUNDS and
        LOGIN_THROTTLE may differ, per issue 8, and REGISTER_THROTTLE while seeding)."""
        return {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "REDIS_PREFIX": prefix,
            "SESSION_SECRET": self.secret,
            **settings,
        }

    def coatcheck(
        self, name: str, prefix: str | None = None, workers: int = 1, **settings: str
    ) -> Server:
        print(f"starting {name} (coatcheck serve --workers {workers}) {settings or ''}", flush=True)
        env = self.coatcheck_env(prefix or self.prefix, **settings)
        return start_coatcheck(self.reaper, name, env, self.folder, workers)

    def bare(self) -> Server:
        if self._bare is None:
            print("starting the bare aiohttp handler", flush=True)
            self._bare = start_bare(self.reaper, "bare", self.folder)
        return self._bare

    def get_load(
        self, server: Server, cookies: Path | None, path: str = "/authentication", **options: object
    ) -> Load:
        """GET `path` with the cookies of `cookies` in rotation (None: no cookie)."""
        load = Load(
            url=server.url + path,
            connections=self.arguments.connections,
            duration=self.arguments.duration,
            threads=self.arguments.threads,
            user_agent=self.user_agent,
        )
        if cookies is not None:
            load = dataclasses.replace(load, lines=cookies, mode="cookie")
        return dataclasses.replace(load, **options)  # type: ignore[arg-type]

    def measure(self, name: str, server: Server, load: Load, expect: str = "2xx") -> None:
        result = self.wrk.run(load)
        self.data.add(name, result, expect)
        server.truncate_log()
        print(
            f"  {name:<12} {result.rate:9.1f} req/s  p50 {result.p50_ms:7.2f} ms"
            f"  p99 {result.p99_ms:7.2f} ms",
            flush=True,
        )

    # -- seeding -------------------------------------------------------------------------

    def seed(self, log_ins: bool) -> None:
        """Register the users over HTTP and, for the loads, log each in again: every
        answer's cookie is one live session; the cookies go to the file wrk rotates over."""
        arguments = self.arguments
        seeder = self.coatcheck(
            "seed", BCRYPT_ROUNDS="4", LOGIN_THROTTLE="false", REGISTER_THROTTLE="false"
        )
        started = time.monotonic()
        try:
            self.users, cookies = asyncio.run(
                seed_http.register(seeder.url, range(arguments.users), user_agent=self.user_agent)
            )
            if log_ins and arguments.sessions_per_user > 1:
                cookies += asyncio.run(
                    seed_http.log_in(
                        seeder.url,
                        self.users,
                        arguments.sessions_per_user - 1,
                        user_agent=self.user_agent,
                    )
                )
        finally:
            self.reaper.stop(seeder.process)
        random.shuffle(cookies)
        self.cookie_name = cookies[0].partition("=")[0]
        self.cookies_file.write_text("\n".join(cookies) + "\n")
        print(
            f"seeded {len(cookies)} sessions of {len(self.users)} users over HTTP"
            f" in {time.monotonic() - started:.0f} s (cookie {self.cookie_name})",
            flush=True,
        )
        self.data.facts["sessions"] = f"{len(cookies):,} sessions of {len(self.users):,} users"

    def login_bodies(self, server: Server) -> Path:
        """Users registered at the log-in run's bcrypt cost (a cheaper hash would be
        upgraded at the first log-in), and the log-in bodies wrk rotates over."""
        first = self.arguments.users
        numbers = range(first, first + self.arguments.login_users)
        users, _ = asyncio.run(
            seed_http.register(server.url, numbers, user_agent=self.user_agent, concurrency=4)
        )
        path = self.folder / "log-ins.txt"
        bodies = [json.dumps({"email": u.email, "password": fields.PASSWORD}) for u in users]
        path.write_text("\n".join(bodies) + "\n")
        return path

    # -- rounds --------------------------------------------------------------------------

    def rounds(self, workloads: set[str]) -> None:
        arguments = self.arguments
        cookies = self.cookies_file
        get = "get" in workloads
        bare = self.bare() if get else None
        main = self.coatcheck("coatcheck") if workloads & {"get", "connections", "verify"} else None
        workers2 = self.coatcheck("workers2", workers=2) if get else None
        login = bodies = None
        if "login" in workloads:
            cost = str(arguments.bcrypt_rounds)
            login = self.coatcheck(
                "login", BCRYPT_ROUNDS=cost, LOGIN_THROTTLE="false", REGISTER_THROTTLE="false"
            )
            bodies = self.login_bodies(login)
            self.data.facts["bcrypt"] = (
                f"log-ins at bcrypt cost {cost}, {arguments.login_connections} connections,"
                f" runs of {arguments.login_duration} s"
            )
        plan = []  # (name, server, load, expected answers) of the interleaved GET runs
        if bare and main and workers2:
            plan = [
                ("bare", bare, self.get_load(bare, cookies), "2xx"),
                ("auth", main, self.get_load(main, cookies), "2xx"),
                ("unauth", main, self.get_load(main, None), "401"),
                ("workers2", workers2, self.get_load(workers2, cookies), "2xx"),
            ]
        if main and "verify" in workloads:
            if not get:
                plan.append(("auth", main, self.get_load(main, cookies), "2xx"))
            plan.append(("verify", main, self.get_load(main, cookies, VERIFY), "2xx"))
        warm = [(server, load) for _, server, load, _ in plan]
        if login:
            warm.append((login, self.get_load(login, cookies)))
        self.warm_up(warm)
        for number in range(arguments.runs):
            print(f"round {number + 1}/{arguments.runs}", flush=True)
            # reversed every other round, so that a slow drift weighs on every workload alike
            for name, server, load, expect in plan if number % 2 == 0 else plan[::-1]:
                self.measure(name, server, load, expect)
            if login and bodies:
                self.login_round(login, bodies)
            if main and "connections" in workloads:
                many = self.get_load(
                    main,
                    cookies,
                    connections=arguments.many_connections,
                    count_status=True,
                    timeout=10.0,
                )
                self.measure("many", main, many, expect="any")

    def login_round(self, server: Server, bodies: Path) -> None:
        """Log-ins alone; the authenticated GET alone; then both at once (the storm)."""
        seconds = hash_seconds(self.arguments.bcrypt_rounds)
        self.data.hash_seconds.append(seconds)
        log_ins = Load(
            url=server.url + "/authentication/log-in",
            connections=self.arguments.login_connections,
            duration=self.arguments.login_duration,
            threads=1,
            lines=bodies,
            mode="body",
            user_agent=self.user_agent,
            timeout=LOGIN_TIMEOUT,
            pace=True,
        )
        self.measure("login", server, log_ins)
        self.drain_hashing(seconds)
        # the GET as long as the log-in load, alone and then during it
        authenticated = self.get_load(server, self.cookies_file, duration=log_ins.duration)
        self.measure("auth_quiet", server, authenticated)
        storm = self.wrk.start(log_ins)
        try:
            self.measure("auth_storm", server, authenticated)
        finally:
            self.data.add("login_storm", self.wrk.finish(storm))
        self.drain_hashing(seconds)

    def drain_hashing(self, seconds: float) -> None:
        """Wait for the log-ins wrk left in flight: the server hashes them after wrk stops,
        and they would weigh on whatever is measured next (the quiet GET, say)."""
        cores = os.cpu_count() or 1
        time.sleep(self.arguments.login_connections * seconds / cores + 1)

    def warm_up(self, loads: list[tuple[Server, Load]]) -> None:
        """A short load on each server first: pools filled, code paths warm."""
        if self.arguments.warmup <= 0:
            return
        for server, load in loads:
            self.wrk.run(dataclasses.replace(load, duration=self.arguments.warmup))
            server.truncate_log()


def hash_seconds(rounds: int, samples: int = 5) -> float:
    """The time of one bcrypt hash at `rounds`, with the bcrypt package, here and now."""
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        bcrypt.hashpw(fields.PASSWORD.encode(), bcrypt.gensalt(rounds))
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)
