"""The table of engines: :func:`make_policy` builds the :class:`~cobalt.rollout.policy.Policy` a
:class:`~cobalt.rollout.policy.PolicyConfig` names. Each backend is imported here, when it is asked
for, so that importing :mod:`cobalt.rollout` loads no engine, and the backends depend on the
interface module (:mod:`cobalt.rollout.policy`) without it depending on them.
"""

from __future__ import annotations

from cobalt.rollout.policy import Policy, PolicyConfig


def make_policy(config: PolicyConfig) -> Policy:
    """Build the backend ``config.engine`` names (heavy imports happen here, not at import time)."""
    if not config.model:
        raise ValueError("no model given (--model)")
    if config.engine == "hf":
        from cobalt.rollout.hf import TransformersPolicy

        return TransformersPolicy.from_config(config)
    if config.engine == "vllm":
        from cobalt.rollout.vllm_engine import VLLMPolicy

        return VLLMPolicy.from_config(config)
    if config.engine == "openai":
        from cobalt.rollout.openai_api import OpenAIPolicy

        return OpenAIPolicy.from_config(config)
    raise ValueError(f"unknown engine {config.engine!r}")
