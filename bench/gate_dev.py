"""Choose the content gate on a domain's dev split: do the gates keep the better answers, and at what cost?

    python bench/gate_dev.py --profile helpdesk --out gate_dev.json

Each dev prompt that carries a reference `answer` (data/DOMAIN/dev.jsonl) is answered twice by the
base model (params.yaml's model, with the profile applied):
- as ISARA labels a new question: its k nearest D0 pairs in context, beam search
  (generation.answer), the answer generate would write;
- on its own: zero-shot, greedy, as stage audit asks it for the gates.
The first answer's quality is its similarity to the reference answer (embedding cosine, and
ROUGE-L F). Then:
- consistency: the cosine of the two answers. For each threshold of --grid, how many answers it
  keeps and the mean quality of those kept and dropped; the threshold `choose_min_consistency`
  picks (None: the gate does not keep better answers than keeping all, so leave it off); and the
  Spearman correlation of consistency with quality, with a bootstrap interval;
- pairwise: judges.pairwise's verdict of the first answer against the own one, both orders; the
  mean quality of the answers it keeps (p >= 0.5) and drops;
- cost: seconds spent answering as ISARA (what the gates filter), answering on its own, and judging,
  measured one after the other in this process (run nothing else meanwhile).
Nothing here reads the evaluation prompts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from isara.config import load_params  # noqa: E402
from isara.devices import resolve_device  # noqa: E402
from isara.embedder import encoder  # noqa: E402
from isara.judges.pairwise import build_pairwise_judge  # noqa: E402
from isara.judges.win_rate import both_orders  # noqa: E402
from isara.lm.engine import generation_engine  # noqa: E402
from isara.lm.prompts import answer_prompt  # noqa: E402
from isara.loop.gate import choose_min_consistency, cosines, threshold_table  # noqa: E402
from isara.loop.generate import answer_decoding, answer_of  # noqa: E402
from isara.loop.own_answers import own_answers  # noqa: E402
from isara.loop.seed import draw_seed, seed_candidates  # noqa: E402
from isara.profiles import apply_profile, load_profile  # noqa: E402
from isara.records import read_rows  # noqa: E402
from isara.eval.prompting import nearest_examples  # noqa: E402
from isara.stats import RESAMPLES, percentile_interval  # noqa: E402
from isara.text import new_scorer  # noqa: E402


def spearman(a, b) -> float:
    ranks = [np.argsort(np.argsort(np.asarray(x, dtype=float), kind="stable"), kind="stable") for x in (a, b)]
    return float(np.corrcoef(*ranks)[0, 1])


def spearman_interval(a, b, seed: int) -> list[float]:
    a, b, rng = np.asarray(a), np.asarray(b), np.random.default_rng(seed)
    draws = [rng.integers(0, len(a), len(a)) for _ in range(RESAMPLES // 5)]
    values = np.array([spearman(a[i], b[i]) for i in draws if len(set(a[i])) > 1 and len(set(b[i])) > 1])
    return [round(v, 3) for v in percentile_interval(values)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", required=True, help="profiles/NAME.yaml, applied to a copy of params.yaml")
    parser.add_argument("--dev", default=None, help="dev prompts with reference answers (default: data/PROFILE/dev.jsonl)")
    parser.add_argument("--grid", type=float, nargs="+", default=[-1.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    parser.add_argument("--min-kept", type=float, default=0.5, help="least share of answers a threshold may keep")
    parser.add_argument("--out", default=None, help="write the measurements as JSON here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        params = Path(tmp) / "params.yaml"
        shutil.copy(ROOT / "params.yaml", params)
        apply_profile(params, load_profile(args.profile))
        p = load_params(params)
    dev = [row for row in read_rows(Path(args.dev or f"data/{args.profile}/dev.jsonl")) if row.get("answer")]
    rows, where = seed_candidates(p)
    pool = draw_seed(rows, p.seed_size, p.seed, where, p.finetune.max_length, p.data.safe_share)
    encode = encoder(p.embedder.name, resolve_device(p.model.device), p.embedder.batch_size)
    seed_vectors = encode([row["question"] for row in pool])
    questions = [row["prompt"] for row in dev]
    engine = generation_engine(p.model.name, p)
    fmt, ids = engine.fmt, [f"dev-{i}" for i in range(len(dev))]

    started = time.perf_counter()
    prompts = [answer_prompt(fmt, nearest_examples(pool, seed_vectors, vector, p.k), q)
               for q, vector in zip(questions, encode(questions))]
    done = engine.generate(prompts, answer_decoding(p, fmt), ids, desc="dev: answers as ISARA")
    isara = [answer_of(fmt, d, p.generation.answer.trim_to_sentence)[0] for d in done]
    seconds_isara = time.perf_counter() - started

    started = time.perf_counter()
    own = own_answers(engine, questions, ids, p, desc="dev: own answers")
    seconds_own = time.perf_counter() - started
    del engine

    started = time.perf_counter()
    judge = build_pairwise_judge(p.judges.pairwise, resolve_device(p.model.device))
    preference = [both_orders(judge, q, a, o) for q, a, o in zip(questions, isara, own)]
    seconds_judge = time.perf_counter() - started

    references = [row["answer"] for row in dev]
    isara_vectors = encode(isara)
    quality = cosines(isara_vectors, encode(references))
    scorer = new_scorer()
    rouge = [scorer.score(ref, text)["rougeL"].fmeasure for ref, text in zip(references, isara)]
    consistency = cosines(isara_vectors, encode(own))
    table = threshold_table(consistency, quality, args.grid)
    kept = np.asarray(preference) >= 0.5
    result = {
        "profile": args.profile, "dev_prompts": len(dev), "model": p.model.name, "judge": judge.name,
        "consistency": {"table": table, "chosen": choose_min_consistency(table, args.min_kept),
                        "spearman_with_quality": round(spearman(consistency, quality), 3),
                        "spearman_ci95": spearman_interval(consistency, quality, p.seed)},
        "pairwise": {"kept": int(kept.sum()), "of": len(kept),
                     "quality_kept": float(quality[kept].mean()) if kept.any() else None,
                     "quality_dropped": float(quality[~kept].mean()) if (~kept).any() else None,
                     "spearman_with_quality": round(spearman(preference, quality), 3),
                     "spearman_ci95": spearman_interval(preference, quality, p.seed)},
        "quality": {"embedding_mean": float(quality.mean()), "rougeL_mean": float(np.mean(rouge))},
        "seconds": {"answers_as_isara": round(seconds_isara, 1), "own_answers": round(seconds_own, 1),
                    "pairwise_judge": round(seconds_judge, 1)},
        "rows": [{"prompt": q, "answer": a, "own_answer": o, "consistency": round(float(c), 4),
                  "pairwise": round(float(pr), 4), "quality": round(float(qu), 4), "rougeL": round(r, 4)}
                 for q, a, o, c, pr, qu, r in zip(questions, isara, own, consistency, preference, quality, rouge)],
    }
    print(f"{len(dev)} dev prompts of {args.profile}; quality = embedding cosine of the ISARA answer to the reference")
    print("| min_consistency | kept | quality kept | quality dropped |\n|---|---|---|---|")
    for row in table:
        fmt_q = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
        print(f"| {row['threshold']:.2f} | {row['kept']}/{row['of']} | {fmt_q(row['quality_kept'])} | "
              f"{fmt_q(row['quality_dropped'])} |")
    c, pw = result["consistency"], result["pairwise"]
    print(f"chosen min_consistency: {c['chosen']}; Spearman(consistency, quality) {c['spearman_with_quality']} "
          f"{c['spearman_ci95']}")
    print(f"pairwise gate keeps {pw['kept']}/{pw['of']}: quality kept {pw['quality_kept']}, dropped "
          f"{pw['quality_dropped']}; Spearman {pw['spearman_with_quality']} {pw['spearman_ci95']}")
    print(f"seconds: {result['seconds']}")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
