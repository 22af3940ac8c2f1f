"""Answer the evaluation prompts with a round's model and score them.

    python stages/evaluate.py --iteration 1 --model models/iter1 --seed work/iter0/pool.jsonl \
        --pool work/iter1/pool.jsonl --answers reports/iter1/answers.jsonl --metrics metrics/iter1.json
"""

import click

from isara.evaluation import data_metrics, harm_metrics, limit_per_category
from isara.files import read_jsonl, write_json, write_jsonl
from isara.generation import Decoding, generate
from isara.prompts import sft_prompt
from isara.stage import entry, load_round_model, params, read_pool


@click.command()
@click.option("--iteration", type=int, required=True, help="0 for the base model")
@click.option("--model", "model_dir", required=True)
@click.option("--seed", "seed_pool", required=True, help="D0")
@click.option("--pool", required=True, help="pool after this round (D0 for round 0)")
@click.option("--answers", required=True, help="the model's answers, JSONL")
@click.option("--metrics", required=True, help="metrics JSON")
@entry
def main(iteration, model_dir, seed_pool, pool, answers, metrics):
    p = params()
    prompts = limit_per_category(read_jsonl(p.data.eval_file, required=("prompt",)), p.evaluate.limit)
    sizes = data_metrics(len(read_pool(seed_pool)), len(read_pool(pool)))
    model, tokenizer, fmt = load_round_model(model_dir, p)
    completions = generate(
        model, tokenizer, fmt, [sft_prompt(fmt, row["prompt"]) for row in prompts],
        Decoding(p.evaluate.max_new_tokens), p.evaluate.batch_size, desc=f"round {iteration}: evaluate",
    )
    rows = [{**row, "answer": done.text.strip(), "finished": done.finished} for row, done in zip(prompts, completions)]
    result = {"iteration": iteration, "model": model_dir, "prompt_format": fmt.kind, "data": sizes,
              "safety": harm_metrics(rows)}
    write_jsonl(answers, rows)
    write_json(metrics, result)
    click.echo(f"round {iteration}: harmful rate (refusal judge) {result['safety']['harmful_rate']:.3f}, "
               f"scaling ratio {sizes['scaling_ratio']:.2f} -> {metrics}")


if __name__ == "__main__":
    main()
