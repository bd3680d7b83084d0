"""The table of one run: every figure issues 8, 12 and 20 ask for against its target, as
markdown for the terminal, bench/results/ and docs/performance.md (between its two
markers). A run whose baseline is bound by the load generator, or whose ceiling falls
short of what the stack allows, is invalid: its table shows req/s and why, and no ratio."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bench.memory import Footprint
from bench.results import Level, RunData, median, paired
from bench.wrk import Result

# The targets of issues 8, 12 and 20, and the run's validity checks, in one place.
AUTH_RATIO, AUTH_AIM, AUTH_P99_MS = 0.40, 0.50, 10.0
AUTH_CEILING_RATIO = 0.60  # of the ceiling
UNAUTH_RATIO = 0.60
SCRIPTED_BARE_RATIO = 0.95  # the bare handler under the run's wrk script / under none
CEILING_RATIO = 0.75  # the ceiling / the bare handler (issue 20); its ratio to plain is shown
LOGIN_RATIO = 0.90
STORM_P99_RATIO = 2.0
MEMORY_BYTES = 400
SCALE_RATIO = 0.90
VERIFY_RATIO = 0.95  # issue 12: forward auth against the authenticated GET
AGAINST_RATIO = 0.97  # issue 21: the authenticated GET within 3 % of the build before

BEGIN = "<!-- bench:results:begin (bench/run rewrites everything down to the end marker) -->"
END = "<!-- bench:results:end -->"
NOT_RUN = "not run"
INVALID = "not reported: run invalid"
VALID, NOT_VALID = "valid", "**INVALID**"


@dataclass(frozen=True)
class Row:
    label: str
    rate: str = ""
    p50: str = ""
    p99: str = ""
    figure: str = NOT_RUN
    target: str = ""
    verdict: str = ""
    ratio: bool = True  # its figure is a ratio of wrk runs (withheld from an invalid run)


FAIL = "**FAIL**"


def _verdict(ok: bool) -> str:
    return "pass" if ok else FAIL


def _rates(data: RunData, name: str) -> list[float]:
    return [result.rate for result in data.loads[name]]


def invalid(data: RunData) -> list[str]:
    """Why the run's ratios cannot be trusted (empty: they can)."""
    reasons = []
    bound = paired(_rates(data, "bare"), _rates(data, "bare_noscript"))
    if bound is not None and bound < SCRIPTED_BARE_RATIO:
        reasons.append(
            f"load-generator bound: the bare handler under the run's wrk script reached"
            f" {bound:.2f} of itself under no script (needs ≥ {SCRIPTED_BARE_RATIO:.2f})"
        )
    ceiling = paired(_rates(data, "ceiling"), _rates(data, "bare"))
    if ceiling is not None and ceiling < CEILING_RATIO:
        reasons.append(
            f"the ceiling (aiohttp + one batched Redis read) reached {ceiling:.2f} of the bare"
            f" handler (needs ≥ {CEILING_RATIO:.2f}): the stores or the machine, not"
            " coatcheck, set the pace"
        )
    return reasons


def failed(data: RunData) -> list[str]:
    """The rows whose target was missed."""
    return [row.label for row in rows(data) if row.verdict == FAIL]


def _timings(results: list[Result]) -> tuple[str, str, str]:
    rate = median([r.rate for r in results])
    p50 = median([r.p50_ms for r in results])
    p99 = median([r.p99_ms for r in results])
    if rate is None or p50 is None or p99 is None:
        return "", "", ""
    return f"{rate:,.1f}" if rate < 100 else f"{rate:,.0f}", f"{p50:.2f}", f"{p99:.2f}"


def rows(data: RunData) -> list[Row]:
    loads = data.loads

    def rates(name: str) -> list[float]:
        return _rates(data, name)

    table = [Row("bare aiohttp GET (baseline)", *_timings(loads["bare"]), figure="", ratio=False)]
    table += _baseline_rows(data)
    table += _auth_rows(data)
    unauth = paired(rates("unauth"), rates("bare"))
    table.append(
        Row(
            "2. GET /authentication, no cookie (401)",
            *_timings(loads["unauth"]),
            *_ratio_cells(unauth, "x bare", UNAUTH_RATIO),
        )
    )
    verify = paired(rates("verify"), rates("auth"))
    table.append(
        Row(
            "GET /authentication/verify (forward auth)",
            *_timings(loads["verify"]),
            *_ratio_cells(verify, "x authenticated", VERIFY_RATIO),
        )
    )
    table += _against_rows(data)
    table += _memory_rows(data)
    table.append(_login_row(data))
    table += _login_cpu_rows(data)
    table.append(_storm_row(data))
    table.append(_many_row(loads["many"]))
    table.append(_scale_row(data.levels))
    workers = paired(rates("workers2"), rates("auth"))
    table.append(
        Row(
            "7. GET /authentication, `--workers 2`",
            *_timings(loads["workers2"]),
            figure=f"{workers:.2f} x `--workers 1`" if workers is not None else NOT_RUN,
            target="report" if workers is not None else "",
            verdict="—" if workers is not None else "",
        )
    )
    if invalid(data):
        table = [row if not row.ratio or row.figure == NOT_RUN else _withheld(row) for row in table]
    return table


