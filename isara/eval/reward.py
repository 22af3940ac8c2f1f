"""The reward suite: utility as the paper measures it, a reward model's score of each method's
answers, here to the safe prompts (data.safe_file: a model that refuses them scores low). The
reward model is any sequence-classification model with one logit (judges.reward_model; the Beaver
reward model on a GPU), loaded by the reward judge (`isara.judges.pairwise.reward_model`).

Metrics: {"n", "mean_reward", "ci95" (bootstrap over prompts), "standard_error", "judge"}.
"""

from __future__ import annotations

from isara import datasets
from isara.eval.context import Context
from isara.eval.inputs import REWARD
from isara.eval.metrics import Metric
from isara.eval.suite import Suite
from isara.stats import bootstrap_mean, interval, standard_error


def run(ctx: Context) -> tuple[dict, list[dict]]:
    from isara.judges.pairwise.reward_model import RewardModelJudge

    p = ctx.p
    items = datasets.stratified_limit(SUITE.items(p)["reward"], SUITE.limit(p), seed=p.seed)
    answers = ctx.answers([r["prompt"] for r in items], p.evaluate.max_new_tokens_for("reward"), desc="reward")
    judge = RewardModelJudge(p.judges.reward_model, device=ctx.device, dtype=p.model.dtype)
    rewards = [judge.reward(r["prompt"], a) for r, a in zip(items, answers)]
    rows = [{**r, "answer": a, "reward": round(x, 4)} for r, a, x in zip(items, answers, rewards)]
    return {"n": len(rows), "mean_reward": round(sum(rewards) / len(rewards), 4),
            "ci95": interval(bootstrap_mean(rewards, p.seed)), "standard_error": round(standard_error(rewards), 4),
            "judge": judge.name}, rows


SUITE = Suite("reward", "Utility: reward-model score of the answers to safe prompts", REWARD, run, {
    "prompt": "the safe prompt (data.safe_file)", "category": "its category", "answer": "the method's greedy answer",
    "reward": "the reward model's score of the answer",
}, (
    Metric("mean_reward", "reward_mean", "{judge}", "n", True),
))
