"""Pairwise judges, win rate and preference accuracy: real tiny models, a real local HTTP server,
and hand-made judges with known answers for the both-orders logic."""

from __future__ import annotations

import json
import math
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from isara.errors import IsaraError
from isara.judges.judge_cache import JudgeCache, judge_key
from isara.judges.pairwise import (
    JUDGE_TEMPLATE,
    REWARD_TEMPLATE,
    EndpointJudge,
    LocalLMJudge,
    PairwiseJudge,
    RewardModelJudge,
    build_judge,
    build_pairwise_judge,
    parse_chat_completion,
)
from isara.judges.win_rate import both_orders, preference_accuracy, win_rate

# --- hand-made judges with known answers ---------------------------------------------------------


class CountingMixin:
    """Counts the calls that reach the judge itself (cache hits and identical outputs do not)."""

    calls = 0

    def prefer(self, instruction, output_a, output_b):
        self.calls += 1
        return super().prefer(instruction, output_a, output_b)


class AlwaysA(PairwiseJudge):
    """Pure position bias: always sure the first output is better."""

    name = "always-a"

    def prefer(self, instruction, output_a, output_b):
        return 1.0


class Longer(PairwiseJudge):
    """Prefers the output with more words, with a position bias on top; 0.5 on equal length."""

    name = "longer"

    def prefer(self, instruction, output_a, output_b):
        a, b = len(output_a.split()), len(output_b.split())
        if a == b:
            return 0.6  # biased towards position A, which both orders cancel
        return 0.9 if a > b else 0.2


class CountingAlwaysA(CountingMixin, AlwaysA):
    pass


class CountingLonger(CountingMixin, Longer):
    pass


class CountingLocal(CountingMixin, LocalLMJudge):
    pass


# --- local causal-LM judge ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_judge(tiny_llama):
    return CountingLocal(tiny_llama, device="cpu", dtype="float32")


def test_local_judge_probabilities_are_deterministic(local_judge):
    assert local_judge.format.kind == "chat"
    decoded = {k: [local_judge.tokenizer.decode([i]) for i in v] for k, v in local_judge.answer_ids.items()}
    assert decoded == {"A": ["A", " A"], "B": ["B", " B"]}
    prompt = local_judge.prompt("Name a colour.", "Blue.", "I like trains.")
    assert "Name a colour." in prompt and "# Response A\nBlue." in prompt
    assert prompt.rstrip().endswith("assistant")  # chat template, generation prompt open
    first = local_judge.prefer("Name a colour.", "Blue.", "I like trains.")
    assert 0.0 <= first <= 1.0
    assert local_judge.prefer("Name a colour.", "Blue.", "I like trains.") == first
    swapped = local_judge.prefer("Name a colour.", "I like trains.", "Blue.")
    assert 0.0 <= swapped <= 1.0
    assert re.match(rf"local:{re.escape(local_judge.source)}@[0-9a-f]{{12}}#[0-9a-f]{{8}}$", local_judge.name)


def test_a_model_judges_name_changes_with_its_weights(tiny_llama, tmp_path):
    """The cache key is the judge's content: a folder rebuilt from other weights is another judge."""
    import shutil

    from isara.tiny import build_tiny_model

    folder = tmp_path / "judge-model"
    shutil.copytree(tiny_llama, folder)
    before = LocalLMJudge(folder, device="cpu", dtype="float32").name
    assert LocalLMJudge(folder, device="cpu", dtype="float32").name == before
    shutil.rmtree(folder)
    build_tiny_model("llama", folder, seed=1)
    assert LocalLMJudge(folder, device="cpu", dtype="float32").name != before


def test_local_judge_plain_text_model(tiny_opt):
    judge = LocalLMJudge(tiny_opt, device="cpu", dtype="float32")
    assert judge.format.kind == "plain"
    decoded = {k: [judge.tokenizer.decode([i]) for i in v] for k, v in judge.answer_ids.items()}
    assert decoded["A"][-1] == " A" and decoded["B"][-1] == " B"
    assert judge.prompt("q", "a", "b").endswith("single letter: A or B.\n\nAnswer:")
    p = judge.prefer("Name a colour.", "Blue.", "I like trains.")
    assert 0.0 <= p <= 1.0 and judge.prefer("Name a colour.", "Blue.", "I like trains.") == p


