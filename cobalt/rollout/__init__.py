"""``cobalt.rollout``: policies, and multi-turn trajectories with execution feedback.

The only stage that talks to language models. :class:`Policy` is the one interface (a batch of
conversations in, ``n`` completions each out) with three backends built by :func:`make_policy`:
``hf`` (transformers, default), ``vllm`` (offline engine, extra ``vllm``) and ``openai`` (any
OpenAI-compatible server, extra ``openai``). :func:`collect` runs the multi-turn protocol of the
paper (docs/paper.md §2.1, §6) and appends :class:`~cobalt.records.Trajectory` records to a resumable
JSONL file; ``turns=0`` is single-turn sampling.

Guarantees: every written trajectory has ``turns + 1`` turns, each with its public result and the
feedback sent after it, and (by default) its hidden-test score; a run killed at any moment loses at
most the trajectories in flight; a restarted run never duplicates one. Non-guarantees: outputs are
not bit-reproducible across runs (batch composition depends on timing, and sampling on the batch).

Differences from the reference release are listed in :mod:`cobalt.rollout.collect` and
``docs/rollout.md``. Importing this package loads no engine; engines load in :func:`make_policy`.
"""

from cobalt.rollout.collect import (
    Attempt,
    RolloutStats,
    Turn0Source,
    collect,
    finished_keys,
    pending_work,
    run_rollout,
    trajectory_key,
)
from cobalt.rollout.config import RolloutConfig, SandboxSettings
from cobalt.rollout.engines import make_policy
from cobalt.rollout.policy import Completion, Policy, PolicyConfig, PolicyError, SamplingParams, Usage
from cobalt.rollout.prompts import (
    NO_CODE_FEEDBACK,
    REPAIR_TEMPLATE,
    SYSTEM_PROMPT,
    execution_feedback,
    extract_code,
    initial_messages,
    repair_message,
    visible_answer,
)

__all__ = [
    "NO_CODE_FEEDBACK",
    "REPAIR_TEMPLATE",
    "SYSTEM_PROMPT",
    "Attempt",
    "Completion",
    "Policy",
    "PolicyConfig",
    "PolicyError",
    "RolloutConfig",
    "RolloutStats",
    "SamplingParams",
    "SandboxSettings",
    "Turn0Source",
    "Usage",
    "collect",
    "execution_feedback",
    "extract_code",
    "finished_keys",
    "initial_messages",
    "make_policy",
    "pending_work",
    "repair_message",
    "run_rollout",
    "trajectory_key",
    "visible_answer",
]
