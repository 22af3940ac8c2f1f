"""What DVC spends reading and writing `dvc.lock`, with DVC's own YAML functions, side by side in one run.

    python bench/lockfile.py                  # the default run's dvc.lock, best of 5
    python bench/lockfile.py --lock PATH --repeats 3

Rows (seconds, best of --repeats, the two loaders interleaved so that drift hits both alike):

- safe load, pure Python / C: how `dvc status`, `dvc exp show`, `dvc metrics diff` and the start of
  `dvc repro` read a lock and params files (dvc.utils.serialize.parse_yaml, ruamel.yaml's safe
  loader, forced pure or left to pick ruamel.yaml.clib's C loader, a dependency);
- round-trip load and dump: what `dvc repro` does after every stage to record it (parse_yaml_for_update
  and dumps_yaml: ruamel.yaml's round-trip mode, which keeps comments and order, is pure Python
  whatever is installed).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dvc.utils.serialize import dumps_yaml, parse_yaml, parse_yaml_for_update
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lock", type=Path, default=ROOT / "dvc.lock")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    text = args.lock.read_text(encoding="utf-8")
    path = str(args.lock)
    if "CParser" not in YAML(typ="safe").Parser.__name__:  # what DVC's parse_yaml picks
        raise SystemExit("ruamel.yaml.clib is not installed: the C loader cannot be measured (make install)")
    pure = YAML(typ="safe", pure=True)
    if pure.load(text) != parse_yaml(text, path):
        raise SystemExit(f"{args.lock}: the two loaders read different data")
    data = parse_yaml_for_update(text, path)
    steps = {"safe load, pure Python": lambda: pure.load(text),
             "safe load, C (ruamel.yaml.clib)": lambda: parse_yaml(text, path),
             "round-trip load (after every stage)": lambda: parse_yaml_for_update(text, path),
             "round-trip dump (after every stage)": lambda: dumps_yaml(data)}
    times = {name: [] for name in steps}
    for _ in range(args.repeats):  # interleaved
        for name, run in steps.items():
            times[name].append(timed(run))
    best = {name: min(found) for name, found in times.items()}
    print(f"{args.lock}: {text.count(chr(10))} lines, best of {args.repeats}")
    print("| step | seconds |\n|---|---|")
    for name, seconds in best.items():
        print(f"| {name} | {seconds:.3f} |")
    print(f"| safe load, pure / C | {best['safe load, pure Python'] / best['safe load, C (ruamel.yaml.clib)']:.2f}x |")


if __name__ == "__main__":
    main()
