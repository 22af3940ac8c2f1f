"""Per-step training curves (loss, learning rate, gradient norm) written with dvclive from the
Trainer's log history, so that `dvc plots show` draws them. Written once training ends, from the
whole history (a resumed run's history includes the steps before the crash), without timestamps:
the same run writes the same files."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

CURVES = ("loss", "learning_rate", "grad_norm")


def curve_rows(log_history: Sequence[dict]) -> list[tuple[int, dict]]:
    """(step, {curve: value}) for each logged training step, in step order."""
    rows = {}
    for entry in log_history:
        values = {name: float(entry[name]) for name in CURVES if name in entry}
        if values and "step" in entry and "train_loss" not in entry:
            rows[int(entry["step"])] = values
    return sorted(rows.items())


def write_curves(folder: str | Path, log_history: Sequence[dict]) -> None:
    """The dvclive folder `folder` (metrics.json and plots/metrics/train/*.tsv), written whole."""
    from dvclive import Live

    from isara.atomic import atomic_dir

    with atomic_dir(folder) as tmp:
        live = Live(dir=str(tmp), save_dvc_exp=False, dvcyaml=None, report=None)
        for step, values in curve_rows(log_history):
            live.step = step
            for name, value in values.items():
                live.log_metric(f"train/{name}", value)
            live.make_summary()
        live.end()
