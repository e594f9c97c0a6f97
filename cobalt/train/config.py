"""``TrainConfig``: every setting of a training run, loadable from YAML, overridable from the CLI.

Defaults are the paper's recipe (docs/paper.md §2.5, docs/paper.md §A.4), so a GPU user who sets only
``model`` and ``dataset`` trains as the paper did. Named presets live in ``cobalt/presets/train/``:
``paper-8b`` (the 8B recipe on the reference's 4 × 80 GB GPUs with vLLM; ``paper-8b-8gpu`` on 8),
``paper-single-turn`` (the reference's single-turn baseline), ``one-gpu-8b-lora`` (Qwen3-8B with
LoRA on one 80 GB GPU), ``one-gpu`` (a 1.5B model on one 80 GB GPU) and ``tiny-cpu`` (the embedded
demo); their memory is worked out in docs/train.md#gpu-memory (:mod:`cobalt.train.memory`).
Precedence (:mod:`cobalt.config`): field defaults < preset < YAML file < ``--set`` options < flags.
"""

from __future__ import annotations

import difflib
import os
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cobalt.config import Settings
from cobalt.jsonl import InputError
from cobalt.sandbox.compare import ComparatorName
from cobalt.sandbox.config import Limits, RayActorCount, RewardBackend

Method = Literal["cobalt", "single_turn", "multi_turn", "verpo"]
Scheduler = Literal["constant", "constant_with_warmup", "linear", "cosine"]
ModelDtype = Literal["float32", "bfloat16", "float16", "auto"]
DEFAULT_LIMITS = Limits()

# GRPOConfig fields that Cobalt derives itself from settings of other names (the rest share their name with
# a TrainConfig setting): a `trl:` key among them would silently fight Cobalt's batch arithmetic or layout.
DERIVED_TRL_FIELDS: dict[str, str] = {
    "output_dir": "output_dir",
    "gradient_accumulation_steps": "prompts_per_update, num_generations and per_device_train_batch_size",
    "steps_per_generation": "prompts_per_step and prompts_per_update",
    "generation_batch_size": "prompts_per_step and num_generations",
    "cache_implementation": "use_cpu",
    "peft_config": "lora",
    "activation_checkpointing": "gradient_checkpointing",
    "save_strategy": "save_steps",
    "remove_unused_columns": "the method's dataset columns",
    "shuffle_dataset": "group_by_length",
    "eval_strategy": "val_every",
    "eval_steps": "val_every",
    "eval_on_start": "val_before_train",
    "num_generations_eval": "val_generations",
    "per_device_eval_batch_size": "val_generations",
}

# model_init_kwargs keys that Cobalt's own settings decide (other keys, e.g. revision, pass through).
OWNED_INIT_KWARGS = {"dtype": "model_dtype", "torch_dtype": "model_dtype", "attn_implementation": "attn_implementation"}


class LoraSettings(BaseModel):
    """LoRA adapters (``peft.LoraConfig``): rank, scale and the modules that get them."""

    model_config = ConfigDict(extra="forbid")

    r: int = Field(64, ge=1, description="LoRA rank.")
    alpha: int = Field(128, ge=1, description="LoRA scale numerator (the update is scaled by alpha / r).")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on the adapters' input (0: none, as RL recipes use).")
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        description="Modules that get adapters (every linear layer of the Qwen and Llama blocks by default; "
        "'all-linear' lets peft pick them).",
    )


