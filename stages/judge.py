"""Train (classifier) or load a judge, and measure its error against human labels.

    python stages/judge.py --name classifier --seed work/iter0/pool.jsonl --out judges/classifier \
        --metrics metrics/judges/classifier.json

NAME is refusal | classifier | beaver-dam (agreement with BeaverTails is_safe labels on the
held-out grouped split, plus sanity probes) or pairwise (accuracy on hh-rlhf harmless-base
chosen/rejected pairs). The BeaverTails pairs leave out every pair whose prompt is a D0 question,
a near-duplicate of one (rouge_threshold) or a prompt of the evaluation sets (evaluate.suites):
`leakage_removed` counts them by rule (isara/judges/leakage.py). `judges/NAME/check.json` holds
the result that the evaluate stages report beside every number the judge makes. A judge that
judges.check does not list gets `{"judge": NAME, "selected": false}` and an empty metrics file, at
once: dvc.yaml names every judge's stage, so that no params value ever names an output.
"""

import click

from isara.atomic import atomic_dir, write_json
from isara.config import JUDGE_STAGES, load_params
from isara.stage import entry


@click.command()
@click.option("--name", type=click.Choice(JUDGE_STAGES), required=True)
@click.option("--seed", "seed_pool", required=True, help="D0: its questions are kept out of the judge's pairs")
@click.option("--out", required=True, help="judge folder: check.json (and the classifier's weights)")
@click.option("--metrics", required=True, help="the same check, beside the other metrics files")
@entry
def main(name, seed_pool, out, metrics):
    p = load_params()
    if name not in p.judges.check:
        with atomic_dir(out) as folder:
            write_json(f"{folder}/check.json", {"judge": name, "selected": False})
        write_json(metrics, {})
        click.echo(f"judge {name}: not in judges.check: placeholder -> {out}")
        return
    from isara.devices import resolve_device  # torch, and the judges' own libraries: only for a selected judge
    from isara.eval.inputs import evaluation_prompts
    from isara.judges.human_labels import check_judge
    from isara.records import read_pool

    device = resolve_device(p.model.device)
    d0 = [row["question"] for row in read_pool(seed_pool)]
    with atomic_dir(out) as folder:
        result, leakage = check_judge(name, p, d0, lambda: [text for _, text in evaluation_prompts(p)], folder, device)
        write_json(f"{folder}/check.json", result)
    if leakage is not None:
        left_out = ", ".join(f"{rule}={n}" for rule, n in leakage.items() if rule != "pairs_left")
        click.echo(f"judge {name}: {leakage['pairs_left']} BeaverTails pairs, left out: {left_out}")
    write_json(metrics, result)
    summary = result.get("metrics", {}).get("classifier", result)  # a trained classifier: its held-out scores
    numbers = {k: v for k, v in summary.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    click.echo(f"judge {name}: {', '.join(f'{k}={v}' for k, v in numbers.items())}")


if __name__ == "__main__":
    main()
