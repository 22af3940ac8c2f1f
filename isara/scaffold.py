"""`isara init DOMAIN`: a new domain's data templates and its profile.

    data/DOMAIN/seed.jsonl    {"question", "answer"}: the pairs D0 is drawn from (seed_size of them)
    data/DOMAIN/dev.jsonl     {"prompt"} (optional "answer", "category"): held-out prompts to choose settings on
    data/DOMAIN/eval.jsonl    the same format: held-out prompts the results are reported on
    profiles/DOMAIN.yaml      the params overrides of a run on them: the domain suite only, no safety labels

Nothing is written when a file would be overwritten or the name is not a plain name; every file is
written whole (isara.atomic).
"""

from __future__ import annotations

import re
from pathlib import Path

from isara.atomic import write_jsonl, write_text_atomic
from isara.errors import IsaraError

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
SEED_TEMPLATE = [
    {"question": "Replace me: a question a user of {domain} asks.",
     "answer": "Replace me: the answer in the voice and length you want the model to learn."},
    {"question": "Replace me: another question, on another topic of {domain}.",
     "answer": "Replace me: its answer. D0 draws seed_size pairs: write at least that many (64 by default)."},
]
PROMPT_TEMPLATE = [
    {"prompt": "Replace me: a held-out question of {domain}, worded as users word it.",
     "answer": "Optional: a reference answer (ROUGE-L and embedding similarity are measured against it).",
     "category": "optional-topic"},
    {"prompt": "Replace me: a question without a reference answer (win rates only).", "category": "optional-topic"},
]


def files(domain: str) -> dict[str, Path]:
    folder = Path("data") / domain
    return {"seed": folder / "seed.jsonl", "dev": folder / "dev.jsonl", "eval": folder / "eval.jsonl",
            "profile": Path("profiles") / f"{domain}.yaml"}


def profile_text(domain: str, paths: dict[str, Path]) -> str:
    """The profile of a domain run: its seed and evaluation files, the domain suite judged by the
    pairwise judge (whose accuracy judge@pairwise measures), and the safety recipe's labels off."""
    return "\n".join([
        f"# The {domain} domain (written by `isara init {domain}`): D0 from {paths['seed']}, reported by the",
        f"# domain suite on {paths['eval']}; choose settings on {paths['dev']} instead:",
        f"#   dvc exp run $(isara profile {domain}) -S data.domain_file={paths['dev']}",
        f"data.seed_file: {paths['seed']}",
        f"data.domain_file: {paths['eval']}",
        "data.safe_share: 0.0           # seed pairs carry no harmful/safe label",
        'data.safe_file: ""',
        'data.dev_file: ""              # the labelled refusal dev split of the safety demo',
        "generation.by_label: false",
        "filter.label_consistent: false",
        "mix.by_label: false",
        "evaluate.suites: [domain]",
        "judges.check: [pairwise]       # the pairwise judge's measured accuracy, shown beside its win rates",
        "# The content gate (off until chosen): measure it on the dev split's reference answers with",
        f"#   python bench/gate_dev.py --profile {domain}",
        "# and set what it chooses, e.g.:",
        "# filter.judges: [consistency]",
        "# filter.min_consistency: 0.6",
        "",
    ])


def _filled(rows: list[dict], domain: str) -> list[dict]:
    return [{key: value.format(domain=domain) for key, value in row.items()} for row in rows]


def init_domain(domain: str) -> dict[str, Path]:
    """Write a domain's templates and profile under the current folder; return their paths."""
    if not NAME.fullmatch(domain):
        raise IsaraError(f"domain name {domain!r} must be lower-case letters, digits, '-' or '_' (at most 64)")
    paths = files(domain)
    taken = [str(path) for path in paths.values() if path.exists()]
    if taken:
        raise IsaraError(f"{taken[0]} already exists: init writes a new domain only (remove it or pick another name)")
    for key, rows in (("seed", SEED_TEMPLATE), ("dev", PROMPT_TEMPLATE), ("eval", PROMPT_TEMPLATE)):
        paths[key].parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(paths[key], _filled(rows, domain))
    paths["profile"].parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(paths["profile"], profile_text(domain, paths))
    return paths


def next_steps(domain: str, paths: dict[str, Path]) -> str:
    """What to do after init: fill the files, commit them, run one round or all."""
    listed = " ".join(str(path) for path in paths.values())
    return "\n".join([
        f"wrote {listed}",
        f"1. Replace the template rows: {paths['seed']} (at least seed_size pairs), {paths['dev']} and "
        f"{paths['eval']} (held-out prompts, none of them in the seed file).",
        f"2. Commit them, so that the run can be rebuilt from its commit: git add {listed}",
        f"3. Switch params.yaml to it and check: isara profile {domain} --apply && isara check",
        "4. Run one round (DVC runs only what it needs: D0, the base model, sft_seed, round 1), then the report:",
        "     dvc repro evaluate@iter1-domain && isara report",
        "   or every round and the report: dvc repro (a third round: add iter3 to runs and methods in params.yaml",
        "   and dvc.yaml, docs/runs-and-methods.md). As an experiment, params.yaml untouched:",
        f"     dvc exp run $(isara profile {domain})",
    ])