def test_identical_outputs_tie_without_calling_the_judge(local_judge):
    local_judge.calls = 0
    result = win_rate(local_judge, ["q1", "q2", "q3"], ["same", "x", "y"], ["same", "x", "y"])
    assert local_judge.calls == 0
    assert result["ties"] == 3 and result["win_rate"] == 0.5 and result["n"] == 3
    result = win_rate(local_judge, ["q1", "q2"], ["same", "mine"], ["same", "theirs"])
    assert local_judge.calls == 2  # one differing pair, asked in both orders
    assert result["wins"] + result["ties"] + result["losses"] == 2 and result["ties"] >= 1


def test_local_judge_win_rate_with_cache(local_judge, tmp_path):
    instructions = ["Name a colour.", "Say hello.", "Count to three."]
    outputs = ["Blue.", "Hello!", "1, 2, 3."]
    references = ["Green, or maybe red.", "Hi there.", "One two three four."]
    local_judge.calls = 0
    first = win_rate(local_judge, instructions, outputs, references, cache=tmp_path / "cache")
    assert local_judge.calls == 6
    second = win_rate(local_judge, instructions, outputs, references, cache=tmp_path / "cache")
    assert local_judge.calls == 6 and second == first
    assert 0.0 <= first["win_rate"] <= 1.0 and first["judge"] == local_judge.name


# --- both-orders logic and the cache, with known judges --------------------------------------------


def test_position_bias_cancels_to_all_ties():
    judge = CountingAlwaysA()
    result = win_rate(judge, ["a", "b", "c", "d"], ["x", "a much longer output", "y", "z"],
                      ["u", "v", "w w w", "t"])
    assert result["ties"] == 4 and result["wins"] == result["losses"] == 0
    assert result["win_rate"] == 0.5 and judge.calls == 8
    assert both_orders(judge, "q", "one", "two") == 0.5


def test_longer_judge_wins_and_losses():
    judge = Longer()
    result = win_rate(
        judge,
        ["q1", "q2", "q3", "q4"],
        ["a long detailed answer", "short", "two words", "same text"],
        ["brief", "a much longer reference answer", "also two", "same text"],
    )
    assert (result["wins"], result["losses"], result["ties"]) == (1, 1, 2)
    assert result["win_rate"] == pytest.approx(0.5)
    assert result["judge"] == "longer"
    assert result["mean_output_words"] == pytest.approx((4 + 1 + 2 + 2) / 4)
    assert result["mean_reference_words"] == pytest.approx((1 + 5 + 2 + 2) / 4)
    assert both_orders(judge, "q", "a b c", "a") == pytest.approx((0.9 + 1 - 0.2) / 2)
    wins = win_rate(judge, ["q"] * 3, ["a b", "a b c", "a b c d"], ["a", "b", "c"])
    assert wins["win_rate"] == 1.0 and wins["wins"] == 3


def test_cache_makes_a_second_run_free(tmp_path):
    judge = CountingLonger()
    args = (["q1", "q2", "q1"], ["one two", "one", "same"], ["one", "one two three", "same"])
    with JudgeCache(tmp_path / "judge-cache") as cache:
        first = win_rate(judge, *args, cache=cache)
        assert judge.calls == 4 and len(cache) == 4
        second = win_rate(judge, *args, cache=cache)
        assert judge.calls == 4 and second == first
    with JudgeCache(tmp_path / "judge-cache") as reopened:  # persistent on disk
        assert win_rate(judge, *args, cache=reopened) == first
        assert judge.calls == 4
        assert reopened.get("longer", "q1", "one two", "one") == 0.9
        assert reopened.get("longer", "q1", "one", "one two") == 0.2  # order matters
    other = CountingLonger()
    other.name = "longer-v2"  # another judge name: nothing reused
    win_rate(other, *args, cache=tmp_path / "judge-cache")
    assert other.calls == 4


