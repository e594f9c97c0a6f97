"""The vLLM offline backend (optional extra ``vllm``; imported only when this policy is built).

One ``vllm.LLM`` per process with tensor parallelism over ``tensor_parallel_size`` GPUs; each
conversation is one request with ``n`` samples (vLLM shares the prompt's KV cache between them), and
prefix caching is on, so the growing multi-turn histories reuse the cache of their common prefix.
The chat template is the model's own, applied by ``LLM.chat``. No per-request seed is set: with
one, identical prompts (the n trajectories of a problem) would draw identical samples.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from cobalt.rollout.policy import Completion, Conversation, Policy, PolicyConfig, SamplingParams, as_dicts, require


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
        with self._lock:
            outputs = self.llm.chat(
                [as_dicts(c) for c in conversations],
                sampling_params=self.sampling_params(params),
                use_tqdm=False,
                chat_template_kwargs=self.chat_template_kwargs or None,
            )
        results = [self._completions(output) for output in outputs]
        self.usage.add(
            requests=len(results),
            completions=sum(len(r) for r in results),
            prompt=sum((r[0].prompt_tokens or 0) * len(r) for r in results if r),
            completion=sum(c.completion_tokens or 0 for r in results for c in r),
        )
        return results

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
