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
* ``run_verl.sh``: ``python -m verl.trainer.main_ppo`` with the paper's settings (verl 0.9 keys).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ConfigDict, Field

from cobalt.bandit import read_examples
from cobalt.config import Settings
from cobalt.records import BanditExample
from cobalt.reward.score import SUITE_BUDGET_S
from cobalt.sandbox.compare import ComparatorName
from cobalt.sandbox.config import Limits

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
from cobalt.train.verl_export import length_tokenizer

REQUIRE_THINK = os.environ.get("COBALT_REQUIRE_THINK", "{require_think}") == "1"
MODEL = os.environ.get("COBALT_MODEL", {model!r})
LENGTH_ENCODING = os.environ.get("COBALT_LENGTH_ENCODING", {length_encoding!r})
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
# verl launch with the paper's recipe (docs/paper.md §2.5), written by `cobalt export verl`.
# Needs verl 0.9 with vLLM in its own environment (pip install 'cobalt-rl[verl]' 'verl[vllm]'),
# and Cobalt importable there. Multi-node: `ray start` on every node, then submit with
# `ray job submit ... -- bash run_verl.sh trainer.nnodes=N`.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
MODEL="${{MODEL:-{model}}}"
export COBALT_MODEL="${{COBALT_MODEL:-$MODEL}}"  # the reward counts lengths with it where o200k_base is unavailable
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
  actor_rollout_ref.rollout.name=vllm \\
  actor_rollout_ref.rollout.n=16 \\
  actor_rollout_ref.rollout.temperature=1.0 \\
  actor_rollout_ref.rollout.gpu_memory_utilization=0.7 \\
  actor_rollout_ref.rollout.tensor_model_parallel_size=1 \\
  actor_rollout_ref.rollout.val_kwargs.temperature=0.6 \\
  actor_rollout_ref.rollout.val_kwargs.top_p=0.95 \\
  actor_rollout_ref.rollout.val_kwargs.do_sample=True \\
  reward.custom_reward_function.path="$HERE/cobalt_verl_reward.py" \\
  reward.custom_reward_function.name=compute_score \\
  trainer.total_epochs=2 \\
  trainer.save_freq=10 \\
  trainer.test_freq=10 \\
  trainer.nnodes=1 \\
  trainer.n_gpus_per_node="${{GPUS:-8}}" \\
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


def export_verl(
    train: str | Path, out: str | Path, *, val: str | Path | None = None, **settings: Any
) -> dict[str, int]:
    """Write verl's files into ``out``; returns the number of rows per split. ``settings`` are
    :class:`VerlExportConfig` fields (``model``, ``require_think``, ``cpu_s``), or ``config=`` one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    config = settings.pop("config", None) or VerlExportConfig(**settings)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split, source in (("train", train), ("val", val or train)):
        rows = [verl_row(example, i, split) for i, example in enumerate(read_examples(source))]
        pq.write_table(pa.Table.from_pylist(rows), out / f"{split}.parquet")
        counts[split] = len(rows)
    (out / "cobalt_verl_reward.py").write_text(
        REWARD_MODULE.format(
            require_think="1" if config.require_think else "0",
            cpu_s=config.cpu_s,
            budget_s=config.budget_s,
            comparator=config.comparator,
            model=config.model,
            length_encoding=config.length_encoding,
        )
    )
    script = out / "run_verl.sh"
    script.write_text(LAUNCH_SCRIPT.format(model=config.model))
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
