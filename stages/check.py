"""Check params.yaml, and fingerprint what DVC cannot hash itself, before any other stage runs.

    python stages/check.py --out work/check

It always runs (seconds), and every other stage lies downstream of it (through seed or base), so
DVC runs it first: a bad params value (an unknown or misspelt key, NaN, a name that would become a
path outside the project, the vllm backend without vllm installed) stops the run here, before DVC
removes any stage's outputs.
It also requires params.yaml's runs and methods to be dvc.yaml's (isara/config/pipeline.py): stage
names and outputs come from dvc.yaml's fixed lists only.
`base.json`, `seed.json`, `<suite>.json` and `judges.json` change exactly when the base model, the
seed source, or a suite's or the judges' files do (isara/input_fingerprints.py); a suite evaluate.suites does
not select gets `{"selected": false}`, which its evaluate stages read as "write a placeholder".
"""

import click

from isara.atomic import write_json
from isara.config import SUITES, load_params
from isara.config.pipeline import check_pipeline, read_pipeline
from isara.fingerprint import Digests
from isara.input_fingerprints import fingerprints
from isara.stage import entry


@click.command()
@click.option("--out", required=True, help="folder of the fingerprints")
@entry
def main(out):
    p = load_params()
    check_pipeline(p, read_pipeline())
    if p.generation.backend == "vllm":
        from isara.lm.vllm_engine import require_vllm

        require_vllm()  # one line now, not a traceback deep inside the first generate stage
    digests = Digests()
    found = fingerprints(p, digests)
    digests.save()
    for reader, prints in found.items():
        write_json(f"{out}/{reader}.json", prints)
    for suite in (suite for suite in SUITES if suite not in found):
        write_json(f"{out}/{suite}.json", {"selected": False})
    click.echo(f"params.yaml ok; fingerprints of {', '.join(found)} -> {out}")


if __name__ == "__main__":
    main()
