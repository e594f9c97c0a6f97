"""``cobalt export verl``: the bandit dataset and reward in verl's formats, plus a launch script.

verl trains the paper's 8B recipe efficiently on GPUs (the reference release is built on verl
0.5), but it cannot run on a CPU and it pins versions that clash with TRL 1.x, so Cobalt writes
files for it instead of importing it (docs/paper.md §A.2, §A.3):

* ``train.parquet`` / ``val.parquet``: columns ``data_source``, ``prompt`` (messages), ``ability``,
  ``reward_model`` (``{"style": "rule", "ground_truth": <tests JSON>}``) and ``extra_info``
  (``index``, ``split``, ``prev_best_pass_rate``, ``problem_id``, ``turn``, ``perturbed``,
  ``comparator``);
* ``cobalt_verl_reward.py``: ``async def compute_score(data_source, solution_str, ground_truth,
  extra_info=None, **kwargs) -> dict`` with the ``score`` and the reward's parts, computed by
  :func:`cobalt.reward.score_breakdown` on Cobalt's sandbox with the reward's limits (the
  reference's: 4 s per test, 30 s for a program's whole test list, the ``strip`` comparator), the
  length terms counted in tokens of tiktoken ``o200k_base`` as the reference counted them (the
  policy's tokenizer where that encoding cannot be loaded: :func:`length_tokenizer`), binary on the
  validation split;
* ``run_verl.sh``: ``python -m verl.trainer.main_ppo`` with the paper's settings and the
  reference's engine settings (1 node x 4 GPUs by default, its offloads and micro-batches; verl 0.9
  keys), which pass verl's own ``validate_config`` (tests/train/test_verl_export.py).

The validation split is ``--val``, or problems held out of the training rows; the reward's sandbox
takes its tier from the export (or ``COBALT_SANDBOX_TIER`` / ``COBALT_ALLOW_UNSAFE`` when verl runs)
and, by default, the node's cores divided by verl's reward processes on the node.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from cobalt.bandit import read_examples
from cobalt.config import Settings
from cobalt.records import BanditExample
from cobalt.reward.score import SUITE_BUDGET_S
from cobalt.sandbox.compare import ComparatorName
from cobalt.sandbox.config import Limits, RayActorCount, RewardBackend

DATA_SOURCE = "cobalt"


class VerlExportConfig(Settings):
    """Settings of ``cobalt export verl``: what the launch script trains and how the reward scores."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    verb: ClassVar[str] = "export"

    model: str = Field("Qwen/Qwen3-8B", description="The policy the launch script trains (the paper's Qwen3-8B).")
    require_think: bool = Field(True, description="The model thinks: the reward requires one </think>.")
    cpu_s: float = Field(Limits().cpu_s, gt=0, description="CPU seconds per test in the reward.")
    budget_s: float = Field(
        SUITE_BUDGET_S, gt=0, description="Wall seconds for all of a program's tests (the reference's 30 s)."
    )
    comparator: ComparatorName = Field(
        "strip", description="Output comparator for rows that name none (the reference's output.strip() rule)."
    )
    length_encoding: str = Field(
        "o200k_base",
        description="tiktoken encoding counting the reward's length terms (the reference's); where tiktoken or the "
        "encoding cannot be loaded, the policy's tokenizer. Empty: always the policy's tokenizer.",
    )
    gpus_per_node: int = Field(
        4, ge=1, description="GPUs per node in the launch script (the reference's 1 node x 4; GPUS=8 at launch for 8)."
    )
    nnodes: int = Field(1, ge=1, description="Nodes in the launch script (NNODES at launch overrides it).")
    val_problems: int = Field(
        64,
        ge=0,
        description="Without --val: problems held out of training (all their rows) as the validation split, drawn "
        "with `seed`; 0: no validation (val_before_train off, test_freq -1).",
    )
    seed: int = Field(0, description="Seed of the held-out validation draw.")
    logger: tuple[str, ...] = Field(
        ("console", "tensorboard"),
        description="verl's trainer.logger: backends that need no login (verl's default adds wandb, whose init "
        "fails on a host without one).",
    )
    max_ckpt_to_keep: int | None = Field(
        2, ge=1, description="verl's trainer.max_actor_ckpt_to_keep (about 115 GB each for an 8B model); none: all."
    )
    reward_workers: int = Field(
        8, ge=1, description="verl's reward.num_workers: reward processes, spread round-robin over the nodes."
    )
    sandbox_tier: Literal["auto", "bwrap", "process"] = Field(
        "auto", description="Isolation of the reward's sandbox; process needs sandbox_allow_unsafe."
    )
    sandbox_allow_unsafe: bool = Field(
        False, description="Let the reward's sandbox run below its minimum tier (containers without user namespaces)."
    )
    sandbox_backend: RewardBackend = "local"
    sandbox_ray_actors: RayActorCount = None
    sandbox_workers: int | None = Field(
        None,
        ge=1,
        description="Programs each reward process runs at once; none: the node's cores divided by the reward "
        "processes on it, so a node never runs more programs than it has cores.",
    )


