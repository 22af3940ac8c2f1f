"""A QA-moderation probe on a frozen causal LM: the second kind of harm classifier the pipeline
trains itself (`judges.classifier.kind: lm-probe`).

The (prompt, response) pair is laid out as the backbone sees an answer (`isara.lm.tokens.pair_ids`:
the SFT prompt, then the response and EOS), run once through the frozen backbone, and described by its hidden states at
a few depths (`layers`, fractions of the depth: 0.5 is the middle layer, 1.0 the last): at each,
the mean over the response tokens and the state at the last token. A logistic regression on those
features (standardised, L2, its strength chosen on a grouped validation split of the training side)
gives P(harmful). Nothing is fine-tuned, so training costs one forward pass per pair, and a larger
backbone (any causal LM, e.g. a LLaMA on a GPU) is a params change.

The prompt-only baseline is the same probe on the same backbone fed the PROMPT's states (mean
over the prompt tokens and its last token), which a causal LM computes before it reads the
response: the margin between the two is what reading the answer buys.

Measured on the BeaverTails 30k_test grouped split (seed 0; 2,416 training pairs + 588 templated
refusals, 605 held out) with SmolLM2-135M-Instruct at layers (0.75, 1.0), i.e. 22 and 30 of 30:
accuracy 0.782, F1 0.813, every probe passed; the prompt-only probe 0.694 and the sentence
encoder's prompt-only model 0.731. The judge stage took 13.8 min on 2 CPU cores, 11.8 of them for
the features (one forward pass per pair).
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from isara.errors import IsaraError
from isara.judges.labelled import binary_metrics, group_key
from isara.lm.prompts import format_for, sft_prompt
from isara.lm.tokens import ensure_pad_token, pair_ids

PROBE_FILE = "probe.npz"


def layer_indices(fractions: Sequence[float], depth: int) -> list[int]:
    """hidden_states indices (0 = embeddings, depth = last layer) for depth fractions in (0, 1]."""
    for fraction in fractions:
        if not 0.0 < fraction <= 1.0:
            raise IsaraError(f"judge: layers are fractions of the depth in (0, 1], got {fraction}")
    return sorted({max(1, round(fraction * depth)) for fraction in fractions})


@torch.inference_mode()
def hidden_features(model, tokenizer, fmt, pairs: Sequence, layers: Sequence[int], max_length: int,
                    batch_size: int, progress: bool = False) -> dict[str, np.ndarray]:
    """{"pair": ..., "prompt": ...}, float32 arrays of shape (len(pairs), 2 * hidden * len(layers)).

    "pair" holds, per layer in `layers` (hidden_states indices), the mean over the response tokens
    then the last token's state; "prompt" the mean over the prompt tokens then the last prompt
    token's state (what the model holds before it reads the response).
    """
    from tqdm.auto import tqdm

    encoded = [pair_ids(tokenizer, fmt, sft_prompt(fmt, pair[0]), pair[1], max_length=max_length) for pair in pairs]
    width = model.config.hidden_size * 2 * len(layers)
    out = {"pair": np.zeros((len(pairs), width), np.float32), "prompt": np.zeros((len(pairs), width), np.float32)}
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
    device = next(model.parameters()).device
    body = model.base_model  # the transformer without its LM head: the states, not the vocabulary logits
    pad = ensure_pad_token(tokenizer).pad_token_id
    bar = tqdm(total=len(order), desc="probe features", unit="pair", disable=not progress)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        longest = max(len(encoded[i][0]) for i in chunk)
        ids = torch.full((len(chunk), longest), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), longest), dtype=torch.long)
        for row, i in enumerate(chunk):
            tokens = encoded[i][0]
            ids[row, : len(tokens)] = torch.tensor(tokens)
            mask[row, : len(tokens)] = 1
        states = body(input_ids=ids.to(device), attention_mask=mask.to(device), output_hidden_states=True).hidden_states
        for row, i in enumerate(chunk):
            n, cut = len(encoded[i][0]), min(encoded[i][1], len(encoded[i][0]) - 1)
            pair_parts, prompt_parts = [], []
            for layer in layers:
                h = states[layer][row].float()
                pair_parts += [h[cut:n].mean(0), h[n - 1]]
                prompt_parts += [h[:cut].mean(0) if cut else h[0], h[max(cut - 1, 0)]]
            out["pair"][i] = torch.cat(pair_parts).cpu().numpy()
            out["prompt"][i] = torch.cat(prompt_parts).cpu().numpy()
        bar.update(len(chunk))
    bar.close()
    return out


# ---------------------------------------------------------------------------------------------
# the probe: standardised features, L2 logistic regression


def fit_probe(x: np.ndarray, harmful: np.ndarray, c: float, seed: int) -> dict[str, np.ndarray]:
    """Scaler and logistic-regression weights, as plain arrays (saved with numpy, no pickle)."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    if len(set(harmful.tolist())) < 2:  # one class only: a constant probe
        return {"mean": mean, "scale": scale, "coef": np.zeros(x.shape[1]),
                "intercept": np.array([8.0 if harmful[0] else -8.0])}
    model = LogisticRegression(C=c, max_iter=5000, random_state=seed)
    model.fit((x - mean) / scale, harmful)
    return {"mean": mean, "scale": scale, "coef": model.coef_[0], "intercept": model.intercept_}


