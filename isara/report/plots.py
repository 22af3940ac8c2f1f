"""The report's PNG figures (matplotlib, headless). Each function draws one figure into a file and
returns its name, or draws nothing and returns None when the run measured none of what it shows (a
suite that was not run is left out of the report, never drawn empty)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from isara.config.names import round_number  # noqa: E402
from isara.report.table import Cell, method_label, method_order  # noqa: E402

Table = dict[str, dict[str, Cell]]
# The report columns the figures draw, as the suites and run files declare them (isara.eval;
# tests/test_report.py checks each).
TRUTHFULQA = (("truthfulqa_rougeL_diff", "rougeL diff"), ("truthfulqa_mc1", "MC1"), ("truthfulqa_mc2", "MC2"))
WIN_RATE = "alpaca_win_rate"
SCALING = "scaling_ratio"
HARMFUL_RATE = "harmful_rate"  # the harm suite's {set}_harmful_rate_{judge} columns contain it


def _rounds(table: Table) -> list[str]:
    return [m for m in method_order(table) if round_number(m) is not None]


def _baselines(table: Table) -> list[str]:
    return [m for m in method_order(table) if round_number(m) is None]


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def _by_round(ax, table: Table, key: str, label: str, baselines: bool = True) -> bool:
    """Line of `key` over the ISARA rounds, baselines as dashed horizontal lines; False if no data."""
    rounds = [m for m in _rounds(table) if key in table[m]]
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    drawn = False
    if rounds:
        ax.plot([round_number(m) for m in rounds], [table[m][key].value for m in rounds], marker="o", label=label)
        drawn = True
    if baselines:
        colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, method in enumerate(m for m in _baselines(table) if key in table[m]):
            ax.axhline(table[method][key].value, linestyle="--", linewidth=1, color=colours[(i + 1) % len(colours)],
                       label=f"{method_label(method)}")
            drawn = True
    return drawn


def _measured(table: Table, key: str, baselines: bool = True) -> bool:
    """Whether `_by_round` would draw anything of `key`."""
    return any(key in table[m] for m in (method_order(table) if baselines else _rounds(table)))


@dataclass(frozen=True)
class Point:
    """One method in the harm / over-refusal plane, with the 95% intervals of both rates."""

    method: str
    over_refusal: float
    over_refusal_ci: tuple[float, float]
    harmful: float
    harmful_ci: tuple[float, float]


def _rate(block: dict, key: str) -> tuple[float, tuple[float, float]] | None:
    value = block.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    ci = block.get("ci95")
    low, high = ci if isinstance(ci, (list, tuple)) and len(ci) == 2 else (value, value)
    return float(value), (float(low), float(high))


def harm_points(runs: dict[str, dict[str, dict]], methods: list[str]) -> list[Point]:
    """Each method that has both rates of its harm suite, by the refusal judge: over-refusal of the
    safe prompts (data.safe_file) and harmful rate on the demo prompts, each with its ci95."""
    points = []
    for method in methods:
        harm = runs.get(method, {}).get("harm") or {}
        safe = _rate(harm.get("over_refusal") or {}, "refusal_rate")
        demo = _rate((harm.get("demo") or {}).get("refusal") or {}, "harmful_rate")
        if safe and demo:
            points.append(Point(method, safe[0], safe[1], demo[0], demo[1]))
    return points


def harm_vs_over_refusal(points: list[Point], path: Path) -> str | None:
    """Scatter of harmful rate against over-refusal, one labelled point per method with its 95%
    intervals on both axes; the ideal corner (0, 0) marked."""
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, p in enumerate(points):
        xerr = [[p.over_refusal - p.over_refusal_ci[0]], [p.over_refusal_ci[1] - p.over_refusal]]
        yerr = [[p.harmful - p.harmful_ci[0]], [p.harmful_ci[1] - p.harmful]]
        ax.errorbar([p.over_refusal], [p.harmful], xerr=xerr, yerr=yerr, fmt="o", capsize=3, clip_on=False,
                    color=colours[i % len(colours)])
        ax.annotate(method_label(p.method), (p.over_refusal, p.harmful), xytext=(6, 6), textcoords="offset points",
                    fontsize=8, color=colours[i % len(colours)])
    ax.plot([0], [0], marker="*", markersize=16, color="black", clip_on=False, zorder=5)
    ax.annotate("ideal: answers safe prompts, refuses harmful ones", (0, 0), xytext=(0.12, 0.1),
                textcoords="axes fraction", fontsize=8, arrowprops={"arrowstyle": "->", "color": "black"})
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("over-refusal rate (safe prompts refused; refusal judge)")
    ax.set_ylabel("harmful rate (demo prompts; refusal judge)")
    ax.set_title("Harm against over-refusal by method (95% intervals)")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def harmful_rate(table: Table, path: Path) -> str | None:
    keys = [k for k in dict.fromkeys(k for cells in table.values() for k in cells) if HARMFUL_RATE in k]
    if not keys:
        return None
    fig, axes = plt.subplots(1, len(keys), figsize=(5.5 * len(keys), 4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        judge = next(table[m][key].judge for m in table if key in table[m])
        _by_round(ax, table, key, "ISARA")
        ax.set_title(f"{key.split('_' + HARMFUL_RATE)[0]} (judge: {judge})")
        ax.set_xlabel("ISARA round (0 = pretrained)")
        ax.set_ylabel("harmful rate")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=8)
    return _save(fig, path)


def harm_by_category(categories: dict[str, dict[str, float]], judge: str, path: Path) -> str | None:
    """Grouped horizontal bars: harmful rate per category for each method given (e.g. base, last)."""
    if not any(categories.values()):
        return None
    fig, ax = plt.subplots(figsize=(7, 0.35 * max(len(next(iter(categories.values()), {})), 4) + 1.5))
    names = sorted({c for rates in categories.values() for c in rates})
    height = 0.8 / max(len(categories), 1)
    for i, (method, rates) in enumerate(categories.items()):
        ax.barh([n + i * height for n in range(len(names))], [rates.get(c, 0.0) for c in names], height=height,
                label=method_label(method))
    ax.set_yticks([n + height * (len(categories) - 1) / 2 for n in range(len(names))], names, fontsize=7)
    ax.set_xlabel(f"harmful rate (judge: {judge})")
    ax.set_ylabel("category")
    ax.set_xlim(0, 1)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(categories), frameon=False)
    return _save(fig, path)


def truthfulness_and_win_rate(table: Table, path: Path) -> str | None:
    """TruthfulQA and AlpacaEval by round, one panel per suite the run measured."""
    truthfulqa = [(key, label) for key, label in TRUTHFULQA if _measured(table, key, baselines=False)]
    alpaca = _measured(table, WIN_RATE)
    panels = bool(truthfulqa) + alpaca
    if not panels:
        return None
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4), squeeze=False)
    axes = list(axes[0])
    if truthfulqa:
        left = axes.pop(0)
        for key, label in truthfulqa:
            _by_round(left, table, key, label, baselines=False)
        left.set_title("TruthfulQA by round")
        left.set_xlabel("ISARA round (0 = pretrained)")
        left.set_ylabel("score")
        left.legend(fontsize=8)
    if alpaca:
        right = axes.pop(0)
        _by_round(right, table, WIN_RATE, "ISARA")
        right.set_title("AlpacaEval win rate vs reference")
        right.set_xlabel("ISARA round (0 = pretrained)")
        right.set_ylabel("win rate")
        right.set_ylim(0, 1)
        right.legend(fontsize=8)
    return _save(fig, path)


def samples(counts: dict[str, Counter], path: Path) -> str | None:
    """Stacked bars per generating method: accepted and each rejection reason."""
    if not counts:
        return None
    methods = method_order(counts)
    reasons = ["accepted"] + sorted({r for c in counts.values() for r in c if r != "accepted"})
    fig, ax = plt.subplots(figsize=(max(5, 1.4 * len(methods) + 2), 4))
    bottom = [0] * len(methods)
    for reason in reasons:
        values = [counts[m].get(reason, 0) for m in methods]
        ax.bar([method_label(m) for m in methods], values, bottom=bottom, label=reason)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_xlabel("method")
    ax.set_ylabel("generated samples")
    ax.set_title("Accepted and rejected samples by reason")
    ax.legend(fontsize=8)
    return _save(fig, path)


def scaling(table: Table, path: Path) -> str | None:
    if not _measured(table, SCALING):
        return None
    fig, ax = plt.subplots(figsize=(5.5, 4))
    _by_round(ax, table, SCALING, "ISARA")
    ax.set_title("Data scaling |D0 + accepted| / |D0|")
    ax.set_xlabel("ISARA round (0 = pretrained)")
    ax.set_ylabel("scaling ratio")
    ax.legend(fontsize=8)
    return _save(fig, path)
