"""The targets of issues 8, 12 and 20 against coatcheck processes on one PostgreSQL database
and one Redis prefix, with everything they are measured against in the same rounds: the
bare handler under the run's own wrk script and under none (is the baseline wrk-bound?),
the plain aiohttp app that imports nothing of coatcheck, the ceiling (aiohttp plus one
batched Redis read) and the peer (aiohttp-session's RedisStorage plus asyncpg). Seeding over
HTTP, then rounds of interleaved wrk runs."""

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
import uuid
from pathlib import Path

import bcrypt
import redis

from bench import cpu_share, fields, seed_http
from bench.against import Build
from bench.cpu_share import HashTiming
from bench.processes import Reaper
from bench.renewals import KeeperProcess
from bench.results import RunData
from bench.seed_redis import BenchUser
from bench.servers import ROOT, VENV_BIN, Server, start_app, start_coatcheck
from bench.wrk import Load, Wrk

LOGIN_TIMEOUT = 10.0  # seconds: a log-in queues behind bcrypt
VERIFY = "/authentication/verify"
CEILING_RECORD = b"x" * 160  # as long as a coatcheck session record
PEER_MAX_AGE = 14 * 24 * 3600  # bench/peer_app.py's cookie max-age
TOUCH_INTERVAL = 60.0  # seconds: the default of SESSION_TOUCH_INTERVAL


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
        against: tuple[Build, str] | None = None,
    ) -> None:
        """`against`: an older build and its scratch database (bench/against.py)."""
        self.arguments = arguments
        self.against, self.against_database_url = against or (None, "")
        self.against_prefix = root_prefix + "against:"
        self.against_cookies_file = folder / "against-cookies.txt"
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
        self.peer_cookies_file = folder / "peer-cookies.txt"
        self.peer_cookie = root_prefix + "peer:"  # aiohttp-session's keys: "{cookie}_{id}"
        self.ceiling_prefix = root_prefix + "ceiling:"
        # --pin: the servers under test on one CPU, wrk on the other
        self.server_cpus, self.wrk_cpus = ("0", "1") if arguments.pin else ("", "")
        self._apps: dict[str, Server] = {}
        self._seeded_at = 0.0  # time.monotonic() when the last session was made
        self._coatchecks: set[str] = set()  # the names of the coatcheck servers started
        # renewals while no run uses the cookies: a keeper for each cookie file
        self._keepers: dict[Path, KeeperProcess] = {}

    # -- servers -------------------------------------------------------------------------

    def coatcheck_env(
        self, prefix: str, redis_url: str | None = None, **settings: str
    ) -> dict[str, str]:
        """Shipping defaults but for the stores, and `settings` (only BCRYPT_ROUNDS and
        LOGIN_THROTTLE may differ, per issue 8, and REGISTER_THROTTLE while seeding). The
        bench users' addresses are on bench.test (fields.py), which only
        EMAIL_ALLOW_TEST_DOMAINS lets register: no request of the measured paths reads it."""
        return {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": redis_url or self.redis_url,
            "REDIS_PREFIX": prefix,
            "SESSION_SECRET": self.secret,
            "EMAIL_ALLOW_TEST_DOMAINS": "true",
            **settings,
        }

    def coatcheck(
        self,
        name: str,
        prefix: str | None = None,
        workers: int = 1,
        redis_url: str | None = None,
        build: Build | None = None,
        **settings: str,
    ) -> Server:
        """`build`: the older build of --against (its code, database and prefix)."""
        print(f"starting {name} (coatcheck serve --workers {workers}) {settings or ''}", flush=True)
        env = self.coatcheck_env(prefix or self.prefix, redis_url, **settings)
        if build is not None:
            env |= {
                "PYTHONPATH": build.pythonpath,
                "DATABASE_URL": self.against_database_url,
                "REDIS_PREFIX": self.against_prefix,
            }
        self._coatchecks.add(name)
        return start_coatcheck(self.reaper, name, env, self.folder, workers, self.server_cpus)

    def app(self, name: str) -> Server:
        """One of the apps coatcheck is measured against, started once: bare (coatcheck's
        serving and request log), plain (nothing of coatcheck), ceiling, peer."""
        if name not in self._apps:
            print(f"starting {name} (bench/{name}_app.py)", flush=True)
            options = {
                "bare": (),
                "plain": (),
                "ceiling": (
                    *("--redis-url", self.redis_url, "--prefix", self.ceiling_prefix),
                    *("--cookie", self.cookie_name),
                ),
                "peer": (
                    *("--database-url", self.database_url, "--redis-url", self.redis_url),
                    *("--cookie", self.peer_cookie),
                ),
            }[name]
            self._apps[name] = start_app(
                self.reaper, name, f"{name}_app", self.folder, *options, cpus=self.server_cpus
            )
        return self._apps[name]

    def bare(self) -> Server:
        return self.app("bare")

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
            cpus=self.wrk_cpus,
        )
        if cookies is not None:
            load = dataclasses.replace(load, lines=cookies, mode="cookie")
        return dataclasses.replace(load, **options)  # type: ignore[arg-type]

    def _renewals_for(self, server: Server, load: Load, alone: bool = False) -> None:
        """A run that rotates over the sessions' cookies on a coatcheck meets the renewals
        that come due during it; during any other, the keeper renews them as they come due
        (bench/renewals.py), so that no coatcheck run meets a wave the others did not.
        `alone`: no keeper runs beside the load (it takes CPU the load's bound counts on)."""
        for cookies, keeper in self._keepers.items():
            if alone or (server.name in self._coatchecks and load.lines == cookies):
                keeper.pause()
            else:
                keeper.resume()

    def measure(
        self, name: str, server: Server, load: Load, expect: str = "2xx", alone: bool = False
    ) -> None:
        self._renewals_for(server, load, alone)
        before = cpu_share.tree_cpu_seconds(server.process.pid)
        result = self.wrk.run(load)
        spent = cpu_share.tree_cpu_seconds(server.process.pid) - before
        self.data.add(name, result, expect)
        server.truncate_log()
        # the server's CPU (user + system, its workers' included) a request: what a change
        # of coatcheck moves, where req/s also moves with whatever else the machine runs
        cpu = f"  cpu {spent * 1e6 / result.requests:6.1f} us" if result.requests else ""
        print(
            f"  {name:<12} {result.rate:9.1f} req/s  p50 {result.p50_ms:7.2f} ms"
            f"  p99 {result.p99_ms:7.2f} ms{cpu}",
            flush=True,
        )

    # -- seeding -------------------------------------------------------------------------

    def seed(self, log_ins: bool) -> None:
        """Register the users over HTTP and, for the loads, log each in again: every
        answer's cookie is one live session; the cookies go to the file wrk rotates over.
        With --against, the older build makes as many sessions of its own, the same way."""
        started = time.monotonic()
        cookies = self._seed_build(log_ins, None, self.cookies_file)
        self.cookie_name = cookies[0].partition("=")[0]
        print(
            f"seeded {len(cookies)} sessions of {len(self.users)} users over HTTP"
            f" in {time.monotonic() - started:.0f} s (cookie {self.cookie_name})",
            flush=True,
        )
        self.data.facts["sessions"] = f"{len(cookies):,} sessions of {len(self.users):,} users"
        self.seed_ceiling(cookies)
        self.seed_peer(len(cookies))
        if self.against is not None and log_ins:
            made = self._seed_build(log_ins, self.against, self.against_cookies_file)
            print(f"seeded {len(made)} sessions for coatcheck {self.against.commit}", flush=True)
        self._seeded_at = time.monotonic()

    def _seed_build(self, log_ins: bool, build: Build | None, into: Path) -> list[str]:
        arguments = self.arguments
        seeder = self.coatcheck(
            "seed" if build is None else "seed-against",
            build=build,
            BCRYPT_ROUNDS="4",
            LOGIN_THROTTLE="false",
            REGISTER_THROTTLE="false",
        )
        try:
            users, cookies = asyncio.run(
                seed_http.register(seeder.url, range(arguments.users), user_agent=self.user_agent)
            )
            if log_ins and arguments.sessions_per_user > 1:
                cookies += asyncio.run(
                    seed_http.log_in(
                        seeder.url,
                        users,
                        arguments.sessions_per_user - 1,
                        user_agent=self.user_agent,
                    )
                )
        finally:
            self.reaper.stop(seeder.process)
        if build is None:
            self.users = users
        random.shuffle(cookies)
        into.write_text("\n".join(cookies) + "\n")
        return cookies

    def seed_ceiling(self, cookies: list[str]) -> None:
        """One key a cookie for the ceiling to read: its prefix, then the cookie's value."""
        client = redis.Redis.from_url(self.redis_url)
        try:
            pipe = client.pipeline(transaction=False)
            for cookie in cookies:
                pipe.set(self.ceiling_prefix + cookie.partition("=")[2], CEILING_RECORD)
            pipe.execute()
        finally:
            client.close()

    def seed_peer(self, count: int) -> None:
        """As many sessions for the peer, in aiohttp-session's RedisStorage format, spread
        over the same users; their cookies to the file wrk rotates over for the peer."""
        client = redis.Redis.from_url(self.redis_url)
        lines = []
        try:
            pipe = client.pipeline(transaction=False)
            now = int(time.time())
            for number in range(count):
                user = self.users[number % len(self.users)]
                key = uuid.uuid4().hex
                record = json.dumps({"created": now, "session": {"user_id": user.id}})
                pipe.set(f"{self.peer_cookie}_{key}", record, ex=PEER_MAX_AGE)
                lines.append(f"{self.peer_cookie}={key}")
            pipe.execute()
        finally:
            client.close()
        random.shuffle(lines)
        self.peer_cookies_file.write_text("\n".join(lines) + "\n")

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
        main = self.coatcheck("coatcheck") if workloads & {"get", "connections", "verify"} else None
        workers2 = self.coatcheck("workers2", workers=2) if get else None
        against = None
        if self.against is not None and main is not None:
            against = self.coatcheck("against", build=self.against)
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
        bare = self.bare()
        # every run proves its baseline: the bare handler under the run's script and under none
        plan = [
            ("bare", bare, self.get_load(bare, cookies), "2xx"),
            ("bare_noscript", bare, self.get_load(bare, None, script=False), "2xx"),
        ]
        if get:
            plain, ceiling, peer = self.app("plain"), self.app("ceiling"), self.app("peer")
            plan += [
                ("plain", plain, self.get_load(plain, cookies), "2xx"),
                ("ceiling", ceiling, self.get_load(ceiling, cookies), "2xx"),
                ("peer", peer, self.get_load(peer, self.peer_cookies_file), "2xx"),
            ]
        if main and get and workers2:
            plan += [
                ("auth", main, self.get_load(main, cookies), "2xx"),
                ("unauth", main, self.get_load(main, None), "401"),
                ("workers2", workers2, self.get_load(workers2, cookies), "2xx"),
            ]
        if main and "verify" in workloads:
            if not get:
                plan.append(("auth", main, self.get_load(main, cookies), "2xx"))
            plan.append(("verify", main, self.get_load(main, cookies, VERIFY), "2xx"))
        if against is not None and self.against is not None:
            load = self.get_load(against, self.against_cookies_file)
            plan.append(("against", against, load, "2xx"))
            self.data.facts["against"] = f"against coatcheck {self.against.commit}"
        if main:
            self.spread_renewals(main, cookies)
            self._keep(cookies, self.prefix, "")
        if against is not None and self.against is not None:
            self.spread_renewals(against, self.against_cookies_file)
            self._keep(self.against_cookies_file, self.against_prefix, self.against.pythonpath)
        try:
            self._rounds(arguments, plan, main, login, bodies, workloads)
        finally:
            renewed = []
            for cookies, keeper in self._keepers.items():
                keeper.close()
                whose = "" if cookies == self.cookies_file else " of the older build's"
                renewed.append(f"{keeper.renewed:,}{whose}")
            if self._keepers:
                self.data.facts["renewals"] = (
                    f"{' and '.join(renewed)} renewals written between the runs that use the"
                    " sessions, as they came due (bench/renewals.py)"
                )
            self._keepers = {}

    def _keep(self, cookies: Path, prefix: str, pythonpath: str) -> None:
        self._keepers[cookies] = KeeperProcess(
            self.reaper,
            VENV_BIN / "python",
            ROOT,
            self.redis_url,
            prefix,
            self.secret,
            cookies,
            pythonpath,
        )

    def _rounds(
        self,
        arguments: argparse.Namespace,
        plan: list[tuple[str, Server, Load, str]],
        main: Server | None,
        login: Server | None,
        bodies: Path | None,
        workloads: set[str],
    ) -> None:
        cookies = self.cookies_file
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

    def spread_renewals(self, server: Server, cookies_file: Path) -> None:
        """Renewals as in real use, evenly spread: once every session is due (a touch
        interval after the last was made), each is requested once, at a pace that spreads
        them over one interval. Each then comes due again at its own moment of the minute,
        so every run meets its share of renewals; without this, sessions made together come
        due together, and the one run that meets the wave (whichever comes first a minute
        on) runs at a fraction of the others."""
        wait = self._seeded_at + TOUCH_INTERVAL + 1 - time.monotonic()
        if wait > 0:
            print(f"waiting {wait:.0f} s until every session is due for renewal", flush=True)
            time.sleep(wait)
        cookies = [line for line in cookies_file.read_text().splitlines() if line]
        print(f"renewing the {len(cookies):,} sessions over {TOUCH_INTERVAL:.0f} s", flush=True)
        refused = asyncio.run(
            seed_http.touch(server.url, cookies, user_agent=self.user_agent, over=TOUCH_INTERVAL)
        )
        if refused:
            raise RuntimeError(f"{refused} of {len(cookies)} sessions were refused")

    def login_round(self, server: Server, bodies: Path) -> None:
        """Log-ins alone; the authenticated GET alone; then both at once (the storm).

        The log-ins and the hash timing run with the renewal keepers paused: the bound is the
        machine's every core hashing, and a keeper renewing 10,000 sessions a minute took
        0.11 to 0.14 of a core during the log-in runs (7 % of the bound, per keeper). They
        catch up while the server drains, before the authenticated GET."""
        for keeper in self._keepers.values():
            keeper.pause()
        timing = hash_timing(self.arguments.bcrypt_rounds)
        seconds = timing.wall
        self.data.hash_seconds.append(seconds)
        self.data.hash_cpu_seconds.append(timing.cpu)
        log_ins = Load(
            url=server.url + "/authentication/log-in",
            connections=self.arguments.login_connections,
            duration=self.arguments.login_duration,
            threads=1,
            cpus=self.wrk_cpus,
            lines=bodies,
            mode="body",
            user_agent=self.user_agent,
            timeout=LOGIN_TIMEOUT,
            pace=True,
        )
        before = cpu_share.sample(server.process.pid)
        self.measure("login", server, log_ins, alone=True)
        share = cpu_share.CpuShare.between(before, cpu_share.sample(server.process.pid))
        self.data.login_cpu.append(share)
        print(
            f"  {'':<12} the server {share.server_cores:.2f} cores, the rest of the machine"
            f" {share.machine_cores - share.server_cores:.2f}; a hash {timing.wall * 1000:.0f} ms"
            f" ({timing.cpu * 1000:.0f} ms CPU)",
            flush=True,
        )
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
        and they would weigh on whatever is measured next (the quiet GET, say). Meanwhile the
        keepers renew what came due while they were paused."""
        cores = os.cpu_count() or 1
        started = time.monotonic()
        for keeper in self._keepers.values():
            keeper.catch_up()
        left = self.arguments.login_connections * seconds / cores + 1
        time.sleep(max(0.0, left - (time.monotonic() - started)))

    def warm_up(self, loads: list[tuple[Server, Load]]) -> None:
        """A short load on each server first: pools filled, code paths warm."""
        if self.arguments.warmup <= 0:
            return
        for server, load in loads:
            self._renewals_for(server, load)
            self.wrk.run(dataclasses.replace(load, duration=self.arguments.warmup))
            server.truncate_log()


def hash_timing(rounds: int, samples: int = 5) -> HashTiming:
    """One bcrypt hash at `rounds`, with the bcrypt package, here and now: the median of
    `samples` of its wall time (the bound's) and of its CPU time (bench/cpu_share.py)."""
    walls, cpus = [], []
    for _ in range(samples):
        started, cpu = time.perf_counter(), time.thread_time()
        bcrypt.hashpw(fields.PASSWORD.encode(), bcrypt.gensalt(rounds))
        cpus.append(time.thread_time() - cpu)
        walls.append(time.perf_counter() - started)
    return HashTiming(statistics.median(walls), statistics.median(cpus))
