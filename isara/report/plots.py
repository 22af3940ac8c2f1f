"""The report's PNG figures (matplotlib, headless). Each function draws one figure into a file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from isara.report.table import Cell, method_label, method_order, round_of  # noqa: E402

Table = dict[str, dict[str, Cell]]


def _rounds(table: Table) -> list[str]:
    return [m for m in method_order(table) if round_of(m) is not None]


def _baselines(table: Table) -> list[str]:
    return [m for m in method_order(table) if round_of(m) is None]


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
        ax.plot([round_of(m) for m in rounds], [table[m][key].value for m in rounds], marker="o", label=label)
        drawn = True
    if baselines:
        colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, method in enumerate(m for m in _baselines(table) if key in table[m]):
            ax.axhline(table[method][key].value, linestyle="--", linewidth=1, color=colours[(i + 1) % len(colours)],
                       label=f"{method_label(method)}")
            drawn = True
    return drawn


def _not_measured(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"{what}: not measured in this run", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def harmful_rate(table: Table, path: Path) -> str:
    keys = [k for k in dict.fromkeys(k for cells in table.values() for k in cells) if "harmful_rate" in k]
    fig, axes = plt.subplots(1, len(keys), figsize=(5.5 * len(keys), 4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        judge = next(table[m][key].judge for m in table if key in table[m])
        _by_round(ax, table, key, "ISARA")
        ax.set_title(f"{key.split('_harmful_rate')[0]} (judge: {judge})")
        ax.set_xlabel("ISARA round (0 = pretrained)")
        ax.set_ylabel("harmful rate")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=8)
    return _save(fig, path)


def harm_by_category(categories: dict[str, dict[str, float]], judge: str, path: Path) -> str:
    """Grouped horizontal bars: harmful rate per category for each method given (e.g. base, last)."""
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


def truthfulness_and_win_rate(table: Table, path: Path) -> str:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    drawn = False
    for key, label in (("truthfulqa_rougeL_diff", "rougeL diff"), ("truthfulqa_mc1", "MC1"), ("truthfulqa_mc2", "MC2")):
        drawn |= _by_round(left, table, key, label, baselines=False)
    if drawn:
        left.set_title("TruthfulQA by round")
        left.set_xlabel("ISARA round (0 = pretrained)")
        left.set_ylabel("score")
        left.legend(fontsize=8)
    else:
        _not_measured(left, "TruthfulQA")
    if _by_round(right, table, "alpaca_win_rate", "ISARA"):
        right.set_title("AlpacaEval win rate vs reference")
        right.set_xlabel("ISARA round (0 = pretrained)")
        right.set_ylabel("win rate")
        right.set_ylim(0, 1)
        right.legend(fontsize=8)
    else:
        _not_measured(right, "AlpacaEval")
    return _save(fig, path)


def samples(counts: dict[str, Counter], path: Path) -> str:
    """Stacked bars per generating method: accepted and each rejection reason."""
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


def scaling(table: Table, path: Path) -> str:
    fig, ax = plt.subplots(figsize=(5.5, 4))
    _by_round(ax, table, "scaling_ratio", "ISARA")
    ax.set_title("Data scaling |D0 + accepted| / |D0|")
    ax.set_xlabel("ISARA round (0 = pretrained)")
    ax.set_ylabel("scaling ratio")
    ax.legend(fontsize=8)
    return _save(fig, path)
