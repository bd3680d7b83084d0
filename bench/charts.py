"""The PNG charts of a run (matplotlib, Agg backend): req/s of the bare handler and of
coatcheck with their ratios, and req/s against live sessions in Redis."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.report import AUTH_RATIO, SCALE_RATIO, UNAUTH_RATIO, level_ratios
from bench.results import RunData, median, paired

RATIO_CHART = "perf-ratio.png"
SESSIONS_CHART = "perf-sessions.png"


def draw(data: RunData, folder: Path) -> dict[str, str]:
    """Write the charts this run has figures for; {title: file name}."""
    made = {}
    if data.loads["bare"] and data.loads["auth"]:
        _ratio_chart(data, folder / RATIO_CHART)
        made["req/s of bare aiohttp and coatcheck, and their ratio"] = RATIO_CHART
    if len(data.levels) >= 2:
        _sessions_chart(data, folder / SESSIONS_CHART)
        made["authenticated req/s against live sessions in Redis"] = SESSIONS_CHART
    return made


def _ratio_chart(data: RunData, path: Path) -> None:
    bars = [
        ("bare aiohttp", "bare"),
        ("coatcheck\nauthenticated", "auth"),
        ("coatcheck\n401", "unauth"),
        ("coatcheck\n--workers 2", "workers2"),
    ]
    bars = [(label, name) for label, name in bars if data.loads[name]]
    rates = [median([r.rate for r in data.loads[name]]) or 0.0 for _, name in bars]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), width_ratios=(3, 2))
    left.bar([label for label, _ in bars], rates, color=["#888888"] + ["#2a6fbb"] * (len(bars) - 1))
    for x, rate in enumerate(rates):
        left.annotate(f"{rate:,.0f}", (x, rate), ha="center", va="bottom", fontsize=9)
    left.set_ylabel("requests per second (median)")
    left.set_title("req/s, one process each")

    bare = [r.rate for r in data.loads["bare"]]
    ratios = [
        ("authenticated", paired([r.rate for r in data.loads["auth"]], bare), AUTH_RATIO),
        ("401", paired([r.rate for r in data.loads["unauth"]], bare), UNAUTH_RATIO),
    ]
    ratios = [item for item in ratios if item[1] is not None]
    right.bar(
        [label for label, _, _ in ratios], [value or 0 for _, value, _ in ratios], color="#2a6fbb"
    )
    for x, (_, value, target) in enumerate(ratios):
        right.hlines(target, x - 0.4, x + 0.4, colors="#c0392b", linestyles="dashed")
        right.annotate(f"{value:.2f}", (x, value or 0), ha="center", va="bottom", fontsize=9)
    right.set_ylim(0, 1)
    right.set_ylabel("coatcheck / bare (median of paired runs)")
    right.set_title("ratio to bare (dashed: target)")
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
