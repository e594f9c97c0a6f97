"""Typed configuration of ``cobalt rollout``; its presets are ``cobalt/presets/rollout/*.yaml``.

Precedence (:mod:`cobalt.config`): field defaults < ``--preset`` < ``--config FILE.yaml`` <
``--set`` < flags. A YAML file holds the same nested keys as :class:`RolloutConfig` (``policy:``,
``sampling:``, ``sandbox:``, top-level ``turns:``...). Prompts are not configuration: they are typed
Python in :mod:`cobalt.rollout.prompts`, so that a run is never silently scored under different
wording.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cobalt.config import Settings, same_setting
from cobalt.records import Condition
from cobalt.rollout.policy import PolicyConfig, SamplingParams
from cobalt.rollout.prompts import MAX_TURN_CHARS, REPAIR_TEMPLATE, SYSTEM_PROMPT, check_repair_template
from cobalt.sandbox import Limits, SandboxConfig
from cobalt.sandbox.compare import ComparatorName
from cobalt.sandbox.feedback import FeedbackStyle


class SandboxSettings(BaseModel):
    """The executor settings a rollout exposes (docs/paper.md §6: 4 s CPU and 1 GB per test; the
    reference's output comparison and feedback fields)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cpu_s: float = same_setting(Limits, "cpu_s")
    memory_mb: int = same_setting(Limits, "memory_mb")
    comparator: ComparatorName = Field(
        "strip",
        description="Output comparator for problems that name none: 'strip' (the reference's stripped-text "
        "equality), 'lines', 'tokens', ... (cobalt.sandbox.compare).",
    )
    feedback: FeedbackStyle = Field(
        "reference",
        description="Failed-test feedback layout: 'reference' (the reference's fields per verdict) or 'cobalt' "
        "(this project's earlier layout; cobalt.sandbox.feedback).",
    )
    workers: int | None = Field(None, ge=1, description="Programs run at once (default: cores / local processes).")
    tier: Literal["auto", "bwrap", "process"] = same_setting(SandboxConfig, "tier")
    allow_unsafe: bool = same_setting(SandboxConfig, "allow_unsafe")
    backend: Literal["local", "ray"] = same_setting(SandboxConfig, "backend")
    ray_address: str | None = same_setting(SandboxConfig, "ray_address")
    ray_actors: int | None = same_setting(SandboxConfig, "ray_actors")

    def to_sandbox_config(self) -> SandboxConfig:
        """The executor configuration these settings describe (the executor's default ``workers`` when unset)."""
        extra = {"workers": self.workers} if self.workers else {}
        return SandboxConfig(
            limits=Limits(cpu_s=self.cpu_s, memory_mb=self.memory_mb),
            tier=self.tier,
            allow_unsafe=self.allow_unsafe,
            comparator=self.comparator,
            feedback=self.feedback,
            backend=self.backend,
            ray_address=self.ray_address,
            ray_actors=self.ray_actors,
            **extra,
        )


class RolloutConfig(Settings):
    """Everything that decides what a rollout produces. Defaults: the paper's evaluation protocol."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    verb: ClassVar[str] = "rollout"

    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    sampling: SamplingParams = Field(default_factory=SamplingParams)
    turns: int = Field(
        8, ge=0, description="Refinement turns after the first attempt: 8 to evaluate, 2 to collect training data."
    )
    condition: Condition = Field(
        "original",
        description="Public tests the policy runs on: original, or perturbed (each problem's meta.perturbation, "
        "from cobalt data perturb; the hidden tests stay the same).",
    )
    turn0_from: str | None = Field(
        None, description="A previous run whose turn-0 answers are reused (same problem ids, samples 0..n-1)."
    )
    system_prompt: str = Field(
        SYSTEM_PROMPT,
        description="The system message (default: Cobalt's, stating the sandbox rules). Small models trained from "
        "scratch use a shorter one or none (''); it is part of the run's identity, so a resumed run cannot change it.",
    )
    repair_template: str = Field(
        REPAIR_TEMPLATE,
        description="The user message after each attempt, with one {feedback} field (default: Cobalt's). Small "
        "models trained from scratch use a shorter one; part of the run's identity, like the system prompt.",
    )
    reasoning: bool = Field(False, description="Drop everything up to </think> from the history; cap stored turns.")
    max_turn_chars: int = Field(MAX_TURN_CHARS, ge=1, description="With reasoning: characters kept per stored turn.")
    score_hidden: bool = Field(True, description="Score every turn's program on the hidden tests while collecting.")
    generation_batch: int = Field(64, ge=1, description="Most sequences (prompts x n) handed to one generate call.")
    batch_wait_s: float = Field(
        2.0, ge=0, description="Longest a generate call waits for trajectories still running tests to join its batch."
    )
    defer_hidden_during_generation: bool | None = Field(
        None,
        description="Hold hidden-test scoring back while the model generates (default: when the model runs on "
        "the CPU, where both would compete for the same cores).",
    )
    max_active_problems: int | None = Field(
        None, ge=1, description="Problems in flight at once (default: enough for two generation batches)."
    )
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)

    _repair_template_has_its_field = field_validator("repair_template")(check_repair_template)

    def active_problems(self) -> int:
        """Problems in flight at once: ``max_active_problems``, or by default enough trajectories to fill two
        generation batches (at least 2 problems)."""
        if self.max_active_problems is not None:
            return self.max_active_problems
        return max(2, -(-2 * self.generation_batch // self.sampling.n))

    def identity(self) -> dict[str, Any]:
        """The settings that decide the content of the output: a run may only be resumed with the
        same values (engine throughput settings such as batch sizes may change)."""
        return {
            "policy.engine": self.policy.engine,
            "policy.model": self.policy.model,
            "policy.chat_template_kwargs": self.policy.chat_template_kwargs,
            "policy.stop_at_code_end": self.policy.stop_at_code_end if self.policy.engine == "hf" else None,
            "sampling.n": self.sampling.n,
            "sampling.temperature": self.sampling.temperature,
            "sampling.top_p": self.sampling.top_p,
            "sampling.max_new_tokens": self.sampling.max_new_tokens,
            "turns": self.turns,
            "condition": self.condition,
            "turn0_from": self.turn0_from,
            "system_prompt": self.system_prompt,
            "repair_template": self.repair_template,
            "reasoning": self.reasoning,
            "max_turn_chars": self.max_turn_chars if self.reasoning else None,
            "score_hidden": self.score_hidden,
            "sandbox.cpu_s": self.sandbox.cpu_s,
            "sandbox.memory_mb": self.sandbox.memory_mb,
            "sandbox.comparator": self.sandbox.comparator,
            "sandbox.feedback": self.sandbox.feedback,
        }
