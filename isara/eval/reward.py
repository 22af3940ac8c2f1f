"""The reward suite: utility as the paper measures it, a reward model's score of each method's
answers, here to the safe prompts (data.safe_file: a model that refuses them scores low). The
reward model is any sequence-classification model with one logit (judges.reward_model; the Beaver
reward model on a GPU), loaded by the reward judge (`isara.judges.pairwise.reward`).

Metrics: {"n", "mean_reward", "ci95" (bootstrap over prompts), "standard_error", "judge"}.
"""

from __future__ import annotations

from isara import datasets
from isara.eval.context import Context
from isara.labels import SAFE
from isara.stats import bootstrap_mean, interval, standard_error


def run(ctx: Context) -> tuple[dict, list[dict]]:
    from isara.judges.pairwise.reward import RewardModelJudge

    p = ctx.p
    items = datasets.stratified_limit(datasets.prompt_set(p.data.safe_file, SAFE), p.evaluate.eval_limit.reward, seed=p.seed)
    answers = ctx.answers([r["prompt"] for r in items], p.evaluate.long_max_new_tokens, desc="reward")
    judge = RewardModelJudge(p.judges.reward_model, device=ctx.device, dtype=p.model.dtype)
    rewards = [judge.reward(r["prompt"], a) for r, a in zip(items, answers)]
    rows = [{**r, "answer": a, "reward": round(x, 4)} for r, a, x in zip(items, answers, rewards)]
    return {"n": len(rows), "mean_reward": round(sum(rewards) / len(rewards), 4),
            "ci95": interval(bootstrap_mean(rewards, p.seed)), "standard_error": round(standard_error(rewards), 4),
            "judge": judge.name}, rows
