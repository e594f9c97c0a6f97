"""The one interface Cobalt uses to talk to a language model.

A :class:`Policy` takes a batch of conversations and returns ``params.n`` completions for each. Three
backends implement it: ``transformers`` (:mod:`cobalt.rollout.hf`, the default and what tests use),
the vLLM offline engine (:mod:`cobalt.rollout.vllm_engine`) and any OpenAI-compatible chat API
(:mod:`cobalt.rollout.openai_api`). :func:`cobalt.rollout.engines.make_policy` builds one from a
:class:`PolicyConfig`; backends import this module, never the reverse.

Only ``cobalt.rollout`` talks to engines; everything downstream sees :class:`Completion` texts.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cobalt.config import install_hint
from cobalt.records import Message

Conversation = Sequence[Message]
Engine = Literal["hf", "vllm", "openai"]


class SamplingParams(BaseModel):
    """How completions are sampled. Defaults: the reference pipeline's (docs/paper.md §2.1, §4)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n: int = Field(16, ge=1, description="Completions per conversation at turn 0 (each repair turn asks for one).")
    temperature: float = Field(0.6, ge=0.0, description="Sampling temperature; 0 means greedy decoding.")
    top_p: float = Field(0.95, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    max_new_tokens: int = Field(6144, ge=1, description="Most tokens generated per completion.")

    def with_n(self, n: int) -> SamplingParams:
        """These parameters with ``n`` completions per conversation (the same object when ``n`` is unchanged)."""
        return self if n == self.n else self.model_copy(update={"n": n})


@dataclass(frozen=True)
class Completion:
    """One generated answer. Token counts are None when the backend cannot tell."""

    text: str
    completion_tokens: int | None = None
    prompt_tokens: int | None = None
    finish_reason: str | None = None  # "stop" (end of turn) or "length" (token limit), as the engine says


@dataclass
class Usage:
    """Running totals of what a policy has generated (thread-safe)."""

    requests: int = 0
    completions: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, *, requests: int = 0, completions: int = 0, prompt: int = 0, completion: int = 0, retries: int = 0):
        """Add to the running totals; safe to call from several threads at once."""
        with self._lock:
            self.requests += requests
            self.completions += completions
            self.prompt_tokens += prompt
            self.completion_tokens += completion
            self.retries += retries

    def as_dict(self) -> dict[str, int]:
        """The totals as a plain dict, for manifests and statistics."""
        return {
            "requests": self.requests,
            "completions": self.completions,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "retries": self.retries,
        }


class PolicyError(RuntimeError):
    """The engine failed to produce completions (after any retries)."""


class Policy:
    """Given a batch of conversations, return ``params.n`` completions for each, in order.

    Backends override :meth:`generate` (blocking) or :meth:`agenerate` (async), at least one; each
    default calls the other, so callers may use whichever suits them. :meth:`agenerate` of a blocking
    backend runs in a worker thread so that an event loop (the sandbox) keeps working meanwhile.
    """

    name: str = "policy"
    #: how many :meth:`agenerate` calls may usefully run at once (1 for engines that own the device)
    max_concurrent_calls: int = 1
    #: whether generation computes on this machine's CPU (and so competes with the sandbox for it)
    runs_on_cpu: bool = False
    #: whether one call for many conversations is much cheaper than several calls (local engines),
    #: so that waiting a moment to fill a batch pays; HTTP requests are independent anyway
    prefers_full_batches: bool = True

    def __init__(self) -> None:
        self.usage = Usage()
        #: called with the number of tokens generated since its last call, while a long call is still
        #: generating (from the generating thread, about twice a second), so that progress moves
        #: before a batch ends; engines that cannot tell leave it uncalled
        self.token_progress: Callable[[int], None] | None = None

    def generate(self, conversations: Sequence[Conversation], params: SamplingParams) -> list[list[Completion]]:
        """``result[i]`` holds ``params.n`` completions of ``conversations[i]``."""
        return run_coroutine_blocking(self.agenerate(conversations, params))

    async def agenerate(self, conversations: Sequence[Conversation], params: SamplingParams) -> list[list[Completion]]:
        """As :meth:`generate`, awaitable; the default runs :meth:`generate` in a worker thread, so that
        the event loop keeps working meanwhile."""
        return await asyncio.to_thread(self.generate, conversations, params)

    def close(self) -> None:
        """Release the engine's resources (models, connections). Safe to call twice."""

    async def detach_loop(self) -> None:
        """Close what is bound to the running event loop (async HTTP clients must be closed on the
        loop that used them). Call it before that loop ends; the policy stays usable."""

    def __enter__(self) -> Policy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_coroutine_blocking(coroutine: Any) -> Any:
    """Run a coroutine to completion from synchronous code, even inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as err:
            result["error"] = err

    thread = threading.Thread(target=target, name="cobalt-policy")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def require(module: str, extra: str) -> Any:
    """Import an optional dependency, or raise an ImportError naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"this feature needs the optional package '{module}', which is not installed: "
            f"{install_hint(extra)}  ({err})"
        ) from err


def as_dicts(conversation: Conversation) -> list[dict[str, str]]:
    """Messages in the plain ``{"role", "content"}`` form every engine accepts."""
    return [{"role": m.role, "content": m.content} for m in conversation]


class PolicyConfig(BaseModel):
    """Which engine and model to use, and engine-specific settings (ignored by other engines)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: Engine = Field("hf", description="hf (transformers, default), vllm (offline engine) or openai (chat API).")
    model: str = Field("", description="Model directory or hub id; for openai, the served model name.")
    # transformers
    device: str = Field("auto", description="hf: 'auto' (GPU if present), 'cpu', 'cuda', 'cuda:1', ...")
    dtype: str = Field("auto", description="hf/vllm: 'auto', 'float32', 'bfloat16' or 'float16'.")
    batch_size: int = Field(64, ge=1, description="hf: sequences per forward batch (memory bound).")
    stop_at_code_end: bool = Field(
        True,
        description="hf: end an answer right after the closing fence of its first code block (after </think> when "
        "it thinks), since the prompts ask for one block and nothing after it; off: generate to the end-of-turn token.",
    )
    drop_finished_rows: bool = Field(
        True,
        description="hf: a row that has ended leaves the running batch (Cobalt's decoding loop), so a batch costs "
        "only the rows still writing; off: transformers' generate, which steps every row until the longest ends.",
    )
    seed: int = Field(0, description="Seed of the engine's random generator.")
    trust_remote_code: bool = Field(False, description="hf/vllm: allow model code from the model directory.")
    chat_template_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra chat-template variables, e.g. {enable_thinking: true} for Qwen3."
    )
    # vLLM
    tensor_parallel_size: int = Field(1, ge=1, description="vllm: GPUs per model replica.")
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1, description="vllm: share of GPU memory to use.")
    max_model_len: int | None = Field(None, ge=1, description="vllm: context length (default: the model's).")
    # OpenAI-compatible API
    base_url: str | None = Field(None, description="openai: server URL, e.g. http://localhost:8000/v1.")
    api_key_env: str = Field("OPENAI_API_KEY", description="openai: environment variable holding the API key.")
    concurrency: int = Field(16, ge=1, description="openai: requests in flight at once.")
    max_retries: int = Field(5, ge=0, description="openai: retries of a failed request (with backoff).")
    request_timeout_s: float = Field(600.0, gt=0, description="openai: seconds before a request is abandoned.")
    n_in_request: bool = Field(
        True, description="openai: ask for n completions in one request (False: n requests, for servers without n)."
    )
