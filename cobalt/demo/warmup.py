"""Supervised warm-up of a from-scratch model, so that it writes programs before RL (the CPU demo).

A randomly initialised model never produces a fenced program, so every GRPO group would score -1
and teach nothing. The warm-up teaches the format and a first competence from the bundled suite's
own data, through TRL's ``SFTTrainer`` with the loss on the answer only:

* **first attempts**: the problem (as the rollout shows it) → the reference program;
* **repairs**: the problem, a stored wrong program, and the *real* feedback the sandbox gives on it
  (its first failing public test) → the reference program, so that the model learns to read the
  expected output in the feedback;
* **keeping a correct program** (``keep_fraction``, off in the demo): the reference program and
  the all-passed feedback → the same program again.

The demo leaves the last one to reinforcement learning on purpose. Without it the warmed-up model
has only ever seen feedback that asks for a change, so after the all-passed message it changes its
correct program and mostly breaks it (kept 25 % of the time). Trajectories where that happened are
what Cobalt's bandit data is made of (a correct program, then a regression), and its reward
(1.0 for keeping, -0.2 to -0.1 for a change that loses tests) teaches the policy to keep: the
multi-turn skill the method is for, learnt from the reference policy's own trajectories. With 5 %
keep examples the base kept 80 % and no GRPO setting we tried improved it (docs/train.md).

The demo warms up for 4 epochs, close to convergence (docs/train.md). docs/paper.md §C warned
that an over-trained warm-up leaves GRPO groups with no reward variance; on Cobalt's prompts, with
groups of 16 at T 1.0, 1.6 % of groups had none, and with the demo's 32 none did (measured over
24 and 36 updates of two seeds).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cobalt.demo.config import WarmupConfig
from cobalt.records import ExecRequest, Message, Problem
from cobalt.rollout.prompts import REPAIR_TEMPLATE, execution_feedback, initial_messages, repair_message

log = logging.getLogger(__name__)


def fenced(code: str) -> str:
    """``code`` as the model should answer: one fenced ``python`` block."""
    return f"```python\n{code.rstrip()}\n```"


def _as_dicts(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _example(prompt: Sequence[Message], answer: str) -> dict[str, Any]:
    return {"prompt": _as_dicts(prompt), "completion": [{"role": "assistant", "content": answer}]}


def first_attempt_example(problem: Problem, system_prompt: str) -> dict[str, Any]:
    """A first-attempt example: the problem as the rollout shows it → its reference program."""
    return _example(initial_messages(problem, system_prompt), fenced(problem.meta["reference_solution"]))


def repair_example(
    problem: Problem, wrong_code: str, feedback: str, system_prompt: str, repair_template: str = REPAIR_TEMPLATE
) -> dict[str, Any]:
    """A repair example: the problem, ``wrong_code``, and the ``feedback`` on it inside the repair
    instruction → the reference program."""
    reference = fenced(problem.meta["reference_solution"])
    prompt = [
        *initial_messages(problem, system_prompt),
        Message(role="assistant", content=fenced(wrong_code)),
        Message(role="user", content=repair_message(feedback, repair_template)),
    ]
    return _example(prompt, reference)


def warmup_examples(
    problems: Sequence[Problem],
    executor: Any,
    config: WarmupConfig,
    system_prompt: str,
    repair_template: str = REPAIR_TEMPLATE,
) -> list[dict[str, Any]]:
    """Prompt/completion pairs for the warm-up; the repair feedback comes from real sandbox runs."""
    rng = random.Random(config.seed)
    if config.skip_held_out_combinations:
        problems = [p for p in problems if not p.meta.get("combination_held_out")]
    examples = [first_attempt_example(p, system_prompt) for p in problems]
    shown = []
    for problem in problems:
        wrong = [w for w in problem.meta.get("wrong_solutions") or [] if w["kind"] not in config.repair_skip_kinds]
        if wrong and rng.random() < config.repair_fraction:
            shown.append((problem, rng.choice(wrong)["code"]))
        if rng.random() < config.keep_fraction:
            shown.append((problem, problem.meta["reference_solution"]))
    requests = [
        ExecRequest(id=str(i), code=code, tests=problem.public_tests, comparator=problem.comparator,
                    stop_on_first_failure=True)
        for i, (problem, code) in enumerate(shown)
    ]  # fmt: skip
    results = executor.run_all(requests)
    for (problem, code), result in zip(shown, results):
        examples.append(repair_example(problem, code, execution_feedback(result), system_prompt, repair_template))
    rng.shuffle(examples)
    return examples


def run_warmup(
    model_dir: str | Path, examples: list[dict[str, Any]], out_dir: str | Path, config: WarmupConfig
) -> Path:
    """Fine-tune the model in ``model_dir`` on ``examples`` (loss on the answers) and save it."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    args = SFTConfig(
        output_dir=str(out_dir),
        num_train_epochs=config.epochs,
        learning_rate=config.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=0.05,
        per_device_train_batch_size=config.batch_size,
        max_length=config.max_length,
        completion_only_loss=True,
        use_cpu=True,
        # float32 even where the CPU has native bf16: bf16 autocast made 3 epochs 1.2x faster but the
        # warmed-up model solved 21 % of held-out problems instead of 44 % (docs/train.md).
        bf16=False,
        gradient_checkpointing=False,
        report_to="none",
        save_strategy="no",
        logging_steps=20,
        seed=config.seed,
        dataloader_num_workers=0,
        # Repair examples are about twice as long as first attempts: batching by length keeps the
        # padding (pure waste on a CPU) small.
        train_sampling_strategy="group_by_length",
    )
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(str(model_dir)),
        args=args,
        train_dataset=Dataset.from_list(examples),
        processing_class=tokenizer,
    )
    trainer.train()
    trainer.save_model(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    return Path(out_dir)