def test_judge_cache_keys(tmp_path):
    assert judge_key("j", "i", "a", "b") != judge_key("j", "i", "b", "a")
    assert judge_key("j", "i", "a", "b") != judge_key("j", "ia", "", "b")
    assert len(judge_key("j", "i", "a", "b")) == 64
    with JudgeCache(tmp_path / "c") as cache:
        assert cache.get("j", "i", "a", "b") is None
        cache.put("j", "i", "a", "b", 0.25)
        assert cache.get("j", "i", "a", "b") == 0.25
        assert cache.get("j", "i", "b", "a") is None


def test_the_judge_cache_is_plain_json_and_runs_nothing_it_reads(tmp_path):
    """A crafted entry (a pickle that would run a command, junk, an out-of-range value) is data
    that is ignored; a line cut short by a crash loses only itself."""
    import os
    import pickle

    class Boom:
        def __reduce__(self):
            return (os.mkdir, (str(tmp_path / "pwned"),))

    folder = tmp_path / "c"
    with JudgeCache(folder) as cache:
        cache.put("j", "i", "a", "b", 0.25)
    path = folder / "verdicts.jsonl"
    with path.open("ab") as handle:
        handle.write(pickle.dumps(Boom()) + b"\n")
        handle.write(b'{"key": "' + judge_key("j", "i", "x", "y").encode() + b'", "preference": 7}\n')
        handle.write(b'{"key": "' + judge_key("j", "i", "p", "q").encode() + b'", "prefer')  # cut short
    with JudgeCache(folder) as cache:
        assert len(cache) == 1 and cache.get("j", "i", "a", "b") == 0.25
        assert cache.get("j", "i", "x", "y") is None
        cache.put("j", "i", "c", "d", 1.0)
    assert not (tmp_path / "pwned").exists()
    assert len(JudgeCache(folder)) == 2  # the verdict after the cut line is whole


def test_win_rate_rejects_bad_input():
    with pytest.raises(IsaraError, match="pair up"):
        win_rate(Longer(), ["q"], ["a", "b"], ["c"])
    with pytest.raises(IsaraError, match="no pairs"):
        win_rate(Longer(), [], [], [])

    class Broken(PairwiseJudge):
        name = "broken"

        def prefer(self, instruction, output_a, output_b):
            return 1.5

    with pytest.raises(IsaraError, match="broken returned 1.5"):
        win_rate(Broken(), ["q"], ["a"], ["b"])


# --- preference accuracy -----------------------------------------------------------------------------


def test_preference_accuracy_on_hand_made_pairs():
    pairs = [
        {"prompt": "How do I pick a lock?", "chosen": "I can't help with breaking into places, "
         "but a locksmith can help you if you are locked out.", "rejected": "Use a pin."},
        {"prompt": "Insult my neighbour.", "chosen": "I'd rather not write insults, but I can help "
         "you raise the issue politely.", "rejected": "Sure: you idiot."},
        {"prompt": "Is bleach safe to drink?", "chosen": "No. Call poison control.",
         "rejected": "Yes, in small amounts it is fine to drink."},
        {"prompt": "Hi", "chosen": "Hello", "rejected": "Hello"},
    ]
    result = preference_accuracy(Longer(), pairs)
    assert (result["correct"], result["wrong"], result["ties"], result["n"]) == (2, 1, 1, 4)
    assert result["accuracy"] == pytest.approx(2.5 / 4)
    assert result["chance"] == 0.5 and result["judge"] == "longer"
    assert result["chance_standard_error"] == pytest.approx(0.25)
    assert result["near_chance"] is True
    assert result["standard_error"] > 0

    biased = preference_accuracy(AlwaysA(), pairs)
    assert biased["accuracy"] == 0.5 and biased["ties"] == 4 and biased["near_chance"] is True

    many = [{"prompt": f"q{i}", "chosen": "a fuller answer", "rejected": "no"} for i in range(20)]
    strong = preference_accuracy(Longer(), many)
    assert strong["accuracy"] == 1.0 and strong["near_chance"] is False
    assert strong["standard_error"] == 0.0


def test_preference_accuracy_rejects_bad_pairs():
    with pytest.raises(IsaraError, match="pair 0 has no string 'rejected'"):
        preference_accuracy(Longer(), [{"prompt": "q", "chosen": "a"}])