REWARD_MODULE = '''"""verl reward for Cobalt, written by `cobalt export verl`. verl calls `compute_score` for each
response; it runs the program on the problem's tests in Cobalt's sandbox and returns the Cobalt
reward (binary on the validation split) with its parts for logging."""

import asyncio
import atexit
import functools
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from cobalt.reward import RewardOptions, reward_executor, score_breakdown
from cobalt.sandbox.config import workers_per_process
from cobalt.train.verl_export import length_tokenizer

REQUIRE_THINK = os.environ.get("COBALT_REQUIRE_THINK", "{require_think}") == "1"
MODEL = os.environ.get("COBALT_MODEL", {model!r})
LENGTH_ENCODING = os.environ.get("COBALT_LENGTH_ENCODING", {length_encoding!r})
# The sandbox: its tier, whether a host without namespaces may run it unsafely, and the programs
# this reward process runs at once. verl starts `reward.num_workers` of these processes, spread over
# the nodes, and each builds its own executor, so by default each takes the node's cores divided by
# the reward processes on it (COBALT_SANDBOX_PROCESSES, set by run_verl.sh).
SANDBOX_TIER = os.environ.get("COBALT_SANDBOX_TIER", {sandbox_tier!r})
ALLOW_UNSAFE = os.environ.get("COBALT_ALLOW_UNSAFE", "{allow_unsafe}") == "1"
SANDBOX_WORKERS = os.environ.get("COBALT_SANDBOX_WORKERS", "{sandbox_workers}")
SANDBOX_PROCESSES = int(os.environ.get("COBALT_SANDBOX_PROCESSES", "{sandbox_processes}"))
# backend "ray": programs run on executor actors in verl's own Ray cluster (each reward process has its pool).
SANDBOX_BACKEND = os.environ.get("COBALT_SANDBOX_BACKEND", {sandbox_backend!r})
RAY_ACTORS = os.environ.get("COBALT_RAY_ACTORS", "{ray_actors}")
_shared = {{}}
_lock = threading.Lock()


def _sandbox():
    """One sandbox executor for the process (its programs run concurrently from any thread), made on
    first use, threads enough to keep its workers busy while verl awaits many responses, and the
    tokenizer of the length terms."""
    with _lock:
        if not _shared:
            executor = reward_executor(
                cpu_s=float(os.environ.get("COBALT_TEST_CPU_S", "{cpu_s}")),
                comparator=os.environ.get("COBALT_COMPARATOR", {comparator!r}),
                budget_s=float(os.environ.get("COBALT_PROGRAM_BUDGET_S", "{budget_s}")),
                tier=SANDBOX_TIER,
                allow_unsafe=ALLOW_UNSAFE,
                workers=int(SANDBOX_WORKERS) if SANDBOX_WORKERS else workers_per_process(SANDBOX_PROCESSES),
                backend=SANDBOX_BACKEND,
                ray_actors=int(RAY_ACTORS) if RAY_ACTORS else None,
            )
            atexit.register(executor.close)
            _shared["executor"] = executor
            _shared["threads"] = ThreadPoolExecutor(max_workers=2 * executor.executor.config.workers)
            _shared["tokenizer"] = length_tokenizer(LENGTH_ENCODING, MODEL)
    return _shared["executor"], _shared["threads"], _shared["tokenizer"]


async def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    extra_info = extra_info or {{}}
    executor, threads, tokenizer = _sandbox()
    tests = json.loads(ground_truth) if isinstance(ground_truth, str) else ground_truth
    options = RewardOptions(
        validation=extra_info.get("split") == "val",
        require_think=kwargs.get("require_think", REQUIRE_THINK),
        tokenizer=tokenizer,
    )
    scoring = functools.partial(
        score_breakdown,
        [solution_str],
        [tests],
        [float(extra_info.get("prev_best_pass_rate") or 0.0)],
        comparators=[extra_info.get("comparator") or None],
        options=options,
        executor=executor,
    )
    (breakdown,) = await asyncio.get_running_loop().run_in_executor(threads, scoring)
    result = {{"score": breakdown.reward}}
    result.update({{name.split("/", 1)[1]: value for name, value in breakdown.metrics().items()}})
    return result
'''

