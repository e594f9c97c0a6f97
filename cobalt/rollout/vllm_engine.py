"""The vLLM offline backend (optional extra ``vllm``; imported only when this policy is built).

One ``vllm.LLM`` per process with tensor parallelism over ``tensor_parallel_size`` GPUs; each
conversation is one request with ``n`` samples (vLLM shares the prompt's KV cache between them), and
prefix caching is on, so the growing multi-turn histories reuse the cache of their common prefix.
The chat template is the model's own, applied by ``LLM.chat``. No per-request seed is set: with
one, identical prompts (the n trajectories of a problem) would draw identical samples.

vLLM refuses a whole ``chat`` call when one prompt leaves no room in the context window, so each
conversation's rendered prompt is measured first (:func:`over_length`): one too long for the
window gets ``n`` empty completions marked ``finish_reason="prompt_too_long"`` (no program, so its
trajectory goes on with the no-code feedback, or ends), is counted in ``skipped_prompts`` and
logged, and the rest of the batch is generated as usual.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from cobalt.rollout.policy import Completion, Conversation, Policy, PolicyConfig, SamplingParams, as_dicts, require

log = logging.getLogger(__name__)

PROMPT_TOO_LONG = "prompt_too_long"  # finish_reason of the completions of a conversation vLLM could not take


def over_length(prompt_tokens: Sequence[int], max_model_len: int | None) -> list[bool]:
    """Which prompts vLLM would refuse: those that leave no room for one new token in a context of
    ``max_model_len`` tokens (none when the window is unknown)."""
    if max_model_len is None:
        return [False] * len(prompt_tokens)
    return [length >= max_model_len for length in prompt_tokens]


class VLLMPolicy(Policy):
    """Sampling with ``vllm.LLM.chat``."""

    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        dtype: str = "auto",
        seed: int = 0,
        trust_remote_code: bool = False,
        chat_template_kwargs: dict[str, Any] | None = None,
    ):
        super().__init__()
        self._vllm = require("vllm", extra="vllm")
        engine_args: dict[str, Any] = {
            "model": model,
            "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "dtype": dtype,
            "seed": seed,
            "trust_remote_code": trust_remote_code,
            "enable_prefix_caching": True,
        }
        if max_model_len is not None:
            engine_args["max_model_len"] = max_model_len
        self.llm = self._vllm.LLM(**engine_args)
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self._lock = threading.Lock()  # LLM.chat is not re-entrant
        self.skipped_prompts = 0  #: conversations answered with empty completions for being too long

    @classmethod
    def from_config(cls, config: PolicyConfig) -> VLLMPolicy:
        """The policy a :class:`PolicyConfig` describes (its vllm settings; the other engines' are ignored)."""
        return cls(
            config.model,
            tensor_parallel_size=config.tensor_parallel_size,
            gpu_memory_utilization=config.gpu_memory_utilization,
            max_model_len=config.max_model_len,
            dtype=config.dtype,
            seed=config.seed,
            trust_remote_code=config.trust_remote_code,
            chat_template_kwargs=config.chat_template_kwargs,
        )

    def sampling_params(self, params: SamplingParams) -> Any:
        """The ``vllm.SamplingParams`` of ``params``; top-p is switched off (1.0) for greedy decoding."""
        return self._vllm.SamplingParams(
            n=params.n,
            temperature=params.temperature,
            top_p=params.top_p if params.temperature > 0 else 1.0,
            max_tokens=params.max_new_tokens,
        )

    def generate(self, conversations: Sequence[Conversation], params: SamplingParams) -> list[list[Completion]]:
        """``params.n`` completions per conversation, in order, from one ``LLM.chat`` call (one call at a
        time)."""
        messages = [as_dicts(c) for c in conversations]
        limit = self.max_model_len()
        lengths = self.prompt_tokens(messages) if limit is not None else [0] * len(messages)
        skip = over_length(lengths, limit)
        kept = [m for m, too_long in zip(messages, skip) if not too_long]
        outputs: list[Any] = []
        if kept:
            with self._lock:
                outputs = self.llm.chat(
                    kept,
                    sampling_params=self.sampling_params(params),
                    use_tqdm=False,
                    chat_template_kwargs=self.chat_template_kwargs or None,
                )
        done = [self._completions(output) for output in outputs]
        generated = iter(done)
        results = [
            [Completion("", 0, length, PROMPT_TOO_LONG) for _ in range(params.n)] if too_long else next(generated)
            for length, too_long in zip(lengths, skip)
        ]
        if any(skip):
            self.skipped_prompts += sum(skip)
            log.warning(
                "%d of %d conversations are longer than vLLM's context of %s tokens (longest %d): answered "
                "with empty completions (finish_reason %s); the rest of the batch was generated",
                sum(skip),
                len(skip),
                limit,
                max(length for length, too_long in zip(lengths, skip) if too_long),
                PROMPT_TOO_LONG,
            )
        self.usage.add(  # what vLLM generated: skipped conversations cost nothing
            requests=len(done),
            completions=sum(len(r) for r in done),
            prompt=sum((r[0].prompt_tokens or 0) * len(r) for r in done if r),
            completion=sum(c.completion_tokens or 0 for r in done for c in r),
        )
        return results

    def max_model_len(self) -> int | None:
        """The engine's context window in tokens (None where this vLLM does not say)."""
        try:
            return int(self.llm.llm_engine.model_config.max_model_len)
        except (AttributeError, TypeError, ValueError):
            return None

    def prompt_tokens(self, conversations: Sequence[list[dict[str, str]]]) -> list[int]:
        """Tokens of each conversation's prompt as ``LLM.chat`` renders it (the model's chat template
        with the generation prompt and ``chat_template_kwargs``)."""
        tokenizer = self.llm.get_tokenizer()
        lengths = []
        for messages in conversations:
            text = tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True, **self.chat_template_kwargs
            )
            lengths.append(len(tokenizer(text, add_special_tokens=False)["input_ids"]))
        return lengths

    @staticmethod
    def _completions(output: Any) -> list[Completion]:
        prompt_tokens = len(output.prompt_token_ids or [])
        return [
            Completion(
                text=sample.text,
                completion_tokens=len(sample.token_ids),
                prompt_tokens=prompt_tokens,
                finish_reason=sample.finish_reason,
            )
            for sample in output.outputs
        ]

    def close(self) -> None:
        """Drop the engine so that its memory can be freed; the policy cannot generate afterwards."""
        self.llm = None
