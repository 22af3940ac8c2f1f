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

from isara import datasets
from isara.atomic import atomic_dir, write_json
from isara.config import JUDGE_STAGES, load_params
from isara.devices import resolve_device
from isara.eval.inputs import evaluation_prompts
from isara.judges import checks
from isara.records import read_pool
from isara.stage import entry


@click.command()
@click.option("--name", type=click.Choice(JUDGE_STAGES), required=True)
@click.option("--seed", "seed_pool", required=True, help="D0: its questions are kept out of the judge's pairs")
@click.option("--out", required=True, help="judge folder: check.json (and the classifier's weights)")
@click.option("--metrics", required=True, help="the same check, as DVC metrics")
@entry
def main(name, seed_pool, out, metrics):
    p = load_params()
    if name not in p.judges.check:
        with atomic_dir(out) as folder:
            write_json(f"{folder}/check.json", {"judge": name, "selected": False})
        write_json(metrics, {})
        click.echo(f"judge {name}: not in judges.check: placeholder -> {out}")
        return
    device = resolve_device(p.model.device)
    with atomic_dir(out) as folder:
        if name == "pairwise":
            from isara.judges.pairwise import build_pairwise_judge
            from isara.judges.win_rate import preference_accuracy

            pairs = datasets.hh_rlhf_pairs(p.benchmarks.source)
            pairs = pairs[: p.judges.check_limit] if p.judges.check_limit else pairs
            result = preference_accuracy(build_pairwise_judge(p.judges.pairwise, device), pairs)
        else:
            prompts = [text for _, text in evaluation_prompts(p)]
            pairs, leakage = checks.labelled_pairs(p, [row["question"] for row in read_pool(seed_pool)], prompts)
            left_out = ", ".join(f"{rule}={n}" for rule, n in leakage.items() if rule != "pairs_left")
            click.echo(f"judge {name}: {leakage['pairs_left']} BeaverTails pairs, left out: {left_out}")
            if name == "classifier":
                from isara.judges.classifier import train_classifier
                from isara.judges.harm import ClassifierJudge
                from isara.judges.probes import run_probes

                trained = train_classifier(pairs, folder, checks.classifier_config(p), device)
                result = {"judge": "classifier", **trained, "leakage_removed": leakage,
                          "probes": run_probes(ClassifierJudge(folder, device))}
            else:
                from isara.judges.registry import build_harm_judge

                judge = build_harm_judge(name, p, None, device)
                result = {**checks.check_harm_judge(judge, checks.held_out(p, pairs)), "leakage_removed": leakage}
        write_json(f"{folder}/check.json", result)
    write_json(metrics, result)
    summary = result.get("metrics", {}).get("classifier", result)  # a trained classifier: its held-out scores
    numbers = {k: v for k, v in summary.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    click.echo(f"judge {name}: {', '.join(f'{k}={v}' for k, v in numbers.items())}")


if __name__ == "__main__":
    main()