LAUNCH_SCRIPT = """#!/usr/bin/env bash
# verl launch with the paper's recipe (docs/paper.md §2.5) and the reference's engine settings
# (scripts/train_grpo_multi_turn.sh: 1 node x 4 GPUs, optimizer and reference offloads), written by
# `cobalt export verl`; the settings pass verl's own validate_config (tests/train/test_verl_export.py).
# Needs verl 0.9 with vLLM in an environment of its own, with this Cobalt checkout installed there
# (docs/train.md, "verl export"). GPUS=8 bash run_verl.sh for one node of 8 GPUs; multi-node:
# `ray start` on every node, then `ray job submit ... -- NNODES=N bash run_verl.sh`.
# Any further argument is a verl override (key=value), appended last.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
MODEL="${{MODEL:-{model}}}"
GPUS="${{GPUS:-{gpus}}}"
NNODES="${{NNODES:-{nnodes}}}"
REWARD_WORKERS="${{REWARD_WORKERS:-{reward_workers}}}"
export COBALT_MODEL="${{COBALT_MODEL:-$MODEL}}"  # the reward counts lengths with it where o200k_base is unavailable
# verl spreads its reward processes round-robin over the nodes; each process's sandbox takes the
# node's cores divided by this many, so a node never runs more programs than it has cores.
export COBALT_SANDBOX_PROCESSES="${{COBALT_SANDBOX_PROCESSES:-$(( (REWARD_WORKERS + NNODES - 1) / NNODES ))}}"
python3 -m verl.trainer.main_ppo \\
  algorithm.adv_estimator=grpo \\
  algorithm.norm_adv_by_std_in_grpo=True \\
  algorithm.kl_ctrl.kl_coef=0.0001 \\
  data.train_files="$HERE/train.parquet" \\
  data.val_files="$HERE/val.parquet" \\
  data.train_batch_size=128 \\
  data.max_prompt_length=10240 \\
  data.max_response_length=6144 \\
  data.truncation=right \\
  data.filter_overlong_prompts=True \\
  actor_rollout_ref.model.path="$MODEL" \\
  actor_rollout_ref.model.enable_gradient_checkpointing=True \\
  actor_rollout_ref.model.use_remove_padding=True \\
  actor_rollout_ref.actor.optim.lr=1e-6 \\
  actor_rollout_ref.actor.ppo_mini_batch_size=64 \\
  actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=2 \\
  actor_rollout_ref.actor.grad_clip=1.0 \\
  actor_rollout_ref.actor.clip_ratio_low=0.2 \\
  actor_rollout_ref.actor.clip_ratio_high=0.4 \\
  actor_rollout_ref.actor.use_kl_loss=True \\
  actor_rollout_ref.actor.kl_loss_coef=0.0001 \\
  actor_rollout_ref.actor.kl_loss_type=mse \\
  actor_rollout_ref.actor.loss_agg_mode=token-mean \\
  actor_rollout_ref.actor.fsdp_config.param_offload=False \\
  actor_rollout_ref.actor.fsdp_config.optimizer_offload=True \\
  actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=16 \\
  actor_rollout_ref.ref.fsdp_config.param_offload=True \\
  actor_rollout_ref.rollout.name=vllm \\
  actor_rollout_ref.rollout.n=16 \\
  actor_rollout_ref.rollout.temperature=1.0 \\
  actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=16 \\
  actor_rollout_ref.rollout.gpu_memory_utilization=0.7 \\
  actor_rollout_ref.rollout.tensor_model_parallel_size=1 \\
  actor_rollout_ref.rollout.max_num_batched_tokens=16384 \\
  actor_rollout_ref.rollout.val_kwargs.temperature=0.6 \\
  actor_rollout_ref.rollout.val_kwargs.top_p=0.95 \\
  actor_rollout_ref.rollout.val_kwargs.do_sample=True \\
  reward.num_workers="$REWARD_WORKERS" \\
  reward.custom_reward_function.path="$HERE/cobalt_verl_reward.py" \\
  reward.custom_reward_function.name=compute_score \\
  trainer.total_epochs=2 \\
  trainer.critic_warmup=0 \\
  trainer.save_freq=10 \\
  trainer.max_actor_ckpt_to_keep={max_ckpt} \\
  trainer.test_freq={test_freq} \\
  trainer.val_before_train={val_before_train} \\
  'trainer.logger={logger}' \\
  trainer.nnodes="$NNODES" \\
  trainer.n_gpus_per_node="$GPUS" \\
  trainer.project_name=cobalt \\
  trainer.experiment_name=cobalt-bandit \\
  "$@"
"""


