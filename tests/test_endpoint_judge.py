"""The endpoint pairwise judge against a real local HTTP server: requests, logprobs, errors, keys."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from isara.errors import IsaraError
from isara.judges.pairwise import JUDGE_TEMPLATE, EndpointJudge, build_pairwise_judge, parse_chat_completion
from isara.judges.win_rate import win_rate
from tests.pairwise_judges import CountingMixin

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



@pytest.mark.parametrize("url, reason", [
    ("https://user:s3cr3t-pw@judge.example.org/v1", "carries credentials"),
    ("http://s3cr3t-pw@localhost:8000/v1", "carries credentials"),
    ("https://user:s3cr3t/pw@judge.example.org/v1", "carries credentials"),  # a raw "/" in the password
    ("user:s3cr3t-pw@judge.example.org/v1", "must be an http(s) URL"),
])
def test_credentials_in_the_url_are_refused_and_never_shown(url, reason):
    """The URL would become the judge's name, which metrics files and the verdict cache keep: a URL
    with user info builds no judge, and the one line refusing it masks the user info."""
    with pytest.raises(IsaraError) as refused:
        build_pairwise_judge({"kind": "endpoint", "model": "m", "base_url": url})
    message = str(refused.value)
    assert reason in message and "\n" not in message
    assert "s3cr3t" not in message and "user:" not in message and "***@" in message
    if reason == "carries credentials":
        assert "judges.pairwise.api_key_env" in message


def test_a_url_without_user_info_is_its_name(server):
    judge = EndpointJudge(server.url + "/", "m")
    assert judge.name.startswith(f"endpoint:{server.url}:m#") and "@" not in judge.name
    query = EndpointJudge("https://judge.example.org/v1?team=a@b", "m")  # an "@" past "?" is no user info
    assert query.name.startswith("endpoint:https://judge.example.org/v1?team=a@b:m#")
