"""``TrainConfig``: every setting of a training run, loadable from YAML, overridable from the CLI.

Defaults are the paper's recipe (paper-notes §2.5, engines.md §E.4), so a GPU user who sets only
``model`` and ``dataset`` trains as the paper did. Named presets live in ``cobalt/train/configs/``:
``paper-8b`` (the 8B recipe on 8 GPUs with vLLM), ``one-gpu`` (a small model on one GPU) and
``tiny-cpu`` (the embedded demo). Precedence: field defaults < preset/YAML file < ``--set`` options.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cobalt.jsonl import InputError, validate

PRESETS = Path(__file__).with_name("configs")
Method = Literal["cobalt", "single_turn", "multi_turn", "verpo"]


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # --- what to train ---------------------------------------------------------------------------
    model: str = Field("", description="Local model directory or hub id of the policy to train.")
    dataset: str = Field(
        "", description="Bandit dataset (JSONL/parquet of BanditExample); for multi_turn/verpo, a problems JSONL."
    )
    eval_dataset: str | None = Field(None, description="Optional validation set, same format as `dataset`.")
    output_dir: str = Field("runs/train", description="Checkpoints (Hugging Face model directories) and logs.")
    method: Method = Field(
        "cobalt",
        description="cobalt: GRPO on partial trajectories; single_turn: problem-only prompts; multi_turn: online "
        "multi-turn GRPO; verpo: multi_turn with VeRPO's dense per-turn reward.",
    )
    seed: int = 0

    # --- GRPO (paper-notes §2.5) ---------------------------------------------------------------------
    num_generations: int = Field(16, ge=2, description="Completions per prompt (rollout.n).")
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    learning_rate: float = Field(1e-6, gt=0)
    max_grad_norm: float = Field(1.0, gt=0)
    epsilon: float = Field(0.2, ge=0, description="Lower clip ratio.")
    epsilon_high: float = Field(0.4, ge=0, description="Upper clip ratio (clip-higher).")
    beta: float = Field(1e-4, ge=0, description="KL coefficient.")
    kl_estimator: Literal["k2", "k3"] = Field("k2", description="k2 = verl's 'mse' (the paper); k3 = TRL's own.")
    loss_type: Literal["dapo", "grpo", "bnpo", "dr_grpo"] = Field("dapo", description="dapo = token-mean, as verl.")
    scale_rewards: Literal["group", "batch", "none"] = Field("group", description="Group std scaling (the paper).")
    max_completion_length: int = Field(6144, ge=1)
    max_prompt_tokens: int = Field(10_000, ge=1, description="Longer chat-templated prompts are dropped first.")
    num_train_epochs: float = Field(2.0, gt=0)
    max_steps: int = Field(-1, description="Stop after this many optimizer steps (-1: run the epochs).")
    prompts_per_step: int = Field(128, ge=1, description="Prompts per generation batch (train_batch_size).")
    prompts_per_update: int = Field(64, ge=1, description="Prompts per optimizer step (ppo_mini_batch_size).")
    per_device_train_batch_size: int = Field(16, ge=1, description="Completions per micro-batch per device.")
    group_by_length: bool = Field(
        False,
        description="Fill each generation batch with prompts of similar length (batches in a seeded random order) "
        "instead of shuffling prompts freely: a batch is padded to its longest prompt, and on a CPU that padding "
        "costs as much as real tokens. cobalt and single_turn only (online rollouts start from bare problems).",
    )

    # --- runtime -----------------------------------------------------------------------------------
    share_prompts: bool = Field(
        True,
        description="Score each group's prompt once (its key/value cache repeated for the group's completions) "
        "instead of once per completion: same log-probabilities and gradients, forward and backward passes "
        "2.3-4.9x faster on the demo's prompts. Applies to one process without gradient checkpointing; TRL's "
        "path elsewhere (cobalt.train.prefix).",
    )
    use_cpu: bool = False
    bf16: bool | Literal["auto"] = Field(
        True, description="Mixed precision. 'auto': on a GPU where supported, on a CPU where bf16 is native."
    )
    gradient_checkpointing: bool = True
    use_vllm: bool = False
    vllm_mode: Literal["colocate", "server"] = "colocate"
    vllm_gpu_memory_utilization: float = Field(0.3, gt=0, le=1)
    vllm_tensor_parallel_size: int = Field(1, ge=1)
    vllm_importance_sampling_correction: bool = Field(
        False, description="The reference (verl 0.5) had no train/inference mismatch correction; TRL's default is on."
    )
    report_to: list[str] = Field(default_factory=lambda: ["tensorboard"])
    logging_steps: int = Field(1, ge=1)
    save_steps: int = Field(10, ge=1, description="The reference saved every 10 steps.")
    save_total_limit: int | None = None

    # --- reward and sandbox (paper-notes §2.6, §6) -----------------------------------------------------
    require_think: bool = Field(True, description="Reasoning models: require one </think> and score think length.")
    reward_cpu_s: float = Field(4.0, gt=0, description="CPU seconds per test when scoring completions.")
    reward_memory_mb: int = Field(1024, ge=64)

    # --- online multi-turn baselines -----------------------------------------------------------------------
    turns: int = Field(3, ge=1, description="Programs per online rollout (turn 0 plus repairs).")
    system_prompt: str | None = Field(
        None,
        description="multi_turn/verpo: the system message of the online prompts (default: Cobalt's); use the one "
        "the other methods' data was collected with.",
    )
    repair_template: str | None = Field(
        None,
        description="multi_turn/verpo: the user message after each attempt, with one {feedback} field (default: "
        "Cobalt's); use the one the other methods' data was collected with.",
    )
    verpo_dense_weight: float = Field(0.5, ge=0, description="Weight of VeRPO's dense per-turn reward.")

    @field_validator("repair_template")
    @classmethod
    def _repair_template_has_its_field(cls, template: str | None) -> str | None:
        from cobalt.rollout.prompts import check_repair_template

        return template if template is None else check_repair_template(template)

    @model_validator(mode="after")
    def _batch_arithmetic(self) -> TrainConfig:
        if self.prompts_per_step % self.prompts_per_update:
            raise ValueError(
                f"prompts_per_step ({self.prompts_per_step}) must be a multiple of prompts_per_update "
                f"({self.prompts_per_update})"
            )
        return self

    # --- derived ------------------------------------------------------------------------------------------

    def batch_plan(self, world_size: int | None = None) -> dict[str, int]:
        """TRL's batch settings for this run: ``per_device_train_batch_size`` counts completions, a
        generation batch holds ``prompts_per_step × num_generations`` completions and feeds
        ``prompts_per_step / prompts_per_update`` optimizer steps."""
        world = world_size or int(os.environ.get("WORLD_SIZE", "1"))
        per_update = self.prompts_per_update * self.num_generations
        micro = self.per_device_train_batch_size * world
        if per_update % micro:
            raise InputError(
                "config",
                f"prompts_per_update × num_generations = {per_update} completions per optimizer step is not a "
                f"multiple of per_device_train_batch_size × world size = {micro}",
                field="per_device_train_batch_size",
            )
        accumulation = per_update // micro
        return {
            "gradient_accumulation_steps": accumulation,
            "steps_per_generation": accumulation * (self.prompts_per_step // self.prompts_per_update),
        }

    # --- loading --------------------------------------------------------------------------------------------

    @classmethod
    def load(cls, source: str | None = None, overrides: list[str] | None = None) -> TrainConfig:
        """A preset name or YAML path, then ``key=value`` overrides (values parsed as YAML)."""
        data: dict[str, Any] = {}
        if source:
            data = read_yaml(resolve_preset(source))
            validate(cls, data, source)  # a bad file is reported as the file's fault ...
        for item in overrides or []:
            key, sep, value = item.partition("=")
            if not sep or key not in cls.model_fields:
                raise InputError("--set", f"{item!r} is not KEY=VALUE with KEY a TrainConfig field")
            data[key] = yaml.safe_load(value)
        return validate(cls, data, "--set" if overrides else source or "--set")  # ... a bad override as --set's

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(), sort_keys=False)


def resolve_preset(source: str) -> Path:
    path = Path(source)
    if path.is_file():
        return path
    preset = PRESETS / f"{source}.yaml"
    if preset.is_file():
        return preset
    names = ", ".join(sorted(p.stem for p in PRESETS.glob("*.yaml")))
    raise InputError(source, f"no such file or preset (presets: {names})")


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise InputError(path, f"invalid YAML ({err})", line=mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        raise InputError(path, "a training config must be a mapping of settings")
    unknown = sorted(set(data) - set(TrainConfig.model_fields))
    if unknown:
        raise InputError(path, "unknown setting(s): " + ", ".join(unknown), field=unknown[0])
    return data
