"""Typed configuration of ``cobalt rollout`` and its named presets.

Precedence: field defaults < ``--preset`` < ``--config FILE.yaml`` < command-line flags. A YAML file
holds the same nested keys as :class:`RolloutConfig` (``policy:``, ``sampling:``, ``sandbox:``,
top-level ``turns:``...). Prompts are not configuration: they are typed Python in
:mod:`cobalt.rollout.prompts`, so that a run is never silently scored under different wording.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from cobalt.jsonl import InputError, validate
from cobalt.records import Condition
from cobalt.rollout.policy import PolicyConfig, SamplingParams
from cobalt.rollout.prompts import MAX_TURN_CHARS, REPAIR_TEMPLATE, SYSTEM_PROMPT, check_repair_template
from cobalt.sandbox import Limits, SandboxConfig

Model = TypeVar("Model", bound=BaseModel)


class SandboxSettings(BaseModel):
    """The executor settings a rollout exposes (paper-notes §6: 4 s CPU and 1 GB per test)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cpu_s: float = Field(4.0, gt=0, description="CPU seconds per test.")
    memory_mb: int = Field(1024, ge=32, description="Memory per test.")
    workers: int | None = Field(None, ge=1, description="Programs run at once (default: the cores).")
    tier: str = Field("auto", description="Isolation tier: auto, bwrap or process.")
    allow_unsafe: bool = Field(False, description="Accept weaker isolation when bwrap is unavailable.")

    def to_sandbox_config(self) -> SandboxConfig:
        extra = {"workers": self.workers} if self.workers else {}
        return SandboxConfig(
            limits=Limits(cpu_s=self.cpu_s, memory_mb=self.memory_mb),
            tier=self.tier,  # type: ignore[arg-type]
            allow_unsafe=self.allow_unsafe,
            **extra,
        )


class RolloutConfig(BaseModel):
    """Everything that decides what a rollout produces. Defaults: the paper's evaluation protocol."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    sampling: SamplingParams = Field(default_factory=SamplingParams)
    turns: int = Field(
        8, ge=0, description="Refinement turns after the first attempt: 8 to evaluate, 2 to collect training data."
    )
    condition: Condition = Field("original", description="Label of the public tests used: original or perturbed.")
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
        }


# Named presets (paper-notes §2.1 collection, §4 sampling, §6 evaluation). "tiny-cpu" is the scale
# of the CPU demo: a few samples of a few dozen tokens from the tiny local model, short limits.
PRESETS: dict[str, dict[str, Any]] = {
    "paper-eval": {
        "turns": 8,
        "sampling": {"n": 16, "temperature": 0.6, "top_p": 0.95, "max_new_tokens": 6144},
        "sandbox": {"cpu_s": 4.0, "memory_mb": 1024},
    },
    "paper-collect": {
        "turns": 2,
        "sampling": {"n": 16, "temperature": 0.6, "top_p": 0.95, "max_new_tokens": 6144},
        "sandbox": {"cpu_s": 4.0, "memory_mb": 1024},
    },
    "paper-eval-thinking": {
        "turns": 8,
        "reasoning": True,
        "max_turn_chars": MAX_TURN_CHARS,
        "policy": {"chat_template_kwargs": {"enable_thinking": True}},
        "sampling": {"n": 16, "temperature": 0.6, "top_p": 0.95, "max_new_tokens": 6144},
        "sandbox": {"cpu_s": 4.0, "memory_mb": 1024},
    },
    "tiny-cpu": {
        "turns": 2,
        "policy": {"engine": "hf", "device": "cpu", "batch_size": 256},
        "sampling": {"n": 4, "temperature": 0.6, "top_p": 0.95, "max_new_tokens": 96},
        "generation_batch": 256,
        "sandbox": {"cpu_s": 1.0, "memory_mb": 512},
    },
}


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``update``, recursing into nested mappings (neither is modified)."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def nest(dotted: dict[str, Any]) -> dict[str, Any]:
    """``{"sampling.n": 4}`` -> ``{"sampling": {"n": 4}}``; None values (flags not given) are left out."""
    nested: dict[str, Any] = {}
    for key, value in dotted.items():
        if value is None:
            continue
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """A YAML mapping, with parse errors reported by file and line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(path, f"invalid YAML ({getattr(err, 'problem', None) or err})", line=line) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(path, f"expected a mapping of settings, got {type(data).__name__}")
    return data


def build_config(
    model: type[Model],
    *,
    presets: dict[str, dict[str, Any]] | None = None,
    preset: str | None = None,
    yaml_path: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
) -> Model:
    """Defaults < preset < YAML file < ``overrides`` (dotted keys), validated at each source so that
    an error names where the bad value came from."""
    data: dict[str, Any] = {}
    if preset is not None:
        if not presets or preset not in presets:
            known = ", ".join(sorted(presets or {})) or "none"
            raise InputError("--preset", f"unknown preset {preset!r}; choose from {known}")
        data = deep_merge(data, presets[preset])
    if yaml_path is not None:
        data = deep_merge(data, read_yaml(yaml_path))
        validate(model, data, yaml_path)
    data = deep_merge(data, nest(overrides or {}))
    return validate(model, data, "command line")
