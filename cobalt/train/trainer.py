"""The one GRPO trainer builder: every training method is a row of :data:`METHODS`.

All four methods train with TRL's ``GRPOTrainer`` under the same optimiser, clipping, KL, batch
arithmetic, precision and checkpointing (:func:`grpo_args`); they differ only in what a row of
:data:`METHODS` brings:

=============== ================================== ============================== ================
method          rows (from ``dataset``)            reward                         rollout
=============== ================================== ============================== ================
``cobalt``      bandit dataset, partial prompts    Cobalt reward (improvement)    TRL's, one turn
``single_turn`` bandit dataset, turn-0 prompts     Cobalt reward, no improvement  TRL's, one turn
``multi_turn``  problems, one prompt each          final program's reward         multi-turn
``verpo``       problems, one prompt each          + VeRPO's dense per-turn term  multi-turn
=============== ================================== ============================== ================

The methods live in :mod:`cobalt.train.cobalt` and :mod:`cobalt.train.baselines`; this module
imports them, never the reverse, so there is no import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cobalt.config import install_hint
from cobalt.hardware import cpu_has_fast_bf16
from cobalt.jsonl import InputError
from cobalt.tokenizer import load_tokenizer
from cobalt.train.baselines.online import multi_turn_reward, multi_turn_rollout, problem_rows, verpo_reward
from cobalt.train.baselines.single_turn import single_turn_reward, single_turn_rows
from cobalt.train.cobalt import bandit_rows, cobalt_reward, length_grouped
from cobalt.train.config import TrainConfig
from cobalt.train.validation import ValidationMixin, validation_args

Rows = Callable[[TrainConfig, Any, str], list[dict[str, Any]]]
Reward = Callable[[TrainConfig, Any], Any]
Rollout = Callable[[TrainConfig, list[dict[str, Any]], Any], Any]


@dataclass(frozen=True)
class Method:
    """What a training method brings to the shared GRPO path."""

    rows: Rows  #: (config, tokenizer, dataset file) -> TRL rows
    reward: Reward  #: (config, tokenizer) -> TRL reward function that owns an executor (``close()``)
    rollout: Rollout | None = None  #: (config, every row, reward) -> TRL ``rollout_func``; None: TRL's
    offline: bool = True  #: rows are partial conversations of different lengths (length grouping applies)
    whole_groups: bool = False  #: the reward reads a group's programs together (VeRPO's weights)


METHODS: dict[str, Method] = {
    "cobalt": Method(rows=bandit_rows, reward=cobalt_reward),
    "single_turn": Method(rows=single_turn_rows, reward=single_turn_reward),
    "multi_turn": Method(
        rows=problem_rows, reward=multi_turn_reward, rollout=multi_turn_rollout, offline=False, whole_groups=True
    ),
    "verpo": Method(
        rows=problem_rows, reward=verpo_reward, rollout=multi_turn_rollout, offline=False, whole_groups=True
    ),
}


# --- settings -----------------------------------------------------------------------------------------


def groups_by_length(config: TrainConfig) -> bool:
    """Whether ``config`` trains on length-grouped batches: only the offline methods read a dataset
    of prompts with different lengths; the online ones start every rollout from the bare problem."""
    return config.group_by_length and METHODS[config.method].offline


def uses_bf16(config: TrainConfig) -> bool:
    """``bf16: auto`` resolved: on a CPU only where bf16 is native (elsewhere it is emulated and
    slower than float32), on a GPU where the device supports it."""
    if config.bf16 != "auto":
        return config.bf16
    if config.use_cpu:
        return cpu_has_fast_bf16()
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def checkpointing_args(enabled: bool) -> dict[str, bool]:
    """Activation (gradient) checkpointing under its current ``TrainingArguments`` name:
    ``activation_checkpointing`` since transformers 5.2x, where ``gradient_checkpointing`` is a
    deprecated alias (a FutureWarning, removed in v6); the old name on versions without the new."""
    from transformers import TrainingArguments

    name = (
        "activation_checkpointing"
        if hasattr(TrainingArguments, "activation_checkpointing")
        else "gradient_checkpointing"
    )
    return {name: enabled}


def grpo_args(config: TrainConfig, output_dir: str) -> Any:
    """TRL's ``GRPOConfig`` for a Cobalt ``TrainConfig``."""
    from trl import GRPOConfig

    plan = config.batch_plan()
    # `trl:` fields were checked against GRPOConfig when the config was built; model_init_kwargs merges
    # with Cobalt's own (model_init_kwargs() below), every other one is handed over as given.
    passed_through = {k: v for k, v in config.trl.items() if k != "model_init_kwargs"}
    return GRPOConfig(
        output_dir=output_dir,
        seed=config.seed,
        num_generations=config.num_generations,
        temperature=config.temperature,
        top_p=config.top_p,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        epsilon=config.epsilon,
        epsilon_high=config.epsilon_high,
        beta=config.beta,
        loss_type=config.loss_type,
        scale_rewards=config.scale_rewards,
        max_completion_length=config.max_completion_length,
        # On a CPU the default cache grows by concatenation at every token and costs more than the
        # model (measured 1.3-1.9x on repair prompts); a preallocated one does not.
        cache_implementation="static" if config.use_cpu else None,
        num_train_epochs=config.num_train_epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.per_device_train_batch_size,
        gradient_accumulation_steps=plan["gradient_accumulation_steps"],
        steps_per_generation=plan["steps_per_generation"],
        use_cpu=config.use_cpu,
        bf16=uses_bf16(config),
        **checkpointing_args(config.gradient_checkpointing),
        use_vllm=config.use_vllm,
        vllm_mode=config.vllm_mode,
        vllm_gpu_memory_utilization=config.vllm_gpu_memory_utilization,
        vllm_tensor_parallel_size=config.vllm_tensor_parallel_size,
        vllm_importance_sampling_correction=config.vllm_importance_sampling_correction,
        vllm_enable_sleep_mode=config.vllm_enable_sleep_mode,
        vllm_max_model_length=config.vllm_context(),
        vllm_server_host=config.vllm_server_host,
        vllm_server_port=config.vllm_server_port,
        model_init_kwargs=model_init_kwargs(config),
        chat_template_kwargs=config.chat_template_kwargs or None,
        report_to=check_report_to(config.report_to) or "none",
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        remove_unused_columns=False,
        shuffle_dataset=not groups_by_length(config),  # length_grouped has ordered the rows
        **validation_args(config),
        **passed_through,
    )


