"""Where D0 comes from: the authored seed file, or a real dataset (benchmarks.source).

- file: `data.seed_file` (the zero-setup demo: declining harm, offering safe help);
- beavertails: safe pairs (is_safe true) of the labelled split whose prompt is not one of the
  BeaverTails-Evaluation prompts. Faithful to the data: these "safe" answers mostly comply
  rather than decline;
- truthfulqa: questions with their best answers; the questions drawn are left out of the
  TruthfulQA evaluation, so the split is random (seeded), not by category;
- self_instruct: the 175 Self-Instruct seed tasks (instruction + input, output).
`seed_size` of the candidates are then drawn with `seed`. Every seed id is unique, and none looks
like a generated sample's id (`it<round>-<n>`). A drawn pair longer than a training example may be
is an error: it would be cut in training and blow up every prompt it is retrieved into.

"Longer" is measured without a tokenizer: the seed stage runs before the base stage has made
models/iter0, and it depends on no model. Two bounds stand in for the token count, each exceeded
only by a pair that cannot fit finetune.max_length tokens:
- characters, checked first, on the lengths alone (so a 10 MB string is refused without its words
  being counted): more than CHARS_PER_TOKEN characters for each token. Text averages about 4 characters a
  token in the tokenizers of common models; tokens of 16 characters or more are rare long words
  and runs of one character, and a pair made of nothing else is no training example;
- words (runs of letters, digits and underscores): each is at least one token, so more words than
  max_length tokens cannot be held either.
A pair within both bounds may still be longer than max_length tokens; training cuts it.
"""

from __future__ import annotations

import random
import re

from isara.config import Params
from isara.errors import IsaraError
from isara import datasets
from isara.records import numbered_jsonl
from isara.labels import LABELS, SAFE, share_counts
from isara.text import normalise, words

GENERATED_ID = re.compile(r"^it\d+-\d+$")  # the ids retrieve gives new samples
MAX_CATEGORY = 100  # characters of a seed row's optional category
CHARS_PER_TOKEN = 16  # characters a token is taken to hold at most, for the seed's length bound (see above)


def seed_candidates(p: Params) -> tuple[list[dict], str]:
    """Every pair D0 may be drawn from ({"id", "question", "answer"}), and a description of it."""
    kind, source = p.data.seed_source, p.benchmarks.source
    if kind == "file":
        return _file_candidates(p.data.seed_file), p.data.seed_file
    if kind == "beavertails":
        held_out = {normalise(r["prompt"]) for r in datasets.beavertails_prompts(source)}
        rows, seen = [], set()
        for r in datasets.beavertails_pairs(source, p.benchmarks.beavertails_split):
            key = normalise(r["prompt"])
            if r["is_safe"] and key not in held_out and key not in seen:
                seen.add(key)
                rows.append({"question": r["prompt"], "answer": r["response"]})
        where = f"BeaverTails {p.benchmarks.beavertails_split} safe pairs ({source})"
    elif kind == "truthfulqa":
        rows = [{"question": r["question"], "answer": r["best_answer"]} for r in datasets.truthfulqa(source)]
        where = f"TruthfulQA best answers ({source})"
    else:
        rows = [{"question": r["question"], "answer": r["answer"], "id": r.get("id")}
                for r in datasets.self_instruct(source)]
        where = f"Self-Instruct seed tasks ({source})"
    return [{"id": str(r.get("id") or f"{kind}-{i:04d}"), "question": r["question"], "answer": r["answer"],
             "where": f"{where}, pair {i}"} for i, r in enumerate(rows)], where


