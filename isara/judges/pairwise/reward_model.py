"""The `reward` pairwise judge: a sequence-classification reward model scoring each output alone."""

from __future__ import annotations

from pathlib import Path

import torch

from isara.errors import IsaraError
from isara.judges.pairwise.base import REWARD_FIELDS, REWARD_TEMPLATE, SCORE_HEAD_KEYS, ModelJudge
from isara.lm.models import model_source


class RewardModelJudge(ModelJudge):
    """A sequence-classification reward model with a single logit, scoring each output alone.

    Each output is rendered with REWARD_TEMPLATE (the beaver format by default) and scored;
    prefer = 1.0 when reward(a) > reward(b), 0.0 when lower, 0.5 when equal. Rewards are kept in
    memory, so judging a pair in both orders scores each output once.

    Loads with AutoModelForSequenceClassification. A safe-rlhf score model (the beaver reward and
    cost models: architecture LlamaModelForScore, `score_dim` in its config, weights `score_head.*`)
    loads too: SCORE_HEAD_KEYS renames its head to the `score` of LlamaForSequenceClassification,
    which reads the same last-token hidden state. Such a head's bias, if any, is dropped: that
    shifts every reward alike and changes no preference. A checkpoint whose head is missing (a
    causal LM, say) is refused rather than scored by a random head. Inputs longer than the
    model's context are cut at the end.
    """

    kind, default_template, fields = "reward", REWARD_TEMPLATE, REWARD_FIELDS

    def __init__(self, *args, **kwargs):
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

        super().__init__(*args, **kwargs)
        location = model_source(Path(self.source)) if Path(self.source).is_dir() else self.source
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(location)
            config = AutoConfig.from_pretrained(location)
            extra = {}
            if isinstance(getattr(config, "score_dim", None), int):  # a safe-rlhf score model
                extra["num_labels"] = config.score_dim
            model, info = AutoModelForSequenceClassification.from_pretrained(
                location, dtype=self.dtype, output_loading_info=True, key_mapping=SCORE_HEAD_KEYS, **extra
            )
        except Exception as err:  # OSError, ValueError, hub errors...
            raise IsaraError(
                f"reward judge: cannot load '{self.source}' as a sequence-classification model "
                f"({type(err).__name__}: {err})"
            ) from None
        missing = list(info.get("missing_keys") or [])
        if missing:
            raise IsaraError(
                f"reward judge '{self.source}': weights missing from the checkpoint "
                f"({', '.join(sorted(missing)[:3])}{', ...' if len(missing) > 3 else ''}); it is not "
                f"a {type(model).__name__} and its score head would be random"
            )
        if model.config.num_labels != 1:
            raise IsaraError(
                f"reward judge '{self.source}': a reward model has one output logit, this one has "
                f"{model.config.num_labels}"
            )
        self.model = model.to(self.device).eval()
        limits = [getattr(model.config, "max_position_embeddings", None), self.tokenizer.model_max_length]
        limits = [int(limit) for limit in limits if isinstance(limit, int) and 0 < limit < 1_000_000]
        self.max_length = min(limits) if limits else None
        self._rewards: dict[tuple[str, str], float] = {}

    @torch.inference_mode()
    def reward(self, instruction: str, output: str) -> float:
        key = (instruction, output)
        if key not in self._rewards:
            text = self.template.format(instruction=instruction, output=output)
            encoded = self.tokenizer(
                text, return_tensors="pt", truncation=self.max_length is not None, max_length=self.max_length
            ).to(self.model.device)
            self._rewards[key] = float(self.model(**encoded).logits[0, 0].float())
        return self._rewards[key]

    def prefer(self, instruction: str, output_a: str, output_b: str) -> float:
        reward_a, reward_b = self.reward(instruction, output_a), self.reward(instruction, output_b)
        if reward_a > reward_b:
            return 1.0
        if reward_a < reward_b:
            return 0.0
        return 0.5