def model_init_kwargs(config: TrainConfig) -> dict[str, Any]:
    """``from_pretrained`` arguments of the policy and the reference model: Cobalt's dtype and
    attention kernel, plus any other key given as ``trl.model_init_kwargs``."""
    kwargs: dict[str, Any] = dict(config.trl.get("model_init_kwargs") or {})
    kwargs["dtype"] = config.model_dtype
    if config.attn_implementation:
        kwargs["attn_implementation"] = config.attn_implementation
    return kwargs


# report_to name -> (module that transformers' integration imports, extra of this package that installs it)
LOGGERS = {"tensorboard": ("tensorboard", "tensorboard"), "wandb": ("wandb", "wandb")}


def check_report_to(names: list[str]) -> list[str]:
    """``names`` if every logger in it is installed; else :class:`InputError` naming the extra to
    install. transformers would raise the same much later, from inside ``Trainer.__init__``, after
    the model and the sandbox are up."""
    import importlib.util

    for name in names:
        module, extra = LOGGERS.get(name, (None, None))
        if module and importlib.util.find_spec(module) is None:
            raise InputError(
                "config",
                f"report_to {name} needs the {module} package: {install_hint(extra)}, or drop it from "
                "report_to (metrics.jsonl in output_dir is written either way)",
                field="report_to",
            )
    return names


def peft_config(config: TrainConfig) -> Any:
    """The ``peft.LoraConfig`` of ``config.lora`` (None without LoRA); peft is imported only here."""
    if config.lora is None:
        return None
    try:
        import peft
    except ImportError:
        raise InputError(
            "config", f"lora needs the peft package: {install_hint('peft')} (or drop lora)", field="lora"
        ) from None
    targets: str | list[str] = config.lora.target_modules
    if targets == ["all-linear"]:
        targets = "all-linear"  # peft's own spelling for every linear layer but the output head
    return peft.LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )


def check_whole_groups(args: Any, num_generations: int) -> None:
    """Each process must hold whole groups: VeRPO's weights come from one group's programs, and
    TRL hands a process consecutive slices of ``per_device_train_batch_size × steps_per_generation``
    rows out of a stream where each prompt's ``num_generations`` copies are adjacent."""
    per_process = args.per_device_train_batch_size * args.steps_per_generation
    if per_process % num_generations:
        raise InputError(
            "config",
            f"a process generates {per_process} trajectories per batch, not a multiple of num_generations="
            f"{num_generations}: make prompts_per_step a multiple of the number of processes",
            field="prompts_per_step",
        )


