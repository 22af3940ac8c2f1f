"""The `endpoint` pairwise judge: any OpenAI-compatible chat-completions server."""

from __future__ import annotations

import math
import os
import warnings
from typing import Any
from urllib.parse import urlsplit

from isara.errors import IsaraError
from isara.config.urls import without_userinfo
from isara.judges.pairwise.base import ANSWER_LETTERS, JUDGE_TEMPLATE, PAIR_FIELDS, PairwiseJudge, check_template, digest

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def _letter(token: str) -> str | None:
    word = token.strip().strip("\u2581\u0120.:*()[]\"'").upper()
    return word if word in ANSWER_LETTERS else None


def parse_chat_completion(data: Any) -> float | None:
    """p(A) from a chat-completions response body, None when it names neither letter.

    With logprobs: the probabilities of every top-logprob token that reads "A" or "B" (spaces,
    case and punctuation aside) are summed per letter and renormalized over the two. Without:
    1.0 when the answer is "A", 0.0 when it is "B".
    """
    try:
        choice = data["choices"][0]
    except (KeyError, IndexError, TypeError):
        raise IsaraError(f"the judge endpoint's answer has no choices: {str(data)[:200]}") from None
    logprobs = choice.get("logprobs") or {}
    content = logprobs.get("content") or []
    if content:
        first = content[0]
        candidates = {}
        for entry in [first, *(first.get("top_logprobs") or [])]:
            if "token" in entry and entry.get("logprob") is not None:
                candidates[entry["token"]] = float(entry["logprob"])
        mass = dict.fromkeys(ANSWER_LETTERS, 0.0)
        for token, logprob in candidates.items():
            letter = _letter(token)
            if letter is not None:
                mass[letter] += math.exp(logprob)
        total = mass["A"] + mass["B"]
        if total > 0:
            return mass["A"] / total
    message = choice.get("message") or {}
    letter = _letter(message.get("content") or "")
    if letter is None:
        return None
    return 1.0 if letter == "A" else 0.0


class EndpointJudge(PairwiseJudge):
    """An OpenAI-compatible chat-completions endpoint asked JUDGE_TEMPLATE (one user turn).

    POST {base_url}/chat/completions with temperature 0, max_tokens 1 and, while the server
    accepts them, logprobs=true and top_logprobs=5 (a server that answers HTTP 400 to them is
    asked again without, once, and from then on). An API key is sent only when `api_key_env`
    names an environment variable that is set, as a bearer token; over plain http only to this
    machine (localhost, 127.0.0.1, ::1) unless `allow_insecure_http`. A base_url with user info
    (https://user:secret@host/v1) is refused, and shown with it masked: the URL becomes the judge's
    name, which metrics files and the verdict cache keep. An answer naming neither letter
    counts 0.5 (no preference), with a warning. HTTP errors, timeouts and unreachable servers
    raise IsaraError naming the URL.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "",
        allow_insecure_http: bool = False,
        timeout: float = 60.0,
        logprobs: bool = True,
        template: str = JUDGE_TEMPLATE,
        name: str | None = None,
    ):
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            shown = without_userinfo(base_url) if isinstance(base_url, str) else base_url
            raise IsaraError(f"endpoint judge: base_url must be an http(s) URL, got {shown!r}")
        if without_userinfo(base_url) != base_url:
            raise IsaraError(f"endpoint judge: base_url {without_userinfo(base_url)} carries credentials (user info "
                             "before '@'); remove them and name the environment variable holding the key in "
                             "judges.pairwise.api_key_env")
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model = model
        self.api_key = os.environ.get(api_key_env) if api_key_env else None
        host = urlsplit(self.base_url).hostname or ""
        if self.api_key and self.base_url.startswith("http://") and host not in LOCAL_HOSTS and not allow_insecure_http:
            raise IsaraError(f"endpoint judge: refusing to send the API key in {api_key_env} over plain http to "
                             f"{host}; use https, or set judges.pairwise.allow_insecure_http: true")
        self.timeout = float(timeout)
        self.logprobs = bool(logprobs)
        self.template = check_template(template, PAIR_FIELDS, f"endpoint judge '{model}'")
        self.name = name or f"endpoint:{self.base_url}:{model}#{digest(self.template)}"

    def request_body(self, instruction: str, output_a: str, output_b: str) -> dict:
        text = self.template.format(instruction=instruction, output_a=output_a, output_b=output_b)
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": text}],
            "temperature": 0,
            "max_tokens": 1,
        }
        if self.logprobs:
            body.update(logprobs=True, top_logprobs=5)
        return body

    def _post(self, body: dict):
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            return httpx.post(self.url, json=body, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException:
            raise IsaraError(f"judge endpoint {self.url}: no answer within {self.timeout:g} s") from None
        except httpx.HTTPError as err:
            raise IsaraError(
                f"judge endpoint {self.url} unreachable ({type(err).__name__}: {err})"
            ) from None

    def prefer(self, instruction: str, output_a: str, output_b: str) -> float:
        response = self._post(self.request_body(instruction, output_a, output_b))
        if response.status_code == 400 and self.logprobs:
            self.logprobs = False  # the server may not support logprobs: ask for the letter alone
            response = self._post(self.request_body(instruction, output_a, output_b))
        if response.status_code >= 400:
            raise IsaraError(
                f"judge endpoint {self.url} answered HTTP {response.status_code}: "
                f"{response.text[:300]}"
            )
        try:
            data = response.json()
        except ValueError:
            raise IsaraError(
                f"judge endpoint {self.url} answered something that is not JSON: {response.text[:200]}"
            ) from None
        preference = parse_chat_completion(data)
        if preference is None:
            warnings.warn(
                f"judge endpoint {self.url} answered neither A nor B "
                f"({str(data.get('choices'))[:120]}); counted as no preference",
                stacklevel=2,
            )
            return 0.5
        return preference
