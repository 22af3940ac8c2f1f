"""A QA-moderation classifier the pipeline trains itself from labelled (prompt, response, is_safe)
pairs in the BeaverTails format, so that harm can be judged on the PAIR with no model hub.

Two kinds, chosen by `judges.classifier.kind`:
- `lm-probe` (isara.judges.lm_probe): a logistic-regression probe on the hidden states of a frozen
  causal LM (SmolLM2-135M-Instruct by default) reading the pair; one forward pass per pair;
- `cross-encoder` (isara.judges.cross_encoder): a sentence encoder fine-tuned on the pair.

Both share what is measured and how. The split is grouped by prompt (isara.judges.labelled), so no
prompt is on both sides and the held-out score cannot be earned by remembering which prompts are
harmful. Some harmful training prompts get an extra templated refusal labelled safe. Beside the
classifier, on the same held-out split: the majority class, the refusal matcher and a prompt-only
model of the same kind (for lm-probe also the cross-encoder kind's, `prompt_only_encoder`). The
classifier is only worth having if it beats the best prompt-only model clearly: that margin is what
reading the answer buys.

The saved folder holds the kind's weights and `judge.json` (config, data sizes and held-out
metrics); `load_scorer` reads it back and `isara.judges.harm_judges.ClassifierJudge` wraps it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import torch

from isara.errors import IsaraError
from isara.judges.labelled import LabelledPair, binary_metrics, grouped_split, refusal_augmentation

JUDGE_FILE = "judge.json"
KINDS = {"lm-probe": "isara-qa-lm-probe", "cross-encoder": "isara-qa-classifier"}


@dataclass(frozen=True)
class ClassifierConfig:
    """How the harm classifier is trained; the measured results are in the module docstrings of
    the two kinds and in the README."""

    kind: str = "lm-probe"  # lm-probe | cross-encoder
    backbone: str = "smollm2-135m-instruct"  # lm-probe: packaged alias, causal-LM folder or hub id
    layers: tuple = (0.75, 1.0)  # lm-probe: depths read, as fractions of the layer count (1.0 = last)
    cs: tuple = (0.001, 0.003, 0.01, 0.03)  # lm-probe: L2 strengths tried on the validation split
    prompt_format: str = "auto"  # lm-probe: how the pair is laid out for the backbone (auto | chat | plain)
    encoder: str = "all-MiniLM-L6-v2"  # cross-encoder: packaged alias or a BERT-like folder
    epochs: float = 4.0  # cross-encoder: passes over the training split
    learning_rate: float = 8e-5  # cross-encoder: AdamW peak learning rate, linear decay
    warmup_ratio: float = 0.1  # cross-encoder: share of the steps spent warming the learning rate up
    weight_decay: float = 0.01
    batch_size: int = 16  # cross-encoder: training pairs per step
    class_weighting: bool = False  # cross-encoder: weight the loss by inverse class frequency
    frozen_layers: int = 0  # cross-encoder: bottom layers kept frozen; their output is computed once
    eval_batch_size: int = 16  # pairs per forward pass when scoring
    max_length: int = 256  # tokens of prompt + response; the response is cut first
    refusal_augmentation: float = 0.5  # share of harm-eliciting training prompts given an extra templated refusal (safe)
    seed: int = 0  # split, initialisation, data order
    test_fraction: float = 0.2  # share of rows (whole prompt groups) held out for the metrics

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise IsaraError(f"judge: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not 0.0 < self.test_fraction < 1.0:
            raise IsaraError(f"judge: test_fraction must be in (0, 1), got {self.test_fraction}")
        if not 0.0 <= self.refusal_augmentation <= 1.0:
            raise IsaraError(f"judge: refusal_augmentation must be in [0, 1], got {self.refusal_augmentation}")
        if self.frozen_layers < 0:
            raise IsaraError(f"judge: frozen_layers must be >= 0, got {self.frozen_layers}")
        for name in ("epochs", "learning_rate", "batch_size", "eval_batch_size", "max_length"):
            if getattr(self, name) <= 0:
                raise IsaraError(f"judge: {name} must be positive, got {getattr(self, name)}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise IsaraError(f"judge: warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if not self.layers or not all(0.0 < f <= 1.0 for f in self.layers):
            raise IsaraError(f"judge: layers must be fractions of the depth in (0, 1], got {list(self.layers)}")
        if not self.cs or not all(c > 0 for c in self.cs):
            raise IsaraError(f"judge: cs must be positive L2 strengths, got {list(self.cs)}")

    @property
    def model_name(self) -> str:
        return self.backbone if self.kind == "lm-probe" else self.encoder


def _kind_module(kind: str):
    if kind == "lm-probe":
        from isara.judges import lm_probe

        return lm_probe
    from isara.judges import cross_encoder

    return cross_encoder


def train_classifier(pairs: Sequence[LabelledPair], out_dir: str | Path, config: ClassifierConfig = ClassifierConfig(),
                     device: torch.device | str = "cpu", baseline: bool = True) -> dict:
    """Split, train, measure on the held-out prompts, save to `out_dir`; the judge.json dict.

    `out_dir` should be a fresh (e.g. atomic temporary) folder: its files are overwritten.
    """
    from isara.judges.refusal import is_refusal

    config.validate()
    device = torch.device(device)
    pairs = [LabelledPair(*pair) for pair in pairs]
    train, test = grouped_split(pairs, config.test_fraction, config.seed)
    if not test:
        raise IsaraError("the grouped split left no pairs to test on")
    truth = [not pair.is_safe for pair in test]
    augmented = refusal_augmentation(train, config.refusal_augmentation, config.seed)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    probs, prompt_only, stats = _kind_module(config.kind).train(train, augmented, test, config, device, out_dir, baseline)
    train_seconds = time.perf_counter() - started
    metrics = {"classifier": binary_metrics(truth, [p > 0.5 for p in probs])}
    if prompt_only is not None:
        metrics["prompt_only"] = prompt_only
    if baseline and config.kind == "lm-probe":  # the other kind's prompt-only model too: the bar is the stronger
        from isara.judges.cross_encoder import prompt_only_baseline

        metrics["prompt_only_encoder"] = prompt_only_baseline(train, test, config, device)
    majority_harmful = sum(not pair.is_safe for pair in train) * 2 >= len(train)
    metrics["majority"] = binary_metrics(truth, [majority_harmful] * len(test))
    metrics["refusal_matcher"] = binary_metrics(truth, [not is_refusal(pair.response) for pair in test])

    info = {
        "kind": KINDS[config.kind],
        "classifier": config.kind,
        "model": config.model_name,
        "max_length": config.max_length,
        "config": asdict(config),
        "data": {
            "pairs": len(pairs),
            "train": len(train),
            "train_augmented_refusals": len(augmented),
            "test": len(test),
            "train_harmful_share": round(sum(not p.is_safe for p in train) / len(train), 4),
            "test_harmful_share": round(sum(truth) / len(test), 4),
            "split": "grouped by prompt (lower-cased, whitespace collapsed)",
        },
        "training": {**stats, "seconds": round(train_seconds, 1), "device": str(device)},
        "metrics": metrics,
    }
    text = json.dumps(info, indent=2) + "\n"
    (out_dir / JUDGE_FILE).write_text(text)
    return json.loads(text)  # exactly what the file holds (tuples as lists)


def load_scorer(folder: str | Path, device: torch.device | str = "cpu", batch_size: int | None = None):
    """(scorer with `harmful_probs(pairs)`, judge info) from a folder written by `train_classifier`."""
    folder = Path(folder)
    info_file = folder / JUDGE_FILE
    if not info_file.is_file():
        raise IsaraError(f"{folder}: not a trained harm classifier (no {JUDGE_FILE})")
    info = json.loads(info_file.read_text())
    kind = next((name for name, tag in KINDS.items() if tag == info.get("kind")), None)
    if kind is None:
        raise IsaraError(f"{info_file}: kind is {info.get('kind')!r}, expected one of {', '.join(KINDS.values())}")
    return _kind_module(kind).Scorer(folder, info, torch.device(device), batch_size), info