def grpo_trainer_class(kl_estimator: str = "k3", share_prompts: bool = False, validate: bool = False) -> type:
    """The trainer class to instantiate: TRL's own, with the k2 mixin for k2, the prompt-sharing
    mixin (:mod:`cobalt.train.prefix`, an optimisation, so skipped on an untested TRL) and the
    validation mixin (:mod:`cobalt.train.validation`) when asked."""
    import trl
    from trl import GRPOTrainer

    from cobalt.train.kl import K2KLMixin, check_trl_version, trl_version_tested
    from cobalt.train.prefix import PromptSharingMixin

    if kl_estimator not in ("k2", "k3"):
        raise ValueError(f"kl_estimator must be 'k2' or 'k3', not {kl_estimator!r}")
    mixins: list[type] = [ValidationMixin] if validate else []
    if kl_estimator == "k2":
        check_trl_version(trl.__version__)
        mixins.append(K2KLMixin)
    if share_prompts and trl_version_tested(trl.__version__):
        mixins.append(PromptSharingMixin)
    if not mixins:
        return GRPOTrainer
    return type("CobaltGRPOTrainer", (*mixins, GRPOTrainer), {})


# --- building and training ---------------------------------------------------------------------------


def build_trainer(config: TrainConfig, *, callbacks: list | None = None) -> tuple[Any, Any]:
    """A ready GRPO trainer for ``config.method`` and its reward function (close the reward after
    training: it owns the sandbox executor)."""
    from datasets import Dataset

    method = METHODS[config.method]
    tokenizer = load_tokenizer(config.model)
    train_rows = method.rows(config, tokenizer, config.dataset)
    if groups_by_length(config):
        train_rows = length_grouped(train_rows, config.prompts_per_step, config.seed)
    eval_rows = method.rows(config, tokenizer, config.eval_dataset) if config.eval_dataset else []
    args = grpo_args(config, config.output_dir)
    if method.whole_groups:
        check_whole_groups(args, config.num_generations)
    lora = peft_config(config)  # before the sandbox starts: a missing peft fails fast
    reward = method.reward(config, tokenizer)
    try:
        extra = {"rollout_func": method.rollout(config, train_rows + eval_rows, reward)} if method.rollout else {}
        trainer = grpo_trainer_class(config.kl_estimator, config.share_prompts, validate=True)(
            model=config.model,
            reward_funcs=[reward],
            args=args,
            train_dataset=Dataset.from_list(train_rows),
            eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None,
            processing_class=tokenizer,
            callbacks=callbacks,
            peft_config=lora,
            **extra,
        )
    except BaseException:
        reward.close()
        raise
    trainer.val_sampling = (config.val_temperature, config.val_top_p)
    return trainer, reward


METRICS_FILE = "metrics.jsonl"


def metrics_file_callback(path: str | Path) -> Any:
    """A ``TrainerCallback`` that appends every log entry (training and ``eval_*`` validation
    metrics alike) to the JSON-lines file ``path`` as ``{"step": ..., **logs}``, from the main process."""
    import json

    from transformers import TrainerCallback

    class MetricsFile(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
            if logs and state.is_world_process_zero:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                with open(path, "a") as out:
                    out.write(json.dumps({"step": state.global_step, **logs}) + "\n")

    return MetricsFile()


def train(config: TrainConfig, *, callbacks: list | None = None) -> Path:
    """Train and save the final policy as a Hugging Face model directory; returns its path. Every
    log entry, validation included, is appended to ``output_dir/metrics.jsonl``. A run whose
    ``output_dir`` holds checkpoints resumes from the latest."""
    logs = metrics_file_callback(Path(config.output_dir) / METRICS_FILE)
    trainer, reward = build_trainer(config, callbacks=[logs, *(callbacks or [])])
    try:
        trainer.train(resume_from_checkpoint=last_checkpoint(config.output_dir))
    finally:
        reward.close()
    final = Path(config.output_dir) / "final"
    trainer.save_model(str(final))
    trainer.processing_class.save_pretrained(str(final))
    return final


def last_checkpoint(output_dir: str) -> str | None:
    """The latest checkpoint in ``output_dir``, if any (a crashed run resumes from it)."""
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(output_dir) if Path(output_dir).is_dir() else None
