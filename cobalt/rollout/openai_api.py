"""The OpenAI-compatible chat API backend (optional extra ``openai``).

Works with anything that serves ``/v1/chat/completions``: a ``vllm serve`` or llama.cpp server,
OpenAI, or a gateway. Requests run concurrently up to ``concurrency``; a request that fails for a
transient reason (connection error, timeout, HTTP 408/409/429/5xx) is retried up to ``max_retries``
times with exponential backoff and jitter, honouring a server's ``Retry-After``; other errors
(bad request, authentication, unknown model) fail at once. The client's own retries are turned off
so that every retry is counted in :attr:`Policy.usage`. Token usage is taken from the responses.

The API key is read only from the environment variable ``api_key_env`` names, never from the
command line or a config file. A local server (``base_url`` set) may run without one.

The token limit travels as ``max_completion_tokens``, the field OpenAI's API has used since
``max_tokens`` was deprecated and the only one its reasoning models accept (vLLM's server reads
both). A server that refuses it (HTTP 400 or 422 naming the field) is asked again with
``max_tokens``, which is then used for every later request. A server that parses reasoning out of the answer (vLLM's
``--reasoning-parser``) returns it as ``reasoning_content`` (or ``reasoning``); it is put back in
front of the answer as ``<think>...</think>``, so that a completion reads as the model wrote it and
``reasoning`` rollouts strip it as they do for the other engines.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import weakref
from collections.abc import Sequence
from typing import Any

from cobalt.rollout.policy import (
    Completion,
    Conversation,
    Policy,
    PolicyConfig,
    PolicyError,
    SamplingParams,
    as_dicts,
    require,
    run_coroutine_blocking,
)

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {408, 409, 429}
TOKEN_FIELD_REFUSED = {400, 422}  # a server that does not know max_completion_tokens says so with one of these


class OpenAIPolicy(Policy):
    """Chat completions over HTTP with bounded concurrency, retries and token accounting."""

    name = "openai"
    prefers_full_batches = False

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 16,
        max_retries: int = 5,
        timeout_s: float = 600.0,
        n_in_request: bool = True,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        extra_body: dict[str, Any] | None = None,
    ):
        super().__init__()
        self._openai = require("openai", extra="openai")
        self.model = model
        self.base_url = base_url
        self.api_key = _api_key(api_key_env, base_url)
        self.concurrency = concurrency
        self.max_concurrent_calls = concurrency
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.n_in_request = n_in_request
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.extra_body = dict(extra_body or {})
        # max_completion_tokens until a server refuses it (module docstring); then max_tokens for good
        self.token_field = "max_completion_tokens"
        self._token_field_confirmed = False
        # one client and limit per event loop; weak keys, so a finished loop's entry goes with it
        self._clients: weakref.WeakKeyDictionary[Any, tuple[Any, asyncio.Semaphore]] = weakref.WeakKeyDictionary()

    @classmethod
    def from_config(cls, config: PolicyConfig) -> OpenAIPolicy:
        """The policy a :class:`PolicyConfig` describes (its openai settings; ``chat_template_kwargs``
        travel in each request's body)."""
        extra_body = {"chat_template_kwargs": config.chat_template_kwargs} if config.chat_template_kwargs else None
        return cls(
            config.model,
            base_url=config.base_url,
            api_key_env=config.api_key_env,
            concurrency=config.concurrency,
            max_retries=config.max_retries,
            timeout_s=config.request_timeout_s,
            n_in_request=config.n_in_request,
            extra_body=extra_body,
        )

    def _client(self) -> tuple[Any, asyncio.Semaphore]:
        """One client and one concurrency limit per event loop (an async HTTP client is bound to
        the loop it was first used on)."""
        key = asyncio.get_running_loop()
        if key not in self._clients:
            client = self._openai.AsyncOpenAI(
                api_key=self.api_key, base_url=self.base_url, max_retries=0, timeout=self.timeout_s
            )
            self._clients[key] = (client, asyncio.Semaphore(self.concurrency))
        return self._clients[key]

    def generate(self, conversations: Sequence[Conversation], params: SamplingParams) -> list[list[Completion]]:
        """Blocking :meth:`agenerate` on a private event loop, whose client is closed before it returns."""

        async def once() -> list[list[Completion]]:
            try:
                return await self.agenerate(conversations, params)
            finally:
                await self.detach_loop()  # the private loop ends here: close its client on it

        return run_coroutine_blocking(once())

    async def agenerate(self, conversations: Sequence[Conversation], params: SamplingParams) -> list[list[Completion]]:
        """``params.n`` completions per conversation, in order, requests running concurrently up to
        ``concurrency``: one request for ``n`` per conversation, or ``n`` requests for one each when
        ``n_in_request`` is off. Raises :class:`PolicyError` when a request fails for good."""
        if self.n_in_request:
            calls = [self._request(as_dicts(c), params.n, params) for c in conversations]
            return list(await asyncio.gather(*calls))
        singles = [[self._request(as_dicts(c), 1, params) for _ in range(params.n)] for c in conversations]
        flat = await asyncio.gather(*(call for group in singles for call in group))
        return [[c for result in flat[i * params.n : (i + 1) * params.n] for c in result] for i in range(len(singles))]

    async def _request(self, messages: list[dict[str, str]], n: int, params: SamplingParams) -> list[Completion]:
        client, limit = self._client()
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "n": n,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if self.extra_body:
            body["extra_body"] = self.extra_body
        attempt = 0  # retries of transient failures; the one switch to max_tokens is not one
        while True:
            field = self.token_field
            try:
                async with limit:
                    response = await client.chat.completions.create(**body, **{field: params.max_new_tokens})
                if field == "max_completion_tokens":
                    self._token_field_confirmed = True
                return self._completions(response, n)
            except Exception as err:
                if self._token_field_refused(err, field):
                    log.warning("%s refused max_completion_tokens (%s); sending max_tokens", self.base_url, err)
                    self.token_field = "max_tokens"
                    continue
                delay = self._retry_delay(err, attempt)
                if delay is None:
                    raise PolicyError(f"{self.base_url or 'OpenAI API'}: request failed: {_describe(err)}") from err
                log.info("request failed (%s); retry %d in %.1f s", _describe(err), attempt + 1, delay)
                self.usage.add(retries=1)
                attempt += 1
                await asyncio.sleep(delay)

    def _token_field_refused(self, err: Exception, field: str) -> bool:
        """Whether ``err`` is a server refusing ``max_completion_tokens`` before it ever accepted it:
        a 400 or 422 whose message names the field (other bad requests fail at once, as before)."""
        if field != "max_completion_tokens" or self._token_field_confirmed:
            return False
        refused = isinstance(err, self._openai.APIStatusError) and err.status_code in TOKEN_FIELD_REFUSED
        return refused and "max_completion_tokens" in str(err)

    def _retry_delay(self, err: Exception, attempt: int) -> float | None:
        """Seconds to wait before retrying ``err``, or None when it must not be retried."""
        openai = self._openai
        if attempt >= self.max_retries:
            return None
        if isinstance(err, openai.APIStatusError):
            if err.status_code not in RETRYABLE_STATUS and err.status_code < 500:
                return None
            after = _retry_after(err)
            if after is not None:
                return min(after, self.max_backoff_s)
        elif not isinstance(err, openai.APIConnectionError):  # includes APITimeoutError
            return None
        return min(self.max_backoff_s, self.backoff_s * 2**attempt) * random.uniform(0.5, 1.0)

    def _completions(self, response: Any, n: int) -> list[Completion]:
        choices = sorted(response.choices, key=lambda c: c.index)
        if len(choices) != n:
            raise PolicyError(f"asked for {n} completions, the server returned {len(choices)} (try n_in_request=false)")
        usage = response.usage
        prompt = getattr(usage, "prompt_tokens", None)
        completion = getattr(usage, "completion_tokens", None)
        self.usage.add(requests=1, completions=n, prompt=prompt or 0, completion=completion or 0)
        # The API reports one completion-token total per response; per-completion counts are only
        # known when the response holds a single completion.
        per_completion = completion if n == 1 else None
        return [
            Completion(
                text=_with_reasoning(choice.message),
                completion_tokens=per_completion,
                prompt_tokens=prompt,
                finish_reason=choice.finish_reason,
            )
            for choice in choices
        ]

    async def detach_loop(self) -> None:
        """Close the HTTP client made on the running event loop, if any; the next request there makes a new one."""
        entry = self._clients.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[0].close()

    def close(self) -> None:
        """Forget the clients of every event loop (:meth:`detach_loop` closes each on its own loop)."""
        self._clients.clear()


def _with_reasoning(message: Any) -> str:
    """The answer as the model wrote it: a server's separately returned reasoning put back in front
    as ``<think>...</think>``. Reasoning with no answer after it (cut off while thinking) stays
    unclosed, so that a ``reasoning`` rollout finds no program in it."""
    content = message.content
    reasoning = getattr(message, "reasoning_content", None) or getattr(message, "reasoning", None)
    if not reasoning:
        return content or ""
    if content is None:
        return f"<think>\n{reasoning}"
    return f"<think>\n{reasoning}\n</think>\n\n{content}"


def _api_key(env: str, base_url: str | None) -> str:
    key = os.environ.get(env)
    if key:
        return key
    if base_url:  # local servers (vLLM, llama.cpp) accept any key unless started with one
        return "EMPTY"
    raise ValueError(f"no API key: set the environment variable {env} (keys are never taken from arguments)")


def _retry_after(err: Any) -> float | None:
    headers = getattr(getattr(err, "response", None), "headers", None) or {}
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _describe(err: Exception) -> str:
    status = getattr(err, "status_code", None)
    return f"{type(err).__name__}" + (f" (HTTP {status})" if status else "") + f": {err}"
