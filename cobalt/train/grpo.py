"""Glue between Cobalt and TRL's ``GRPOTrainer``: dataset, reward function, trainer, checkpoints.

Cobalt itself is single-step GRPO: each row of the bandit dataset is a partial conversation ending
with a user turn; the policy writes one assistant turn; :class:`CobaltReward` runs its program on
all of the problem's tests in the sandbox and returns the paper's reward. The single-turn baseline
is the same path on problem-only prompts (``prev_best_pass_rate`` 0, so no improvement term). The
online multi-turn baselines add a rollout function (:mod:`cobalt.train.online`).

What differs from the reference release (verl 0.5) and why:

* TRL is the engine (it trains on CPUs too); the paper's k2 KL is added by :mod:`cobalt.train.kl`;
  TRL's batch settings are derived from the paper's prompts-per-step arithmetic
  (:meth:`TrainConfig.batch_plan`).
* TRL has no prompt-length limit, so prompts over ``max_prompt_tokens`` are dropped here, counted
  and reported (the reference dropped them while building the dataset).
* The reward logs its parts (``reward/correctness``, ``reward/improvement``, ``reward/format``,
  ``reward/pass_rate``, ...) through TRL's ``log_metric``.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

from cobalt.hardware import cpu_has_fast_bf16
from cobalt.jsonl import InputError, read_records
from cobalt.records import BanditExample, Message
from cobalt.train.config import TrainConfig

log = logging.getLogger(__name__)


# --- data ---------------------------------------------------------------------------------------------


def read_bandit_rows(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a bandit dataset (JSONL of BanditExample, parquet, or a saved ``datasets`` folder)."""
    path = Path(path)
    if path.is_dir():
        from datasets import load_from_disk

        return [dict(row) for row in load_from_disk(str(path))]
    if path.suffix == ".parquet":
        from datasets import Dataset

        return [dict(row) for row in Dataset.from_parquet(str(path))]
    return [example.model_dump() for _, example in read_records(path, BanditExample)]


def training_rows(rows: list[dict[str, Any]], tokenizer: Any, max_prompt_tokens: int) -> list[dict[str, Any]]:
    """The columns TRL needs and each prompt's token count, prompts over the limit dropped (TRL has
    no such limit)."""
    from cobalt.bandit import prompt_token_counter

    count_tokens = prompt_token_counter(tokenizer)
    kept = []
    for row in rows:
        prompt = [{"role": m["role"], "content": m["content"]} for m in row["prompt"]]
        prompt_tokens = count_tokens([Message(**m) for m in prompt])
        if prompt_tokens > max_prompt_tokens:
            continue
        kept.append(
            {
                "prompt": prompt,
                "tests": row["tests"],
                "prev_best_pass_rate": float(row.get("prev_best_pass_rate") or 0.0),
                "comparator": row.get("comparator"),
                "problem_id": str(row.get("problem_id", "")),
                "turn": int(row.get("turn", 0)),
                "perturbed": bool(row.get("perturbed", False)),
                "prompt_tokens": prompt_tokens,
            }
        )
    dropped = len(rows) - len(kept)
    if dropped:
        log.warning("dropped %d of %d prompts longer than %d tokens", dropped, len(rows), max_prompt_tokens)
    if not kept:
        raise InputError("dataset", f"no prompt fits in max_prompt_tokens={max_prompt_tokens}")
    return kept


def length_grouped(rows: list[dict[str, Any]], batch_prompts: int, seed: int) -> list[dict[str, Any]]:
    """:func:`training_rows` reordered so that each run of ``batch_prompts`` consecutive rows holds
    prompts of similar token length, the runs in a seeded random order (TRL then reads them
    unshuffled).

    Partial conversations range from the bare problem to several attempts with feedback (71 to 420
    tokens in the demo); a generation batch is padded to its longest prompt, so a freely shuffled
    batch costs about as much as one made of the longest prompts only.
    """
    rng = random.Random(seed)
    tie_breaks = [rng.random() for _ in rows]
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["prompt_tokens"], tie_breaks[i]))
    batches = [order[i : i + batch_prompts] for i in range(0, len(order), batch_prompts)]
    rng.shuffle(batches)
    return [rows[i] for batch in batches for i in batch]


def groups_by_length(config: TrainConfig) -> bool:
    """Whether ``config`` trains on length-grouped batches: only the offline methods read a dataset
    of prompts with different lengths; the online ones start every rollout from the bare problem."""
    return config.group_by_length and config.method in ("cobalt", "single_turn")


def uses_bf16(config: TrainConfig) -> bool:
    """``bf16: auto`` resolved: on a CPU only where bf16 is native (elsewhere it is emulated and
    slower than float32), on a GPU where the device supports it."""
    if config.bf16 != "auto":
        return config.bf16
    if config.use_cpu:
        return cpu_has_fast_bf16()
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def single_turn_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The single-turn baseline's data: each problem's problem-only prompt, once."""
    seen, out = set(), []
    for row in rows:
        if row.get("turn", 0) == 0 and row["problem_id"] not in seen:
            seen.add(row["problem_id"])
            out.append({**row, "prev_best_pass_rate": 0.0})
    return out


# --- reward -------------------------------------------------------------------------------------------


def training_executor(config: TrainConfig) -> Any:
    """The sandbox executor of a training run (rewards, and online feedback), with the reward's limits."""
    from cobalt.reward.score import SUITE_BUDGET_S
    from cobalt.sandbox import Limits, SandboxConfig, SyncExecutor

    limits = Limits(cpu_s=config.reward_cpu_s, memory_mb=config.reward_memory_mb, program_budget_s=SUITE_BUDGET_S)
    return SyncExecutor(SandboxConfig(limits=limits))


