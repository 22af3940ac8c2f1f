"""Pairwise judges: which of two outputs is better (scored by isara/judges/win_rate.py).

A judge reads one instruction and two outputs and says how likely the first is the better one:
`prefer(instruction, output_a, output_b) -> float` in [0, 1]. Three kinds exist, all built from
plain data by `build_judge({"kind": ..., ...})` (judges as configuration, as in alpaca_eval):

- `local`: any causal LM (a folder `isara.lm.models.load_model` reads, a packaged alias, or a hub
  id) is shown JUDGE_TEMPLATE and its next-token logits for the two answer letters decide:
  p(A) = softmax over the answer tokens, summed over the A tokens (each letter as is and after a
  space, "A" and " A", when they are distinct tokens). Deterministic, no sampling.
- `endpoint`: any OpenAI-compatible chat-completions server (OpenAI, a vLLM server, ...) is sent
  the same prompt at temperature 0 with max_tokens 1; p(A) comes from the top logprobs of "A"
  and "B" when the server returns them, else from the one letter it answers.
- `reward`: a sequence-classification reward model with one logit scores each output alone
  (REWARD_TEMPLATE); the higher reward wins (1.0, 0.0, or 0.5 on equal rewards).

`win_rate.win_rate` judges every (model output, reference) pair in BOTH orders, model first and
reference first, and averages p = (prefer(model, ref) + 1 - prefer(ref, model)) / 2, so that a
judge's bias towards a position cancels: a judge that always answers "A" ties every pair. A pair
is a win when p > 0.5, a tie (half a win) when p == 0.5 (within TIE_TOLERANCE, so that float
rounding cannot turn a pure position bias into wins or losses), and a loss otherwise; identical
outputs tie without asking the judge. `preference_accuracy` does the same on human preference
pairs (chosen against rejected, e.g. hh-rlhf harmless-base) and says whether the judge does
better than chance.

Verdicts can be kept in a `JudgeCache` (isara.judges.judge_cache), keyed by the judge's
`name`, so a re-run costs no judge calls. The built-in judges' names are their content: a model
judge's name holds a digest of its model's files (or its hub revision), an endpoint judge's its
URL and model, and both a digest of their prompt template; so a folder re-trained in place gets a
new name, and its old verdicts are never reused.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from isara.errors import IsaraError
from isara.judges.pairwise.base import JUDGE_TEMPLATE, REWARD_TEMPLATE, PairwiseJudge
from isara.judges.pairwise.endpoint import EndpointJudge, parse_chat_completion
from isara.judges.pairwise.local import LocalLMJudge
from isara.judges.pairwise.reward_model import RewardModelJudge

__all__ = ["JUDGE_TEMPLATE", "REWARD_TEMPLATE", "EndpointJudge", "LocalLMJudge", "PairwiseJudge", "RewardModelJudge",
           "build_judge", "build_pairwise_judge", "parse_chat_completion"]

_SPECS = {
    "local": (LocalLMJudge, {"model"}, {"device", "dtype", "template", "name"}),
    "endpoint": (EndpointJudge, {"base_url", "model"}, {"api_key_env", "allow_insecure_http", "timeout", "logprobs", "template", "name"}),
    "reward": (RewardModelJudge, {"model"}, {"device", "dtype", "template", "name"}),
}


def build_judge(spec: Mapping[str, Any]) -> PairwiseJudge:
    """A judge from data, e.g. {"kind": "local", "model": "models/iter0", "device": "cuda"},
    {"kind": "endpoint", "base_url": "http://localhost:8000/v1", "model": "Qwen/Qwen2.5-7B-Instruct"}
    or {"kind": "reward", "model": "PKU-Alignment/beaver-7b-v1.0-reward"}. Keys:

    - local: model (folder, packaged alias or hub id); optional device, dtype, template, name;
    - endpoint: base_url, model; optional api_key_env, allow_insecure_http, timeout, logprobs, template, name;
    - reward: model; optional device, dtype, template, name.
    """
    if not isinstance(spec, Mapping):
        raise IsaraError(f"judge spec must be a mapping, got {type(spec).__name__}")
    kind = spec.get("kind")
    if kind not in _SPECS:
        raise IsaraError(f"judge spec: kind must be one of {', '.join(_SPECS)}, got {kind!r}")
    cls, required, optional = _SPECS[kind]
    keys = set(spec) - {"kind"}
    if required - keys:
        raise IsaraError(f"judge spec ({kind}): missing {', '.join(sorted(required - keys))}")
    if keys - required - optional:
        raise IsaraError(
            f"judge spec ({kind}): unknown key(s) {', '.join(sorted(keys - required - optional))}; "
            f"allowed: {', '.join(sorted(required | optional))}"
        )
    kwargs = {key: spec[key] for key in keys}
    if kind in ("local", "reward"):
        kwargs["model_dir_or_id"] = kwargs.pop("model")
    return cls(**kwargs)


def build_pairwise_judge(config: Any, device: str | torch.device | None = None) -> PairwiseJudge:
    """The judge of params.yaml's `judges.pairwise` section (kind, model, base_url; a mapping or
    the params dataclass), on `device` for local and reward judges ("auto" when None)."""
    def field(key: str, default: Any = None) -> Any:
        return config.get(key, default) if isinstance(config, Mapping) else getattr(config, key, default)

    kind = field("kind")
    spec: dict[str, Any] = {"kind": kind, "model": field("model")}
    if kind == "endpoint":
        if not field("base_url"):
            raise IsaraError("params.yaml: judges.pairwise.base_url is needed when kind is endpoint")
        spec.update(base_url=field("base_url"), api_key_env=field("api_key_env", ""),
                    allow_insecure_http=field("allow_insecure_http", False))
    elif device is not None:
        spec["device"] = device
    return build_judge(spec)