class TrainConfig(Settings):
    """Every setting of ``cobalt train``: the paper's recipe by default."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    verb: ClassVar[str] = "train"

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
    seed: int = Field(
        0, description="Seed of the run: TRL's (sampling, data order) and the order of length-grouped batches."
    )

    # --- GRPO (docs/paper.md §2.5) ---------------------------------------------------------------------
    num_generations: int = Field(16, ge=2, description="Completions per prompt (rollout.n).")
    temperature: float = Field(1.0, gt=0, description="Sampling temperature of the training rollouts.")
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling mass of the training rollouts.")
    learning_rate: float = Field(1e-6, gt=0, description="Peak learning rate of the optimizer.")
    lr_scheduler_type: Scheduler = Field(
        "constant",
        description="Learning-rate schedule (TRL's lr_scheduler_type). The reference (verl) keeps the rate constant; "
        "TRL's default, linear decay to zero, would halve the mean rate over the run.",
    )
    warmup_steps: float = Field(
        0.0,
        ge=0,
        description="Linear warm-up: optimizer steps, or under 1 a share of all steps (the reference has none). "
        "Needs a schedule other than 'constant' (constant_with_warmup, linear or cosine).",
    )
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay (verl's default 0.01; TRL's is 0).")
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient clipping norm (grad_clip).")
    epsilon: float = Field(0.2, ge=0, description="Lower clip ratio.")
    epsilon_high: float = Field(0.4, ge=0, description="Upper clip ratio (clip-higher).")
    beta: float = Field(1e-4, ge=0, description="KL coefficient.")
    kl_estimator: Literal["k2", "k3"] = Field("k2", description="k2 = verl's 'mse' (the paper); k3 = TRL's own.")
    loss_type: Literal["dapo", "grpo", "bnpo", "dr_grpo"] = Field("dapo", description="dapo = token-mean, as verl.")
    scale_rewards: Literal["group", "batch", "none"] = Field("group", description="Group std scaling (the paper).")
    max_completion_length: int = Field(6144, ge=1, description="Most tokens sampled per completion (per turn online).")
    max_prompt_tokens: int = Field(10_000, ge=1, description="Longer chat-templated prompts are dropped first.")
    num_train_epochs: float = Field(2.0, gt=0, description="Passes over the dataset (total_epochs).")
    max_steps: int = Field(-1, description="Stop after this many optimizer steps (-1: run the epochs).")
    prompts_per_step: int = Field(128, ge=1, description="Prompts per generation batch (train_batch_size).")
    prompts_per_update: int = Field(64, ge=1, description="Prompts per optimizer step (ppo_mini_batch_size).")
    per_device_train_batch_size: int = Field(16, ge=1, description="Completions per micro-batch per device.")
    single_turn_prompts: Literal["bandit", "problems"] = Field(
        "bandit",
        description="single_turn: where its problem-only prompts come from. bandit: the turn-0 prompt of each "
        "problem in the bandit dataset (the problems the builder kept); problems: every problem of a problems "
        "file given as `dataset`, as the reference's single-turn script trained on its whole training file "
        "(preset paper-single-turn).",
    )
    group_by_length: bool = Field(
        False,
        description="Fill each generation batch with prompts of similar length (batches in a seeded random order) "
        "instead of shuffling prompts freely: a batch is padded to its longest prompt, and on a CPU that padding "
        "costs as much as real tokens. cobalt and single_turn only (online rollouts start from bare problems).",
    )

    # --- validation during training (the reference: verl's val_before_train and test_freq) ----------------
    val_every: int | None = Field(
        10,
        ge=1,
        description="Validate on `eval_dataset` every this many optimizer steps (the reference's test_freq=10); "
        "none: never. Validation scores with the binary reward (1 when every test passes) and is logged as eval_*.",
    )
    val_before_train: bool = Field(True, description="Validate once before the first update (the reference did).")
    val_temperature: float = Field(0.6, gt=0, description="Sampling temperature of validation (the reference's 0.6).")
    val_top_p: float = Field(0.95, gt=0, le=1, description="Nucleus sampling mass of validation (the reference's).")
    val_generations: int = Field(
        1, ge=1, description="Completions per validation prompt (the reference's val_kwargs.n default, 1)."
    )

    # --- runtime -----------------------------------------------------------------------------------
    share_prompts: bool = Field(
        True,
        description="Score each group's prompt once (its key/value cache repeated for the group's completions) "
        "instead of once per completion: same log-probabilities and gradients, forward and backward passes "
        "2.3-4.9x faster on the demo's prompts. Applies to one process without gradient checkpointing; TRL's "
        "path elsewhere (cobalt.train.prefix).",
    )
    use_cpu: bool = Field(False, description="Train on the CPU even where a GPU is present.")
    bf16: bool | Literal["auto"] = Field(
        True, description="Mixed precision. 'auto': on a GPU where supported, on a CPU where bf16 is native."
    )
    gradient_checkpointing: bool = Field(True, description="Recompute activations in the backward pass (less memory).")
    use_vllm: bool = Field(
        False, description="Generate with vLLM (TRL's integration; extra [vllm]) instead of transformers."
    )
    vllm_mode: Literal["colocate", "server"] = Field(
        "colocate", description="colocate: vLLM shares the training GPUs; server: a separate `trl vllm-serve` process."
    )
    vllm_gpu_memory_utilization: float = Field(0.3, gt=0, le=1, description="Share of GPU memory vLLM may take.")
    vllm_tensor_parallel_size: int = Field(1, ge=1, description="GPUs per vLLM model replica.")
    vllm_importance_sampling_correction: bool = Field(
        False, description="The reference (verl 0.5) had no train/inference mismatch correction; TRL's default is on."
    )
    report_to: list[str] = Field(
        default_factory=list,
        description="Logging integrations of the trainer (empty: none; metrics.jsonl is always written). "
        "tensorboard and wandb need their extras (pip install -e '.[tensorboard]' or '.[wandb]' in the checkout).",
    )
    logging_steps: int = Field(1, ge=1, description="Log metrics every this many optimizer steps.")
    save_steps: int = Field(10, ge=1, description="The reference saved every 10 steps.")
    save_total_limit: int | None = Field(
        None, ge=1, description="Checkpoints kept (the oldest are deleted); none: all."
    )

    # --- reward and sandbox (docs/paper.md §2.6, §6) -----------------------------------------------------
    require_think: bool = Field(True, description="Reasoning models: require one </think> and score think length.")
    reward_cpu_s: float = Field(
        DEFAULT_LIMITS.cpu_s, gt=0, description="CPU seconds per test when scoring completions."
    )
    reward_memory_mb: int = Field(
        DEFAULT_LIMITS.memory_mb, ge=64, description="Memory per test when scoring completions."
    )
    reward_comparator: ComparatorName = Field(
        "strip",
        description="Output comparator of the reward's sandbox for problems that name none (cobalt.sandbox.compare). "
        "strip is the reference's rule, output.strip() == expected.strip(); the sandbox's own default is lines.",
    )
    resubmission_reward: float | None = Field(
        None,
        ge=-1,
        le=1,
        description="Cobalt method only: the reward of a program that repeats the prompt's last program and fails "
        "again (the paper has no such rule: None). The improvement rule pays a resubmitted failure -0.1 and a "
        "change that passes fewer tests down to -0.2; -0.2 pays the repeat the least. An experiment: on the demo "
        "it changed neither resubmission nor the fix rate (docs/train.md).",
    )
    reward_feedback: Literal["reference", "cobalt"] = Field(
        "reference",
        description="Layout of the failed-test feedback the online baselines show between turns (the "
        "reference's fields, as in collection; cobalt: the demo's warm-up layout).",
    )
    sandbox_tier: Literal["auto", "bwrap", "process"] = Field(
        "auto",
        description="Isolation of the reward's sandbox (cobalt.sandbox): auto picks the strongest that works here; "
        "process needs sandbox_allow_unsafe (no namespaces: for containers without user namespaces).",
    )
    sandbox_allow_unsafe: bool = Field(
        False,
        description="Let the reward's sandbox run below its minimum tier (e.g. a container without user namespaces, "
        "where bubblewrap cannot start); programs are then bounded by rlimits only (docs/sandbox.md).",
    )
    sandbox_backend: RewardBackend = "local"
    sandbox_ray_actors: RayActorCount = None
    sandbox_ray_address: str | None = Field(
        None, description="The Ray cluster of the ray backend (default: RAY_ADDRESS, else a local Ray instance)."
    )
    sandbox_workers: int | None = Field(
        None,
        ge=1,
        description="Programs the reward runs at once in each training process; none: the node's cores divided by "
        "the processes on it (LOCAL_WORLD_SIZE), so the ranks together never run more programs than there are cores.",
    )

    # --- online multi-turn baselines -----------------------------------------------------------------------
    turns: int = Field(3, ge=1, description="Programs per online rollout (turn 0 plus repairs).")
    system_prompt: str | None = Field(
        None,
        description="multi_turn/verpo, and single_turn from a problems file: the system message of the prompts "
        "(default: Cobalt's); use the one the other methods' data was collected with.",
    )
    repair_template: str | None = Field(
        None,
        description="multi_turn/verpo: the user message after each attempt, with one {feedback} field (default: "
        "Cobalt's); use the one the other methods' data was collected with.",
    )
    verpo_dense_weight: float = Field(0.5, ge=0, description="Weight of VeRPO's dense per-turn reward.")

    # --- GPU memory, precision, LoRA and TRL pass-through (docs/train.md#gpu-memory) ----------------------
    model_dtype: ModelDtype = Field(
        "float32",
        description="dtype the policy (and the reference model) is loaded in. float32 is TRL's default and the "
        "only safe one for full fine-tuning without DeepSpeed: bf16 weights lose updates of lr 1e-6 to rounding. "
        "Under DeepSpeed (which keeps fp32 master weights) or with LoRA (frozen base) use bfloat16, half the memory.",
    )
    attn_implementation: str | None = Field(
        None,
        description="Attention kernel of the policy: sdpa, flash_attention_2, eager, ... (default: transformers' "
        "choice, sdpa where available).",
    )
    lora: LoraSettings | None = Field(
        None,
        description="Train LoRA adapters instead of every weight (extra [peft]); none: full fine-tuning. With LoRA "
        "no reference model is loaded (the base model without adapters is the reference).",
    )
    vllm_enable_sleep_mode: bool = Field(
        False,
        description="colocate: vLLM frees its weights and KV cache while the policy trains, so generation and "
        "training do not hold their peaks at once (costs a reload per generation batch).",
    )
    vllm_max_model_length: int | None = Field(
        None,
        ge=1,
        description="colocate: vLLM's context window (default: max_prompt_tokens + max_completion_length; the "
        "model's own, 40 960 for Qwen3, reserves KV cache that no training sequence uses).",
    )
    vllm_server_host: str = Field(
        "0.0.0.0", description="server: host of the `trl vllm-serve` process (TRL's default: this machine)."
    )
    vllm_server_port: int = Field(8000, ge=1, le=65535, description="server: port of the `trl vllm-serve` process.")
    chat_template_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra arguments of the chat template when prompts are rendered for generation, e.g. "
        "{enable_thinking: true} for Qwen3 (whose template thinks by default).",
    )
    gpus: int = Field(
        1,
        ge=1,
        description="Training GPUs this run is sized for (vLLM server GPUs not counted): what --estimate-memory "
        "assumes where no GPU is present. A launch estimates with the real count (WORLD_SIZE).",
    )
    gpu_memory_gb: float = Field(80.0, gt=0, description="Memory of one GPU, for --estimate-memory without a GPU.")
    zero_stage: Literal[0, 1, 2, 3] = Field(
        0,
        description="DeepSpeed ZeRO stage the run is launched with (0: none), for --estimate-memory; a launch reads "
        "accelerate's. cobalt/train/accelerate/zero3.yaml is stage 3.",
    )
    trl: dict[str, Any] = Field(
        default_factory=dict,
        description="Any other GRPOConfig field, passed to TRL as given (checked by name and type against TRL's "
        "GRPOConfig). Fields that a setting above decides are refused; set that setting instead.",
    )

    @field_validator("repair_template")
    @classmethod
    def _repair_template_has_its_field(cls, template: str | None) -> str | None:
        from cobalt.rollout.prompts import check_repair_template

        return template if template is None else check_repair_template(template)

    @field_validator("trl")
    @classmethod
    def _trl_fields_exist(cls, fields: dict[str, Any]) -> dict[str, Any]:
        return check_trl_fields(fields) if fields else fields

    @model_validator(mode="after")
    def _warmup_has_a_schedule(self) -> TrainConfig:
        # TRL's "constant" schedule ignores warm-up silently; say so instead of training without it.
        if self.warmup_steps and self.lr_scheduler_type == "constant":
            raise ValueError("warmup_steps needs lr_scheduler_type constant_with_warmup, linear or cosine")
        return self

    @model_validator(mode="after")
    def _batch_arithmetic(self) -> TrainConfig:
        if self.prompts_per_step % self.prompts_per_update:
            raise ValueError(
                f"prompts_per_step ({self.prompts_per_step}) must be a multiple of prompts_per_update "
                f"({self.prompts_per_update})"
            )
        return self

    # --- derived ------------------------------------------------------------------------------------------

    def vllm_context(self) -> int:
        """The context window of a colocated vLLM: ``vllm_max_model_length``, or the longest sequence
        training makes (the longest prompt kept plus a full completion). Left to the model's own,
        Qwen3's 40 960 tokens, vLLM reserves KV cache for sequences training never makes."""
        return self.vllm_max_model_length or self.max_prompt_tokens + self.max_completion_length

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


