"""Train (classifier) or load a judge, and measure its error against human labels.

    python stages/judge.py --name classifier --out judges/classifier --metrics metrics/judges/classifier.json

NAME is refusal | classifier | beaver-dam (agreement with BeaverTails is_safe labels on the
held-out grouped split, plus sanity probes) or pairwise (accuracy on hh-rlhf harmless-base
chosen/rejected pairs). `judges/NAME/check.json` holds the result that the evaluate stages report
beside every number the judge makes.
"""

import click

from isara import datasets
from isara.atomic import atomic_dir, write_json
from isara.config import JUDGE_STAGES, load_params
from isara.devices import resolve_device
from isara.judges import checks
from isara.stage import entry


@click.command()
@click.option("--name", type=click.Choice(JUDGE_STAGES), required=True)
@click.option("--out", required=True, help="judge folder: check.json (and the classifier's weights)")
@click.option("--metrics", required=True, help="the same check, as DVC metrics")
@entry
def main(name, out, metrics):
    p = load_params()
    device = resolve_device(p.model.device)
    with atomic_dir(out) as folder:
        if name == "classifier":
            from isara.judges.classifier import train_classifier
            from isara.judges.harm import ClassifierJudge
            from isara.judges.probes import run_probes

            trained = train_classifier(checks.labelled_pairs(p), folder, checks.classifier_config(p), device)
            result = {"judge": "classifier", **trained, "probes": run_probes(ClassifierJudge(folder, device))}
        elif name == "pairwise":
            from isara.judges.pairwise import build_pairwise_judge
            from isara.judges.win_rate import preference_accuracy

            pairs = datasets.hh_rlhf_pairs(p.benchmarks.source)
            pairs = pairs[: p.judges.check_limit] if p.judges.check_limit else pairs
            result = preference_accuracy(build_pairwise_judge(p.judges.pairwise, device), pairs)
        else:
            from isara.judges.registry import build_harm_judge

            result = checks.check_harm_judge(build_harm_judge(name, p, None, device), checks.held_out(p))
        write_json(f"{folder}/check.json", result)
    write_json(metrics, result)
    summary = result.get("metrics", {}).get("classifier", result)  # a trained classifier: its held-out scores
    numbers = {k: v for k, v in summary.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    click.echo(f"judge {name}: {', '.join(f'{k}={v}' for k, v in numbers.items())}")


if __name__ == "__main__":
    main()