def _withheld(row: Row) -> Row:
    return Row(row.label, row.rate, row.p50, row.p99, INVALID, row.target, "—", ratio=True)


def _baseline_rows(data: RunData) -> list[Row]:
    """What the run's ratios stand on, each measured in the same rounds: the bare handler
    under no wrk script, the plain aiohttp app, the ceiling and the peer."""
    bound = paired(_rates(data, "bare"), _rates(data, "bare_noscript"))
    plain = paired(_rates(data, "bare"), _rates(data, "plain"))
    ceiling = paired(_rates(data, "ceiling"), _rates(data, "bare"))
    ceiling_plain = paired(_rates(data, "ceiling"), _rates(data, "plain"))
    peer = paired(_rates(data, "auth"), _rates(data, "peer"))
    return [
        _validity_row(
            "bare aiohttp GET, wrk with no script",
            data.loads["bare_noscript"],
            bound,
            "bare under the run's script: {:.2f} x",
            SCRIPTED_BARE_RATIO,
            "x (else load-generator bound)",
        ),
        _reported_row(
            "plain aiohttp GET (imports nothing of coatcheck, `access_log=None`)",
            data.loads["plain"],
            plain,
            "bare = {:.2f} x plain",
        ),
        _validity_row(
            "ceiling: aiohttp + one tick-batched redis-py MGET, fixed JSON",
            data.loads["ceiling"],
            ceiling,
            "{:.2f} x bare" + ("" if ceiling_plain is None else f" ({ceiling_plain:.2f} x plain)"),
            CEILING_RATIO,
            "x bare (else the run is invalid)",
        ),
        _reported_row(
            "peer: aiohttp-session RedisStorage + pooled asyncpg + uvloop",
            data.loads["peer"],
            peer,
            "coatcheck authenticated = {:.2f} x peer",
            ratio=True,
        ),
    ]


def _validity_row(
    label: str, results: list[Result], value: float | None, shown: str, least: float, unit: str
) -> Row:
    """A check of the run itself: below `least`, the run is invalid."""
    verdict = "" if value is None else (VALID if value >= least else NOT_VALID)
    figure = NOT_RUN if value is None else shown.format(value)
    target = f"≥ {least:.2f} {unit}"
    return Row(label, *_timings(results), figure, target, verdict, ratio=False)


def _reported_row(
    label: str, results: list[Result], value: float | None, shown: str, ratio: bool = False
) -> Row:
    """A figure reported with no target."""
    if value is None:
        return Row(label, *_timings(results), NOT_RUN, ratio=ratio)
    return Row(label, *_timings(results), shown.format(value), "report", "—", ratio=ratio)


def _auth_rows(data: RunData) -> list[Row]:
    results = data.loads["auth"]
    auth = _rates(data, "auth")
    ratio = paired(auth, _rates(data, "bare"))
    label = "1. GET /authentication, authenticated"
    if ratio is None:  # measured without the baseline: its figures alone
        return [Row(label, *_timings(results), figure="no baseline" if results else NOT_RUN)]
    p99 = median([r.p99_ms for r in results]) or 0.0
    target = f"≥ {AUTH_RATIO:.2f} x bare (aim {AUTH_AIM:.2f}), p99 < {AUTH_P99_MS:g} ms"
    ok = ratio >= AUTH_RATIO and p99 < AUTH_P99_MS
    table = [Row(label, *_timings(results), f"{ratio:.2f} x bare", target, _verdict(ok))]
    ceiling = paired(auth, _rates(data, "ceiling"))
    table.append(
        Row(
            "1. GET /authentication, authenticated, against the ceiling",
            "",
            "",
            "",
            *_ratio_cells(ceiling, "x ceiling", AUTH_CEILING_RATIO),
        )
    )
    return table


