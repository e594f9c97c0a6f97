"""Typed configuration of ``cobalt evaluate`` (defaults < ``--config FILE.yaml`` < ``--set`` < flags)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from cobalt.config import Settings, same_setting
from cobalt.sandbox.compare import ComparatorName
from cobalt.sandbox.config import Limits, SandboxConfig


class EvaluateConfig(Settings):
    """What to report about a run, where to put it, and how to score a run collected without scores."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    verb: ClassVar[str] = "evaluate"

    ks: list[int] | None = Field(None, description="The k of pass@k (default 1, 2, 4, ... up to the samples).")
    compare: list[str] = Field(default_factory=list, description="Other run files to report and plot alongside.")
    plot: str | None = Field(None, description="Where to save the Pass@1-per-turn PNG (none by default).")
    json_out: str | None = Field(None, description="Where to save the JSON summary (default RUN.eval.json).")
    title: str | None = Field(None, description="Title of the plot.")
    problems: str | None = Field(
        None, description="The problems file, to score the programs of a run collected with --no-hidden."
    )
    scored_out: str | None = Field(None, description="Where scored trajectories go (default RUN.scored.jsonl).")
    comparator: ComparatorName | None = Field(
        None,
        description="Output comparator when scoring, for problems that name none (default: the one the run "
        "was collected with, from its manifest; strip, the reference's, without one).",
    )
    cpu_s: float = same_setting(Limits, "cpu_s")
    allow_unsafe: bool = same_setting(SandboxConfig, "allow_unsafe")
    backend: Literal["local", "ray"] = same_setting(SandboxConfig, "backend")
    ray_address: str | None = same_setting(SandboxConfig, "ray_address")
    ray_actors: int | None = same_setting(SandboxConfig, "ray_actors")