def probe_probs(probe: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """P(harmful) per row of `x`."""
    z = ((x - probe["mean"]) / probe["scale"]) @ probe["coef"] + probe["intercept"][0]
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def choose_c(x: np.ndarray, harmful: np.ndarray, groups: Sequence[str], cs: Sequence[float], seed: int,
             fraction: float = 0.2) -> tuple[float, dict[str, float]]:
    """The L2 strength with the best accuracy on a validation split of whole prompt groups drawn
    from the training side (ties go to the stronger regularisation); and every C's accuracy."""
    keys = sorted(set(groups))
    random.Random(f"{seed}-probe-validation").shuffle(keys)
    held = set(keys[: max(1, round(fraction * len(keys)))])
    val = np.array([g in held for g in groups])
    if val.all() or not val.any() or len(cs) == 1:
        return cs[0], {}
    scores = {}
    for c in sorted(cs):
        probe = fit_probe(x[~val], harmful[~val], c, seed)
        scores[str(c)] = round(float(((probe_probs(probe, x[val]) > 0.5) == harmful[val]).mean()), 4)
    best = max(sorted(cs), key=lambda c: scores[str(c)])
    return best, scores


def save_probe(folder: Path, probe: dict[str, np.ndarray]) -> None:
    np.savez(Path(folder) / PROBE_FILE, **probe)


def load_probe(folder: Path) -> dict[str, np.ndarray]:
    with np.load(Path(folder) / PROBE_FILE) as data:
        return {key: data[key] for key in data.files}


def _backbone(config, device: torch.device):
    from isara.devices import resolve_dtype
    from isara.lm.models import open_model

    model, tokenizer = open_model(config["backbone"], device, resolve_dtype("auto", device))
    depth = model.config.num_hidden_layers
    return model, tokenizer, format_for(tokenizer, config.get("prompt_format", "auto")), layer_indices(config["layers"], depth)


def train(train_rows: Sequence, augmented: Sequence, test: Sequence, config, device: torch.device, out_dir: Path,
          baseline: bool) -> tuple[list[float], dict | None, dict]:
    """Fit the probe on train + augmented (C chosen on a grouped validation split of them), save it
    into `out_dir`; (held-out P(harmful), prompt-only metrics or None, training stats)."""
    settings = asdict(config)
    model, tokenizer, fmt, layers = _backbone(settings, device)
    fitted = list(train_rows) + list(augmented)
    started = time.perf_counter()
    features = hidden_features(model, tokenizer, fmt, fitted + list(test), layers, config.max_length,
                               config.eval_batch_size, progress=True)
    seconds = time.perf_counter() - started
    x_fit, x_test = features["pair"][: len(fitted)], features["pair"][len(fitted):]
    harmful = np.array([not row.is_safe for row in fitted])
    groups = [group_key(row.prompt) for row in fitted]
    c, scores = choose_c(x_fit, harmful, groups, config.cs, config.seed)
    probe = fit_probe(x_fit, harmful, c, config.seed)
    save_probe(out_dir, probe)
    stats = {"c": c, "validation_accuracy": scores, "layer_indices": layers, "features_seconds": round(seconds, 1),
             "feature_size": int(x_fit.shape[1])}

    prompt_only = None
    if baseline:  # the same probe on the prompt's states, fitted on the unaugmented rows
        n = len(train_rows)
        x_prompt = features["prompt"][:n]
        c_prompt, _ = choose_c(x_prompt, harmful[:n], groups[:n], config.cs, config.seed)
        prompt_probe = fit_probe(x_prompt, harmful[:n], c_prompt, config.seed)
        predicted = probe_probs(prompt_probe, features["prompt"][len(fitted):]) > 0.5
        prompt_only = {**binary_metrics([not row.is_safe for row in test], predicted.tolist()), "c": c_prompt}
    return probe_probs(probe, x_test).tolist(), prompt_only, stats


class Scorer:
    """P(harmful) for (prompt, response) pairs from a folder written by `train` and its backbone."""

    def __init__(self, folder: Path, info: dict, device: torch.device, batch_size: int | None = None):
        self.probe = load_probe(Path(folder))
        self.model, self.tokenizer, self.fmt, self.layers = _backbone(info["config"], device)
        self.max_length = int(info["max_length"])
        self.batch_size = batch_size or int(info["config"].get("eval_batch_size", 16))

    def harmful_probs(self, pairs: Sequence) -> list[float]:
        if not pairs:
            return []
        x = hidden_features(self.model, self.tokenizer, self.fmt, pairs, self.layers, self.max_length,
                            self.batch_size)["pair"]
        return probe_probs(self.probe, x).tolist()