def _against_rows(data: RunData) -> list[Row]:
    """With --against: the older build's authenticated GET, measured in the same rounds on
    sessions it made itself, and this build's against it (their ratios to bare, and the
    ratio of the two: bare cancels out of it)."""
    results = data.loads["against"]
    if not results:
        return []
    commit = data.facts.get("against", "the older build").removeprefix("against ")
    older = paired(_rates(data, "against"), _rates(data, "bare"))
    this = paired(_rates(data, "auth"), _rates(data, "bare"))
    both = paired(_rates(data, "auth"), _rates(data, "against"))
    label = f"GET /authentication, authenticated, {commit} (`--against`)"
    if older is None or this is None or both is None:
        return [Row(label, *_timings(results), figure=NOT_RUN)]
    figure = (
        f"{older:.2f} x bare; this build {this:.2f} x bare:"
        f" {both:.3f} x the older build ({both - 1:+.1%})"
    )
    target = f"≥ {AGAINST_RATIO:.2f} x the older build (issue 21: within 3 %)"
    return [Row(label, *_timings(results), figure, target, _verdict(both >= AGAINST_RATIO))]


def _ratio_cells(ratio: float | None, unit: str, target: float) -> tuple[str, str, str]:
    if ratio is None:
        return NOT_RUN, "", ""
    return f"{ratio:.2f} {unit}", f"≥ {target:.2f} {unit}", _verdict(ratio >= target)


def _login_row(data: RunData) -> Row:
    cores = os.cpu_count() or 1
    results = data.loads["login"]
    bounds = [cores / seconds for seconds in data.hash_seconds]
    ratio = paired([r.rate for r in results], bounds)
    label = "3. POST /authentication/log-in"
    if ratio is None:
        return Row(label)
    hash_ms = (median(data.hash_seconds) or 0) * 1000
    figure = (
        f"{ratio:.2f} x bcrypt bound ({median(bounds):.1f}/s = {cores} cores"
        f" / {hash_ms:.0f} ms a hash)"
    )
    target = f"≥ {LOGIN_RATIO:.2f} x bound"
    ok = _verdict(ratio >= LOGIN_RATIO)
    return Row(label, *_timings(results), figure, target, ok, ratio=False)


def _login_cpu_rows(data: RunData) -> list[Row]:
    """The log-in ratio taken apart (bench/cpu_share.py): coatcheck's own efficiency, the
    share of the machine its server had, and how loaded the hash timing was. Reported only:
    the ratio and its target stand as they are."""
    cores = os.cpu_count() or 1
    rates = [result.rate for result in data.loads["login"]]
    rounds = list(
        zip(rates, data.login_cpu, data.hash_cpu_seconds, data.hash_seconds, strict=False)
    )
    if not rounds:
        return []
    efficiency = median([r * cpu / s.server_cores for r, s, cpu, _ in rounds if s.server_cores])
    share = median([s.server_cores / cores for _, s, _, _ in rounds])
    others = median([max(0.0, s.machine_cores - s.server_cores) for _, s, _, _ in rounds])
    timing = median([wall / cpu for _, _, cpu, wall in rounds if cpu])
    hash_cpu = (median(data.hash_cpu_seconds) or 0) * 1000
    figure = (
        f"coatcheck {efficiency or 0:.2f} x (one hash's CPU, {hash_cpu:.0f} ms, / its CPU a"
        f" log-in); its server had {share or 0:.2f} of the {cores} cores (the rest of the"
        f" machine kept {others or 0:.2f} cores busy); the hash timed at {timing or 0:.2f} x"
        " its CPU time"
    )
    return [
        Row(
            "3. the log-in ratio taken apart",
            figure=figure,
            target="report",
            verdict="—",
            ratio=False,
        )
    ]


def _storm_row(data: RunData) -> Row:
    storm, quiet = data.loads["auth_storm"], data.loads["auth_quiet"]
    ratio = paired([r.p99_ms for r in storm], [r.p99_ms for r in quiet])
    label = "3. GET /authentication during a log-in storm"
    if ratio is None:
        return Row(label)
    quiet_p99 = median([r.p99_ms for r in quiet]) or 0
    figure = f"p99 {ratio:.2f} x without a storm ({quiet_p99:.2f} ms)"
    target = f"≤ {STORM_P99_RATIO:g} x without"
    return Row(label, *_timings(storm), figure, target, _verdict(ratio <= STORM_P99_RATIO))


def _many_row(results: list[Result]) -> Row:
    label = "4. GET /authentication, 1,000 connections"
    if not results:
        return Row(label)
    status = [r.status or {} for r in results]
    errors5 = sum(s.get("5xx", 0) for s in status)
    non2xx = sum(r.requests - s.get("2xx", 0) for r, s in zip(results, status, strict=True))
    sockets = sum(r.socket_errors for r in results)
    figure = f"{errors5} 5xx ({non2xx} non-2xx, {sockets} socket errors or timeouts)"
    return Row(label, *_timings(results), figure, "0 5xx", _verdict(errors5 == 0), ratio=False)


