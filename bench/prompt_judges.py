"""Other prompt judges against the vote, on the labelled dev prompts: does any read a question's kind better?

    python bench/prompt_judges.py --out prompt_judges.json

Every judge learns from D0's labelled questions only (work/iter0/pool.jsonl, as `dvc repro seed`
writes it) and is measured once on data.dev_file; whatever a judge chooses for itself (a logistic
regression's strength, the probe's depth) it chooses by cross-validation on D0, never on the dev
prompts:
- the vote (isara/labels.py, the default prompt judge) with 1 to 15 neighbours, on the sentence
  embedder's vectors;
- the nearer of the two label centroids of those vectors;
- a logistic regression on those vectors (standardised, L2, strength by 8-fold CV on D0);
- the same on another representation: the base model's own hidden states over the question
  (isara/judges/lm_probe.py's prompt features: mean and last token at one depth or two), one row
  per depth, strength by the same CV.
Accuracy with its Wilson interval per judge, as stage label_judge reports the vote's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from isara import datasets  # noqa: E402
from isara.config import load_params  # noqa: E402
from isara.devices import resolve_device, resolve_dtype  # noqa: E402
from isara.embedder import encoder  # noqa: E402
from isara.judges.lm_probe import fit_probe, hidden_features, layer_indices, probe_probs  # noqa: E402
from isara.judges.prompt_label import check_prompt_judge  # noqa: E402
from isara.labels import HARMFUL, SAFE, vote  # noqa: E402
from isara.lm.models import open_model  # noqa: E402
from isara.lm.prompts import format_for  # noqa: E402
from isara.loop.retrieve import pool_labels  # noqa: E402
from isara.records import read_pool  # noqa: E402
from isara.retrieval import unit_rows  # noqa: E402

VOTE_KS = (1, 3, 5, 7, 9, 15)
CS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
DEPTHS = ((0.25,), (0.5,), (0.75,), (1.0,), (0.5, 1.0), (0.75, 1.0))  # fractions of the model's depth
FOLDS = 8


def labels_of(harmful: np.ndarray) -> list[str]:
    return [HARMFUL if h else SAFE for h in harmful]


def cv_accuracy(x: np.ndarray, harmful: np.ndarray, c: float, seed: int) -> float:
    """Accuracy of the standardised L2 logistic regression over FOLDS folds of the rows (lm_probe's
    `choose_c` holds out one fifth once: 13 of D0's 64 questions, too few to choose on)."""
    folds = np.random.default_rng(seed).permutation(len(x)) % FOLDS
    right = 0
    for fold in range(FOLDS):
        held = folds == fold
        right += int(((probe_probs(fit_probe(x[~held], harmful[~held], c, seed), x[held]) > 0.5) == harmful[held]).sum())
    return right / len(x)


def fitted_regression(x: np.ndarray, harmful: np.ndarray, x_dev: np.ndarray, seed: int) -> tuple[list[str], dict]:
    """The dev labels of the regression whose strength wins the CV on D0 (ties: the stronger), and
    that strength with its CV accuracy."""
    table = {c: round(cv_accuracy(x, harmful, c, seed), 4) for c in CS}
    best = max(sorted(CS), key=lambda c: table[c])
    return labels_of(probe_probs(fit_probe(x, harmful, best, seed), x_dev) > 0.5), {"c": best, "cv_accuracy": table[best]}


def centroid_labels(seed_vectors: np.ndarray, harmful: np.ndarray, dev_vectors: np.ndarray) -> list[str]:
    centres = {label: seed_vectors[harmful == (label == HARMFUL)].mean(0) for label in (HARMFUL, SAFE)}
    return [HARMFUL if v @ centres[HARMFUL] >= v @ centres[SAFE] else SAFE for v in dev_vectors]


def lm_states(model_dir: str, questions: list[str], device) -> tuple[np.ndarray, list[int], int]:
    """The prompt features of every question at every depth of DEPTHS, one row of features per layer
    read: (features of shape (questions, layers, features), their layer indices, the model's layer count)."""
    model, tokenizer = open_model(model_dir, device, resolve_dtype("auto", device))
    depth = model.config.num_hidden_layers
    layers = layer_indices(sorted({f for fractions in DEPTHS for f in fractions}), depth)
    fmt = format_for(tokenizer, "auto")
    states = hidden_features(model, tokenizer, fmt, [(q, "") for q in questions], layers, 512, 16, progress=True)
    return states["prompt"].reshape(len(questions), len(layers), -1), layers, depth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed-pool", default="work/iter0/pool.jsonl", help="D0, labelled")
    parser.add_argument("--model", default="models/iter0", help="the base model whose states the probe reads")
    parser.add_argument("--out", default=None, help="write the table as JSON here")
    args = parser.parse_args()
    p = load_params()
    seed = read_pool(args.seed_pool)
    labels = pool_labels(seed)
    dev = datasets.labelled_prompts(p.data.dev_file) if p.data.dev_file else []
    if labels is None or not dev:
        sys.exit("prompt_judges: needs a labelled D0 and data.dev_file")
    truth = [row["label"] for row in dev]
    harmful = np.array([label == HARMFUL for label in labels])
    device = resolve_device(p.model.device)
    encode = encoder(p.embedder.name, device, p.embedder.batch_size)
    seed_vectors = unit_rows(encode([row["question"] for row in seed]), args.seed_pool)
    dev_vectors = unit_rows(encode([row["prompt"] for row in dev]), p.data.dev_file)

    rows = []

    def add(name: str, voted: list[str], chosen: dict | None = None) -> None:
        check = check_prompt_judge(truth, voted, 0)
        rows.append({"judge": name, "accuracy": check["accuracy"], "ci95": check["ci95"],
                     **({"chosen_on_d0": chosen} if chosen else {})})

    for k in VOTE_KS:
        add(f"vote, k={k}", [label for label, _ in vote(dev_vectors, seed_vectors, labels, k)])
    add("nearest label centroid", centroid_labels(seed_vectors, harmful, dev_vectors))
    add("logistic regression, sentence vectors", *fitted_regression(seed_vectors, harmful, dev_vectors, p.seed))

    questions = [row["question"] for row in seed] + [row["prompt"] for row in dev]
    states, layers, depth = lm_states(args.model, questions, device)  # (questions, layers, features)
    for fractions in DEPTHS:  # one row each: CV on 64 questions barely tells the depths apart
        picked = layer_indices(fractions, depth)
        x = states[:, [layers.index(i) for i in picked]].reshape(len(questions), -1)
        voted, chosen = fitted_regression(x[: len(seed)], harmful, x[len(seed):], p.seed)
        add(f"logistic regression, {args.model} states at layers {picked}", voted, chosen)

    print("| prompt judge (fitted on D0) | accuracy on the dev prompts | chosen on D0 |")
    print("|---|---|---|")
    for row in rows:
        chosen = row.get("chosen_on_d0")
        note = ", ".join(f"{key} {value}" for key, value in chosen.items()) if chosen else ""
        print(f"| {row['judge']} | {row['accuracy']:.3f} [{row['ci95'][0]:.3f}, {row['ci95'][1]:.3f}] | {note} |")
    if args.out:
        Path(args.out).write_text(json.dumps({"n": len(dev), "judges": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
