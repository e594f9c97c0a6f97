"""Settings of ``cobalt demo``: the scale of every stage of the embedded demo, and its warm-up.

The defaults are the demo as measured in docs/train.md; a run directory remembers the settings it
was started with (``demo-config.json``) and refuses to resume under others, except for more seeds.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from cobalt.config import Settings


class WarmupConfig(BaseModel):
    """The supervised warm-up of the tiny model (:mod:`cobalt.demo.warmup`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    repair_fraction: float = Field(
        0.3, ge=0, le=1, description="Share of problems that also get a repair example (a wrong program + feedback)."
    )
    keep_fraction: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of problems that also get a 'keep the correct program' example: none, so that keeping "
        "is what RL teaches (cobalt.demo.warmup).",
    )
    repair_skip_kinds: tuple[str, ...] = Field(
        (),
        description="Kinds of stored wrong programs (cobalt.data.bundled) never shown in a repair example, so that "
        "repairing them is left to RL.",
    )
    epochs: float = Field(4.0, gt=0, description="Passes over the warm-up examples.")
    learning_rate: float = Field(2e-3, gt=0, description="Peak learning rate (cosine schedule).")
    batch_size: int = Field(16, ge=1, description="Examples per optimizer step.")
    max_length: int = Field(1024, ge=1, description="Longest example in tokens.")
    seed: int = Field(0, description="Seed of the example draw and of the trainer.")
    skip_held_out_combinations: bool = Field(
        False,
        description="Leave the suite's held-out third of the combinations out of the supervised data, so that only "
        "RL can teach them (the RL and test problems still cover them). Off in the demo: see docs/train.md.",
    )


class DemoConfig(Settings):
    """The embedded demo, stage by stage (:class:`cobalt.demo.pipeline.DemoRun`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    verb: ClassVar[str] = "demo"

    seed: int = Field(0, description="Seed of the problems, the warm-up draw, the collection and the bandit data.")
    train_problems: int = Field(4000, ge=1, description="Problems of the supervised warm-up.")
    rl_problems: int = Field(
        200, ge=1, description="Problems trajectories are collected on (a separate part of the train split)."
    )
    test_problems: int = Field(200, ge=1, description="Held-out problems: never seen in training, in any phrasing.")
    warmup: WarmupConfig = Field(default_factory=WarmupConfig)
    collect_samples: int = Field(4, ge=1, description="Trajectories collected per RL problem.")
    collect_turns: int = Field(
        1, ge=0, description="Refinement turns when collecting (the paper: 2; see docs/train.md)."
    )
    perturbed_ratio: float = Field(
        0.25, ge=0, description="Perturbed prompts per original one (cobalt_perturbed only)."
    )
    eval_samples: int = Field(
        4,
        ge=1,
        description="Samples per held-out problem: the tiny model's problems are nearly pass-or-fail, and 2 samples "
        "left about 2 points of noise.",
    )
    eval_turns: int = Field(1, ge=0, description="Refinement turns when evaluating.")
    train_seeds: tuple[int, ...] = Field((0, 1), min_length=1, description="Training seeds; their spread is reported.")
    train_steps: int = Field(
        36,
        ge=1,
        description="GRPO updates per training run, the same for every method. With groups of 16, 24 left one seed "
        "in six without the keep behaviour and one half-way, and 36 rescued both (docs/train.md).",
    )
    grpo_overrides: dict[str, Any] = Field(
        default_factory=dict, description="TrainConfig settings over the tiny-cpu preset, for every training run."
    )
    max_new_tokens: int = Field(96, ge=1, description="Most tokens per answer, in collection, training and evaluation.")
    numerics: Literal["portable", "native"] = Field(
        "portable",
        description="portable: float32 on PyTorch's and MKL's AVX2 kernels, so that every x86-64 machine trains "
        "the same models (cobalt.hardware; the warm-up takes about 1.3x as long); native: the CPU's widest "
        "kernels and bf16 where it has it (faster, but the models depend on the machine).",
    )