def _memory_rows(data: RunData) -> list[Row]:
    labels = (
        "5. Redis per session, bearer sessions made over HTTP (User-Agent 110 B, email 27,"
        " name 12)",
        "5. the same at maximum lengths (256, 254, 100)",
    )
    if data.memory is None:
        return [Row(label, ratio=False) for label in labels]
    typical, longest = data.memory

    def figure(footprint: Footprint) -> str:
        text = (
            f"{footprint.per_session:.0f} B (keys alone {footprint.keys_per_session:.0f} B;"
            f" {footprint.sessions:,} sessions)"
        )
        if footprint.disturbed:
            text += "; used_memory grew less than the keys take (another client freed memory):"
            text += " judged on the keys"
        return text

    return [
        Row(
            labels[0],
            figure=figure(typical),
            target=f"≤ {MEMORY_BYTES} B",
            verdict=_verdict(typical.judged <= MEMORY_BYTES),
            ratio=False,
        ),
        Row(labels[1], figure=figure(longest), target="report", verdict="—", ratio=False),
    ]


def level_ratios(level: Level) -> float | None:
    """coatcheck / bare at this size: the drift-corrected figure."""
    return paired([r.rate for r in level.coatcheck], [r.rate for r in level.bare])


def _scale_row(levels: list[Level]) -> Row:
    if len(levels) < 2:
        return Row("6. GET /authentication, most vs fewest live sessions")
    low, high = levels[0], levels[-1]
    label = f"6. GET /authentication, {_size(high.sessions)} vs {_size(low.sessions)} live sessions"
    corrected_low, corrected_high = level_ratios(low), level_ratios(high)
    raw_low = median([r.rate for r in low.coatcheck])
    raw_high = median([r.rate for r in high.coatcheck])
    if not (corrected_low and corrected_high and raw_low and raw_high):
        return Row(label)
    ratio = corrected_high / corrected_low
    figure = f"{ratio:.2f} x {_size(low.sessions)} (raw {raw_high / raw_low:.2f})"
    target = f"≥ {SCALE_RATIO:.2f} x {_size(low.sessions)}"
    return Row(label, *_timings(high.coatcheck), figure, target, _verdict(ratio >= SCALE_RATIO))


def _size(sessions: int) -> str:
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if sessions >= scale and sessions % scale == 0:
            return f"{sessions // scale}{unit}"
    return f"{sessions:,}"


def markdown(data: RunData, charts: dict[str, str] | None = None) -> str:
    """The run's facts, the main table, the per-size table, problems, and chart links."""
    lines = [
        f"Run of {data.facts.get('date', '?')}: "
        + "; ".join(value for key, value in data.facts.items() if key != "date")
        + ".",
        "",
    ]
    reasons = invalid(data)
    if reasons:
        lines += ["**This run is invalid, its ratios are not reported:**", ""]
        lines += [f"- {reason}" for reason in reasons]
        lines.append("")
    lines += [
        "| workload | req/s | p50 ms | p99 ms | figure | target | result |",
        "|---|--:|--:|--:|---|---|---|",
    ]
    for row in rows(data):
        cells = (row.label, row.rate, row.p50, row.p99, row.figure, row.target, row.verdict)
        lines.append("| " + " | ".join(cells) + " |")
    if data.levels:
        lines += [
            "",
            "| live sessions in Redis | coatcheck req/s | p99 ms | bare req/s | coatcheck / bare |",
            "|--:|--:|--:|--:|--:|",
        ]
        for level in data.levels:
            rate, _p50, p99 = _timings(level.coatcheck)
            bare, _, _ = _timings(level.bare)
            ratio = level_ratios(level)
            lines.append(
                f"| {level.sessions:,} | {rate} | {p99} | {bare} | "
                f"{'' if ratio is None or reasons else f'{ratio:.3f}'} |"
            )
    if data.problems:
        lines += ["", "Answers that do not belong to the workload (the figures above are suspect):"]
        lines += [f"- {problem}" for problem in data.problems]
    for title, path in (charts or {}).items():
        lines += ["", f"![{title}]({path})"]
    return "\n".join(lines) + "\n"


def write_docs(doc: Path, section: str) -> None:
    """Replace what stands between the markers of docs/performance.md."""
    text = doc.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"bench: {doc} lacks the markers {BEGIN!r} ... {END!r}")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{BEGIN}\n\n{section}\n{END}{tail}")
