"""Answer the evaluation prompts with a method's model and prompting, and score them.

    python stages/evaluate.py --method iter1 --iteration 1 --model models/iter1 --seed work/iter0/pool.jsonl \
        --pool work/iter1/pool.jsonl --answers reports/iter1/answers.jsonl --metrics metrics/iter1.json
    python stages/evaluate.py --method icl_knn --prompting icl_knn --model models/iter0 ...
"""

import click

from isara.evaluation import data_metrics, harm_metrics, limit_per_category
from isara.files import read_jsonl, write_json, write_jsonl
from isara.generation import Decoding, generate
from isara.stage import entry, load_method, method_options, params, read_pool


@click.command()
@method_options
@click.option("--model", "model_dir", required=True)
@click.option("--seed", "seed_pool", required=True, help="D0")
@click.option("--pool", required=True, help="pool after this round (D0 for round 0)")
@click.option("--answers", required=True, help="the model's answers, JSONL")
@click.option("--metrics", required=True, help="metrics JSON")
@entry
def main(method, iteration, prompting, model_dir, seed_pool, pool, answers, metrics):
    p = params()
    seed_rows = read_pool(seed_pool)
    prompts = limit_per_category(read_jsonl(p.data.eval_file, required=("prompt",)), p.evaluate.limit)
    sizes = data_metrics(len(seed_rows), len(read_pool(pool)))
    model, tokenizer, fmt, prompter = load_method(model_dir, prompting, seed_rows, p)
    completions = generate(
        model, tokenizer, fmt, [prompter(row["prompt"]) for row in prompts],
        Decoding(p.evaluate.max_new_tokens), p.evaluate.batch_size, desc=f"{method}: evaluate",
    )
    rows = [{**row, "answer": done.text.strip(), "finished": done.finished} for row, done in zip(prompts, completions)]
    result = {"method": method, "iteration": iteration, "prompting": prompting, "model": model_dir,
              "prompt_format": fmt.kind, "data": sizes,
              "safety": harm_metrics(rows)}
    write_jsonl(answers, rows)
    write_json(metrics, result)
    click.echo(f"{method}: harmful rate (refusal judge) {result['safety']['harmful_rate']:.3f}, "
               f"scaling ratio {sizes['scaling_ratio']:.2f} -> {metrics}")


if __name__ == "__main__":
    main()