def check_trl_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` checked one by one against TRL's ``GRPOConfig``: each must be a field of it, must not
    be one that a Cobalt setting decides, and its value must have the field's type. Returns the values
    as validated: a value that converts to the field's type (``"20"`` for an int) is converted."""
    import dataclasses
    import typing

    from pydantic import TypeAdapter, ValidationError
    from trl import GRPOConfig

    known = {f.name for f in dataclasses.fields(GRPOConfig)}
    types = typing.get_type_hints(GRPOConfig)
    checked: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in known:
            near = difflib.get_close_matches(name, sorted(known), n=3)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise ValueError(f"trl.{name} is not a field of TRL's GRPOConfig{hint}")
        if name in TrainConfig.model_fields:
            raise ValueError(f"trl.{name} is a Cobalt setting: set `{name}` itself, not under trl")
        if name in DERIVED_TRL_FIELDS:
            raise ValueError(f"trl.{name} is decided by Cobalt from {DERIVED_TRL_FIELDS[name]}; set those instead")
        if name == "model_init_kwargs" and isinstance(value, dict):
            owned = sorted(set(value) & set(OWNED_INIT_KWARGS))
            if owned:
                settings = ", ".join(OWNED_INIT_KWARGS[k] for k in owned)
                raise ValueError(f"trl.model_init_kwargs.{owned[0]} is a Cobalt setting: set {settings} instead")
        try:
            checked[name] = TypeAdapter(types[name]).validate_python(value)
        except ValidationError as err:
            problem = err.errors()[0]["msg"]
            raise ValueError(f"trl.{name}={value!r} does not fit GRPOConfig's type {types[name]}: {problem}") from None
    return checked