def _file_candidates(path: str) -> list[dict]:
    """The seed file's pairs; ids are the file's own or `seed-<index>`, unique across the file; an
    optional `category` is kept (the filter reports which categories new questions fall in)."""
    rows, lines = [], {}
    for index, (line, row) in enumerate(numbered_jsonl(path, required=("question", "answer"))):
        given = row.get("id")
        if given is not None and (not isinstance(given, (str, int)) or isinstance(given, bool) or str(given) == ""):
            raise IsaraError(f"{path}:{line}: field 'id' must be a non-empty string or an integer")
        seed_id = str(given) if given is not None else f"seed-{index:04d}"
        if GENERATED_ID.match(seed_id):
            raise IsaraError(f"{path}:{line}: id '{seed_id}' looks like a generated sample's id (it<round>-<n>)")
        if seed_id in lines:
            raise IsaraError(f"{path}:{line}: id '{seed_id}' is already used on line {lines[seed_id]}")
        lines[seed_id] = line
        category = row.get("category")
        if category is not None and (not isinstance(category, str) or not 0 < len(category.strip()) <= MAX_CATEGORY):
            raise IsaraError(f"{path}:{line}: field 'category' must be a non-empty string of at most "
                             f"{MAX_CATEGORY} characters")
        label = row.get("label")
        if label is not None and label not in LABELS:
            raise IsaraError(f"{path}:{line}: field 'label' must be one of {', '.join(LABELS)}, got {label!r}")
        rows.append({"id": seed_id, "question": row["question"], "answer": row["answer"], "where": f"{path}:{line}",
                     **({"category": category.strip()} if category is not None else {}),
                     **({"label": label} if label is not None else {})})
    return rows


def check_length(row: dict, max_tokens: int) -> None:
    """Refuse a pair that cannot fit `max_tokens` tokens (finetune.max_length): one line naming its
    file and line (or dataset and pair), by characters first, then by words."""
    problem = length_problem(row, max_tokens)
    if problem:
        raise IsaraError(f"{row['where']}: {problem}")


def length_problem(row: dict, max_tokens: int) -> str | None:
    """Why a pair cannot fit `max_tokens` tokens by the bounds above, or None when it may."""
    chars = len(row["question"]) + len(row["answer"])
    if chars > max_tokens * CHARS_PER_TOKEN:
        return (f"the pair has {chars} characters, more than a training example's finetune.max_length "
                f"({max_tokens} tokens) can hold at {CHARS_PER_TOKEN} characters a token")
    length = len(words(row["question"])) + len(words(row["answer"]))
    if length > max_tokens:
        return f"the pair has {length} words, more than a training example's finetune.max_length ({max_tokens} tokens) can hold"
    return None


def draw_seed(rows: list[dict], seed_size: int, seed: int, where: str, max_tokens: int,
              safe_share: float = 0.0) -> list[dict]:
    """`seed_size` rows drawn reproducibly, in source order; none longer than `max_tokens` tokens
    (finetune.max_length) can hold, by the bounds of `check_length`.

    With `safe_share` 0 the draw is from the rows not labelled safe, exactly as from an unlabelled
    source; above 0, round(seed_size x safe_share) rows come from those labelled safe, each label
    drawn with its own stream of `seed`. A source no row of which carries a label (a benchmark, a
    domain of one's own) is drawn from as a whole, whatever `safe_share`."""
    harmful = [i for i, row in enumerate(rows) if row.get("label") != SAFE]
    safe = [i for i, row in enumerate(rows) if row.get("label") == SAFE]
    labelled = any("label" in row for row in rows)
    n_harmful, n_safe = share_counts(seed_size, safe_share if labelled else 0.0)
    if n_safe > len(safe):
        raise IsaraError(f"params.yaml: seed_size={seed_size} with data.safe_share={safe_share} asks for {n_safe} "
                         f"seed pairs labelled safe, but {where} has {len(safe)}")
    if n_harmful > len(harmful):
        raise IsaraError(f"params.yaml: seed_size={seed_size} is larger than {where} ({len(rows)} pairs)" if not safe
                         else f"params.yaml: seed_size={seed_size} asks for {n_harmful} pairs not labelled safe, "
                         f"but {where} has {len(harmful)} ({len(rows)} pairs in all)")
    chosen = [harmful[i] for i in random.Random(seed).sample(range(len(harmful)), n_harmful)]
    if n_safe:
        chosen += [safe[i] for i in random.Random(f"{seed}-safe").sample(range(len(safe)), n_safe)]
    picked = [rows[i] for i in sorted(chosen)]
    for row in picked:
        check_length(row, max_tokens)
    return [{"id": row["id"], "question": row["question"], "answer": row["answer"], "source": "seed",
             **{key: row[key] for key in ("category", "label") if key in row}} for row in picked]
