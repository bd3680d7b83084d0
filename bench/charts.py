"""The PNG charts of a run (matplotlib, Agg backend): req/s of the bare handler and of
coatcheck with their ratios, and req/s against live sessions in Redis."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.report import (
    AUTH_CEILING_RATIO,
    AUTH_RATIO,
    SCALE_RATIO,
    UNAUTH_RATIO,
    invalid,
    level_ratios,
)
from bench.results import RunData, median, paired

RATIO_CHART = "perf-ratio.png"
SESSIONS_CHART = "perf-sessions.png"


def draw(data: RunData, folder: Path) -> dict[str, str]:
    """Write the charts this run has figures for; {title: file name}."""
    made: dict[str, str] = {}
    if invalid(data):  # req/s only: no ratio of an invalid run is shown
        if data.loads["bare"]:
            _ratio_chart(data, folder / RATIO_CHART, ratios=False)
            made["req/s of every app and workload (an invalid run: no ratios)"] = RATIO_CHART
        return made
    if data.loads["bare"] and data.loads["auth"]:
        _ratio_chart(data, folder / RATIO_CHART)
        made["req/s of every app and workload, and coatcheck's ratios"] = RATIO_CHART
    if len(data.levels) >= 2:
        _sessions_chart(data, folder / SESSIONS_CHART)
        made["authenticated req/s against live sessions in Redis"] = SESSIONS_CHART
    return made


def _ratio_chart(data: RunData, path: Path, ratios: bool = True) -> None:
    grey, blue, green = "#888888", "#2a6fbb", "#3c9d5d"
    bars = [
        ("plain\naiohttp", "plain", grey),
        ("bare\naiohttp", "bare", grey),
        ("bare, wrk\nno script", "bare_noscript", grey),
        ("ceiling\n(+ Redis)", "ceiling", green),
        ("peer", "peer", green),
        ("coatcheck\nauth", "auth", blue),
        ("coatcheck\n401", "unauth", blue),
        ("coatcheck\nverify", "verify", blue),
        ("coatcheck\n2 workers", "workers2", blue),
    ]
    bars = [bar for bar in bars if data.loads[bar[1]]]
    rates = [median([r.rate for r in data.loads[name]]) or 0.0 for _, name, _ in bars]
    if not ratios:
        figure, left = plt.subplots(figsize=(9, 4.5))
    else:
        figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5), width_ratios=(3, 2))
    left.bar([label for label, _, _ in bars], rates, color=[colour for _, _, colour in bars])
    for x, rate in enumerate(rates):
        left.annotate(f"{rate:,.0f}", (x, rate), ha="center", va="bottom", fontsize=8)
    left.tick_params(axis="x", labelsize=8)
    left.set_ylabel("requests per second (median)")
    left.set_title("req/s, one process each" + ("" if ratios else " (run invalid: no ratios)"))
    if not ratios:
        figure.tight_layout()
        figure.savefig(path, dpi=110)
        plt.close(figure)
        return

    bare = [r.rate for r in data.loads["bare"]]
    auth = [r.rate for r in data.loads["auth"]]
    ceiling = [r.rate for r in data.loads["ceiling"]]
    ratios = [
        ("authenticated\n/ bare", paired(auth, bare), AUTH_RATIO),
        ("authenticated\n/ ceiling", paired(auth, ceiling), AUTH_CEILING_RATIO),
        ("401\n/ bare", paired([r.rate for r in data.loads["unauth"]], bare), UNAUTH_RATIO),
    ]
    ratios = [item for item in ratios if item[1] is not None]
    right.bar(
        [label for label, _, _ in ratios], [value or 0 for _, value, _ in ratios], color="#2a6fbb"
    )
    for x, (_, value, target) in enumerate(ratios):
        right.hlines(target, x - 0.4, x + 0.4, colors="#c0392b", linestyles="dashed")
        right.annotate(f"{value:.2f}", (x, value or 0), ha="center", va="bottom", fontsize=9)
    right.set_ylim(0, 1)
    right.set_ylabel("median of paired runs")
    right.set_title("coatcheck's ratios (dashed: target)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _sessions_chart(data: RunData, path: Path) -> None:
    sizes = [level.sessions for level in data.levels]
    rates = [median([r.rate for r in level.coatcheck]) or 0.0 for level in data.levels]
    corrected = [level_ratios(level) for level in data.levels]
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.plot(sizes, rates, marker="o", color="#2a6fbb", label="coatcheck, authenticated GET")
    if corrected[0]:
        # the bare handler's drift taken out: what each size would give at the first one's pace
        first_bare = median([r.rate for r in data.levels[0].bare]) or 0.0
        steady = [(c or 0.0) * first_bare for c in corrected]
        axis.plot(
            sizes,
            steady,
            marker="x",
            linestyle=":",
            color="#555555",
            label="corrected for drift (bare)",
        )
    axis.axhline(
        rates[0] * SCALE_RATIO,
        color="#c0392b",
        linestyle="dashed",
        label=f"target: {SCALE_RATIO:.0%} of the fewest",
    )
    axis.set_xscale("log")
    axis.set_xticks(sizes, [f"{size:,}" for size in sizes])
    axis.set_ylim(0, max(rates) * 1.25)
    axis.set_xlabel("live sessions in Redis")
    axis.set_ylabel("requests per second (median)")
    axis.set_title("authenticated GET /authentication against live sessions")
    axis.legend(loc="lower left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