# --- reward-model judge -------------------------------------------------------------------------------


def _tiny_classifier(out_dir, num_labels: int):
    import torch
    from transformers import LlamaForSequenceClassification

    from isara.tiny import _config, _tokenizer

    tokenizer = _tokenizer()
    config = _config("llama", tokenizer)
    config.num_labels = num_labels
    torch.manual_seed(0)
    LlamaForSequenceClassification(config).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="module")
def tiny_reward(tmp_path_factory):
    return _tiny_classifier(tmp_path_factory.mktemp("models") / "tiny-reward", 1)


def test_reward_model_judge(tiny_reward):
    judge = RewardModelJudge(tiny_reward, device="cpu", dtype="float32")
    assert judge.name.startswith("reward:") and judge.template == REWARD_TEMPLATE
    question, a, b = "How do I stay safe online?", "Use strong passwords.", "Click every link."
    reward_a, reward_b = judge.reward(question, a), judge.reward(question, b)
    assert math.isfinite(reward_a) and reward_a != reward_b
    assert judge.prefer(question, a, b) == (1.0 if reward_a > reward_b else 0.0)
    assert judge.prefer(question, b, a) == 1.0 - judge.prefer(question, a, b)
    assert judge.prefer(question, a, a) == 0.5
    assert RewardModelJudge(tiny_reward, device="cpu", dtype="float32").reward(question, a) == reward_a
    result = win_rate(judge, [question, question], [a, b], [b, b])
    assert result["ties"] == 1 and result["wins"] + result["losses"] == 1


def test_reward_model_judge_reads_safe_rlhf_score_models(tiny_reward, tmp_path):
    """A beaver-style checkpoint: LlamaModelForScore, score_dim in the config, score_head.weight."""
    import shutil

    from safetensors.torch import load_file, save_file

    beaver = tmp_path / "beaver-style"
    shutil.copytree(tiny_reward, beaver)
    weights = load_file(beaver / "model.safetensors")
    weights["score_head.weight"] = weights.pop("score.weight")
    save_file(weights, str(beaver / "model.safetensors"), metadata={"format": "pt"})
    config = json.loads((beaver / "config.json").read_text())
    for key in ("id2label", "label2id", "num_labels"):
        config.pop(key, None)
    config.update(architectures=["LlamaModelForScore"], score_dim=1, score_type="reward", bias=False)
    (beaver / "config.json").write_text(json.dumps(config))
    original = RewardModelJudge(tiny_reward, device="cpu", dtype="float32")
    converted = RewardModelJudge(beaver, device="cpu", dtype="float32")
    question, answer = "How do I stay safe online?", "Use strong passwords."
    assert converted.reward(question, answer) == pytest.approx(original.reward(question, answer))


def test_reward_model_judge_refuses_non_reward_models(tmp_path, tiny_llama):
    two = _tiny_classifier(tmp_path / "two-labels", 2)
    with pytest.raises(IsaraError, match="one output logit, this one has 2"):
        RewardModelJudge(two, device="cpu", dtype="float32")
    with pytest.raises(IsaraError, match="score head would be random"):
        RewardModelJudge(tiny_llama, device="cpu", dtype="float32")  # a causal LM: no score head


# --- OpenAI-compatible endpoint judge -----------------------------------------------------------------


class FakeServer:
    """A chat-completions server on 127.0.0.1: records each request, answers from `replies`."""

    def __init__(self):
        self.requests: list[dict] = []
        self.replies: list[tuple[int, object]] = []
        self.delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                time.sleep(server.delay)
                status, reply = server.replies.pop(0) if server.replies else (500, {"error": "none"})
                data = (reply if isinstance(reply, str) else json.dumps(reply)).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    fake = FakeServer()
    yield fake
    fake.close()


def completion(content: str, top: dict[str, float] | None = None) -> dict:
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "length"}
    if top is not None:
        choice["logprobs"] = {"content": [{
            "token": content, "logprob": top.get(content, -20.0),
            "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top.items()],
        }]}
    return {"id": "cmpl-1", "object": "chat.completion", "model": "judge-model", "choices": [choice]}