def verl_row(example: BanditExample, index: int, split: str) -> dict[str, Any]:
    """One bandit example in verl's dataset schema."""
    return {
        "data_source": DATA_SOURCE,
        "prompt": [{"role": m.role, "content": m.content} for m in example.prompt],
        "ability": "code",
        "reward_model": {"style": "rule", "ground_truth": json.dumps(example.tests.model_dump())},
        "extra_info": {
            "index": index,
            "split": split,
            "prev_best_pass_rate": example.prev_best_pass_rate,
            "problem_id": example.problem_id,
            "turn": example.turn,
            "perturbed": example.perturbed,
            "comparator": example.comparator or "",
        },
    }


def held_out_problems(examples: list[BanditExample], count: int, seed: int) -> set[str]:
    """``count`` problem ids drawn with ``seed`` (from the sorted ids, so the draw does not depend on
    the file's order), whose rows become the validation split; refused when it would leave fewer
    problems for training than it holds out."""
    import random

    problems = sorted({example.problem_id for example in examples})
    if count > len(problems) // 2:
        raise ValueError(
            f"val_problems={count} would hold out more than half of the {len(problems)} problems: pass --val with a "
            "validation set, a smaller --val-problems, or --val-problems 0 (no validation)"
        )
    return set(random.Random(seed).sample(problems, count))


def export_verl(
    train: str | Path, out: str | Path, *, val: str | Path | None = None, **settings: Any
) -> dict[str, int]:
    """Write verl's files into ``out``; returns the number of rows per split. ``settings`` are
    :class:`VerlExportConfig` fields (``model``, ``require_think``, ``cpu_s``), or ``config=`` one.

    The validation split is ``val`` when given; otherwise the rows of ``val_problems`` problems held
    out of training (verl validates before the first step and every 10, and a validation set equal to
    the training set would generate on all of it each time); with ``val_problems`` 0, validation is
    off (verl still needs a file, so ``val.parquet`` holds the first training row)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    config = settings.pop("config", None) or VerlExportConfig(**settings)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    examples = read_examples(train)
    validate = True
    if val is not None:
        splits = {"train": examples, "val": read_examples(val)}
    elif config.val_problems:
        held_out = held_out_problems(examples, config.val_problems, config.seed)
        splits = {
            "train": [e for e in examples if e.problem_id not in held_out],
            "val": [e for e in examples if e.problem_id in held_out],
        }
    else:
        splits, validate = {"train": examples, "val": examples[:1]}, False
    counts = {}
    for split, rows in splits.items():
        table = [verl_row(example, i, split) for i, example in enumerate(rows)]
        pq.write_table(pa.Table.from_pylist(table), out / f"{split}.parquet")
        counts[split] = len(table) if validate or split == "train" else 0
    processes_per_node = -(-config.reward_workers // config.nnodes)
    (out / "cobalt_verl_reward.py").write_text(
        REWARD_MODULE.format(
            require_think="1" if config.require_think else "0",
            cpu_s=config.cpu_s,
            budget_s=config.budget_s,
            comparator=config.comparator,
            model=config.model,
            length_encoding=config.length_encoding,
            sandbox_tier=config.sandbox_tier,
            allow_unsafe="1" if config.sandbox_allow_unsafe else "0",
            sandbox_workers=config.sandbox_workers or "",
            sandbox_processes=processes_per_node,
            sandbox_backend=config.sandbox_backend,
            ray_actors=config.sandbox_ray_actors or "",
        )
    )
    script = out / "run_verl.sh"
    script.write_text(
        LAUNCH_SCRIPT.format(
            model=config.model,
            gpus=config.gpus_per_node,
            nnodes=config.nnodes,
            reward_workers=config.reward_workers,
            max_ckpt="null" if config.max_ckpt_to_keep is None else config.max_ckpt_to_keep,
            test_freq=10 if validate else -1,
            val_before_train=validate,
            logger="[" + ",".join(config.logger) + "]",
        )
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return counts


def length_tokenizer(encoding: str, model: str) -> Any:
    """What counts the reward's length terms in the exported reward: the tiktoken ``encoding``
    (the reference's ``o200k_base``) when tiktoken is installed and can load it (its data file is
    downloaded once, so an offline machine without a cache cannot), else ``model``'s tokenizer."""
    import logging

    if encoding:
        try:
            import tiktoken

            return tiktoken.get_encoding(encoding)
        except Exception as error:  # not installed, unknown encoding, or no network for its file
            logging.getLogger(__name__).warning(
                "tiktoken encoding %r unavailable (%s): counting length terms with %s's tokenizer",
                encoding,
                error,
                model,
            )
    from cobalt.tokenizer import load_tokenizer

    return load_tokenizer(model)


def load_reward_module(directory: str | Path):
    """Import the exported ``cobalt_verl_reward.py`` the way verl does (from its file path)."""
    import importlib.util

    path = Path(directory) / "cobalt_verl_reward.py"
    spec = importlib.util.spec_from_file_location(f"cobalt_verl_reward_{os.getpid()}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