class CobaltReward:
    """TRL reward function: the Cobalt reward of each completion, its parts logged as metrics.

    TRL passes every dataset column as a keyword argument (rows repeated per generation), plus
    ``log_metric``/``log_extra``. Programs run concurrently on one sandbox executor for the whole run.
    """

    __name__ = "cobalt_reward"

    def __init__(self, config: TrainConfig, tokenizer: Any = None, *, use_improvement: bool = True):
        self.executor = training_executor(config)
        self.require_think = config.require_think
        self.tokenizer = tokenizer
        self.use_improvement = use_improvement

    def __call__(self, prompts: list, completions: list, tests: list, **columns: Any) -> list[float]:
        from cobalt.reward import mean_metrics, score_batch

        prev_best = columns.get("prev_best_pass_rate") if self.use_improvement else None
        breakdowns = score_batch(
            completions,
            tests,
            prev_best,
            executor=self.executor,
            comparators=columns.get("comparator"),
            require_think=self.require_think,
            tokenizer=self.tokenizer,
        )
        log_metric = columns.get("log_metric")
        if log_metric is not None:
            for name, value in mean_metrics(breakdowns).items():
                log_metric(name, value)
        log_extra = columns.get("log_extra")
        if log_extra is not None:
            log_extra("pass_rate", [b.pass_rate for b in breakdowns])
        return [b.reward for b in breakdowns]

    def close(self) -> None:
        self.executor.close()


# --- trainer ------------------------------------------------------------------------------------------


def grpo_args(config: TrainConfig, output_dir: str) -> Any:
    """TRL's ``GRPOConfig`` for a Cobalt ``TrainConfig``."""
    from trl import GRPOConfig

    plan = config.batch_plan()
    return GRPOConfig(
        output_dir=output_dir,
        seed=config.seed,
        num_generations=config.num_generations,
        temperature=config.temperature,
        top_p=config.top_p,
        learning_rate=config.learning_rate,
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
        gradient_checkpointing=config.gradient_checkpointing,
        use_vllm=config.use_vllm,
        vllm_mode=config.vllm_mode,
        vllm_gpu_memory_utilization=config.vllm_gpu_memory_utilization,
        vllm_tensor_parallel_size=config.vllm_tensor_parallel_size,
        vllm_importance_sampling_correction=config.vllm_importance_sampling_correction,
        report_to=config.report_to or "none",
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        remove_unused_columns=False,
        shuffle_dataset=not groups_by_length(config),  # length_grouped has ordered the rows
    )


def load_tokenizer(model: str) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not getattr(tokenizer, "chat_template", None):
        raise InputError(model, "the tokenizer has no chat template; Cobalt's prompts are conversations")
    return tokenizer


def build_trainer(config: TrainConfig, *, callbacks: list | None = None) -> tuple[Any, CobaltReward]:
    """A ready GRPO trainer for ``config`` and its reward function (close it after training)."""
    from datasets import Dataset

    from cobalt.train.kl import grpo_trainer_class

    if config.method not in ("cobalt", "single_turn"):
        from cobalt.train.online import build_online_trainer

        return build_online_trainer(config, callbacks=callbacks)
    tokenizer = load_tokenizer(config.model)
    rows = read_bandit_rows(config.dataset)
    if config.method == "single_turn":
        rows = single_turn_rows(rows)
    train_rows = training_rows(rows, tokenizer, config.max_prompt_tokens)
    if groups_by_length(config):
        train_rows = length_grouped(train_rows, config.prompts_per_step, config.seed)
    eval_rows = None
    if config.eval_dataset:
        eval_rows = Dataset.from_list(
            training_rows(read_bandit_rows(config.eval_dataset), tokenizer, config.max_prompt_tokens)
        )
    reward = CobaltReward(config, tokenizer, use_improvement=config.method == "cobalt")
    trainer = grpo_trainer_class(config.kl_estimator, config.share_prompts)(
        model=config.model,
        reward_funcs=[reward],
        args=grpo_args(config, config.output_dir),
        train_dataset=Dataset.from_list(train_rows),
        eval_dataset=eval_rows,
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    return trainer, reward


def train(config: TrainConfig, *, callbacks: list | None = None) -> Path:
    """Train and save the final policy as a Hugging Face model directory; returns its path."""
    trainer, reward = build_trainer(config, callbacks=callbacks)
    try:
        trainer.train(resume_from_checkpoint=_last_checkpoint(config.output_dir))
    finally:
        reward.close()
    final = Path(config.output_dir) / "final"
    trainer.save_model(str(final))
    trainer.processing_class.save_pretrained(str(final))
    return final


def _last_checkpoint(output_dir: str) -> str | None:
    """Resume a crashed run from its latest checkpoint, if any."""
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(output_dir) if Path(output_dir).is_dir() else None