def test_endpoint_judge_request_and_logprobs(server, monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", "sk-test")
    judge = EndpointJudge(server.url + "/", "judge-model", api_key_env="JUDGE_KEY")
    server.replies.append((200, completion("A", {"A": math.log(0.6), " B": math.log(0.2), "The": -3.0})))
    assert judge.prefer("Name a colour.", "Blue.", "Trains.") == pytest.approx(0.75)
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "judge-model"
    assert body["temperature"] == 0 and body["max_tokens"] == 1
    assert body["logprobs"] is True and body["top_logprobs"] == 5
    assert body["messages"] == [{"role": "user", "content": JUDGE_TEMPLATE.format(
        instruction="Name a colour.", output_a="Blue.", output_b="Trains.")}]
    assert judge.name.startswith(f"endpoint:{server.url}:judge-model#")


def test_endpoint_judge_sends_no_key_unless_params_name_its_variable(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    judge = build_pairwise_judge({"kind": "endpoint", "model": "m", "base_url": server.url})
    server.replies.append((200, completion("A")))
    judge.prefer("q", "x", "y")
    assert "Authorization" not in server.requests[0]["headers"]


@pytest.mark.parametrize("url, allow, refused", [
    ("http://judge.example.org/v1", False, True),
    ("http://judge.example.org/v1", True, False),
    ("https://judge.example.org/v1", False, False),
    ("http://localhost:8000/v1", False, False),
    ("http://127.0.0.1:8000/v1", False, False),
])
def test_a_key_never_goes_over_plain_http_to_another_host_unless_allowed(url, allow, refused, monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", "sk-test")
    build = lambda: EndpointJudge(url, "m", api_key_env="JUDGE_KEY", allow_insecure_http=allow)  # noqa: E731
    if refused:
        with pytest.raises(IsaraError, match="refusing to send the API key in JUDGE_KEY over plain http"):
            build()
    else:
        assert build().api_key == "sk-test"
    monkeypatch.delenv("JUDGE_KEY")
    assert EndpointJudge(url, "m", api_key_env="JUDGE_KEY").api_key is None  # no key set: nothing to protect


def test_endpoint_judge_parses_plain_letters(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    judge = EndpointJudge(server.url, "m")
    server.replies += [(200, completion("B")), (200, completion(" a")), (200, completion("B", {"B": -0.01}))]
    assert judge.prefer("q", "x", "y") == 0.0
    assert judge.prefer("q", "x", "y") == 1.0
    assert judge.prefer("q", "x", "y") == 0.0  # only B among the top logprobs
    assert "Authorization" not in server.requests[0]["headers"]
    server.replies.append((200, completion("Maybe")))
    with pytest.warns(UserWarning, match="neither A nor B"):
        assert judge.prefer("q", "x", "y") == 0.5


def test_endpoint_judge_falls_back_when_logprobs_are_refused(server):
    judge = EndpointJudge(server.url, "m")
    server.replies += [(400, {"error": "logprobs not supported"}), (200, completion("A")), (200, completion("B"))]
    assert judge.prefer("q", "x", "y") == 1.0
    assert server.requests[0]["body"]["logprobs"] is True
    assert "logprobs" not in server.requests[1]["body"] and judge.logprobs is False
    assert judge.prefer("q", "x", "y") == 0.0 and len(server.requests) == 3


def test_endpoint_judge_http_errors_name_the_url(server):
    judge = EndpointJudge(server.url, "m", timeout=5)
    server.replies.append((500, {"error": "overloaded"}))
    with pytest.raises(IsaraError, match=rf"{server.url}/chat/completions answered HTTP 500: .*overloaded"):
        judge.prefer("q", "x", "y")
    server.replies.append((200, "<html>not json</html>"))
    with pytest.raises(IsaraError, match="not JSON"):
        judge.prefer("q", "x", "y")
    server.replies.append((200, {"choices": []}))
    with pytest.raises(IsaraError, match="no choices"):
        judge.prefer("q", "x", "y")
    server.delay = 1.0
    slow = EndpointJudge(server.url, "m", timeout=0.2)
    server.replies.append((200, completion("A")))
    with pytest.raises(IsaraError, match=rf"{server.url}/chat/completions: no answer within 0.2 s"):
        slow.prefer("q", "x", "y")


def test_endpoint_judge_closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    judge = EndpointJudge(f"http://127.0.0.1:{port}/v1", "m", timeout=5)
    with pytest.raises(IsaraError, match=rf"http://127.0.0.1:{port}/v1/chat/completions unreachable"):
        judge.prefer("q", "x", "y")


def test_endpoint_judge_in_win_rate(server):
    judge = CountingEndpoint(server.url, "m")
    server.replies += [(200, completion("A", {"A": math.log(0.9), "B": math.log(0.1)})),
                       (200, completion("A", {"A": math.log(0.6), "B": math.log(0.4)}))]
    result = win_rate(judge, ["q"], ["mine"], ["reference"])
    assert result["wins"] == 1 and result["win_rate"] == 1.0  # (0.9 + 1 - 0.6) / 2 = 0.65
    assert [r["body"]["messages"][0]["content"].split("# Response A\n")[1].split("\n")[0]
            for r in server.requests] == ["mine", "reference"]


class CountingEndpoint(CountingMixin, EndpointJudge):
    pass


def test_parse_chat_completion():
    assert parse_chat_completion(completion("A", {"A": 0.0})) == 1.0
    assert parse_chat_completion(completion("A", {"A": math.log(0.3), "a": math.log(0.1),
                                                  "B": math.log(0.4)})) == pytest.approx(0.5)
    assert parse_chat_completion(completion("Sure")) is None
    with pytest.raises(IsaraError):
        parse_chat_completion({"error": "x"})


# --- judges as data -----------------------------------------------------------------------------------


def test_build_judge(tiny_llama, tiny_reward):
    endpoint = build_judge({"kind": "endpoint", "base_url": "http://localhost:8000/v1", "model": "m",
                            "timeout": 3, "name": "my-judge"})
    assert isinstance(endpoint, EndpointJudge) and endpoint.name == "my-judge" and endpoint.timeout == 3
    local = build_judge({"kind": "local", "model": str(tiny_llama), "device": "cpu", "dtype": "float32"})
    assert isinstance(local, LocalLMJudge) and 0.0 <= local.prefer("q", "a", "b") <= 1.0
    reward = build_judge({"kind": "reward", "model": str(tiny_reward), "device": "cpu"})
    assert isinstance(reward, RewardModelJudge)
    custom = build_judge({"kind": "endpoint", "base_url": "http://x", "model": "m",
                          "template": "Q: {instruction}\n1: {output_a}\n2: {output_b}\nA or B?"})
    assert custom.name != endpoint.name and custom.request_body("q", "a", "b")["messages"][0]["content"] \
        == "Q: q\n1: a\n2: b\nA or B?"
    with pytest.raises(IsaraError, match="kind must be one of"):
        build_judge({"kind": "oracle"})
    with pytest.raises(IsaraError, match="missing base_url"):
        build_judge({"kind": "endpoint", "model": "m"})
    with pytest.raises(IsaraError, match="unknown key"):
        build_judge({"kind": "local", "model": "x", "temperature": 0})
    with pytest.raises(IsaraError, match="exactly the fields"):
        build_judge({"kind": "endpoint", "base_url": "http://x", "model": "m", "template": "{instruction}"})
    with pytest.raises(IsaraError, match="must be an http"):
        build_judge({"kind": "endpoint", "base_url": "localhost:8000", "model": "m"})


def test_build_pairwise_judge_from_params_section(tiny_reward):
    from types import SimpleNamespace

    section = SimpleNamespace(kind="endpoint", model="served-name", base_url="http://127.0.0.1:9/v1")
    judge = build_pairwise_judge(section, "cpu")
    assert isinstance(judge, EndpointJudge) and judge.model == "served-name"
    with pytest.raises(IsaraError, match="judges.pairwise.base_url"):
        build_pairwise_judge({"kind": "endpoint", "model": "m", "base_url": ""})
    reward = build_pairwise_judge({"kind": "reward", "model": str(tiny_reward), "base_url": ""}, "cpu")
    assert isinstance(reward, RewardModelJudge) and reward.device.type == "cpu"
