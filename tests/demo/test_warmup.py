"""The warm-up's supervised examples: first attempts, repairs with real sandbox feedback, keeps."""

from __future__ import annotations

import pytest

from cobalt.data.bundled import BundledConfig, generate_suite
from cobalt.demo import WarmupConfig
from cobalt.demo.warmup import fenced, warmup_examples
from cobalt.rollout.prompts import problem_prompt
from cobalt.sandbox import ALL_PASSED, SyncExecutor

SYSTEM = "Reply with one ```python block."
TEMPLATE = "{feedback}\n\nFix it."


@pytest.fixture(scope="module")
def problems():
    return generate_suite(BundledConfig(train=30, dev=0, test=0, seed=4), splits=("train",))["train"]


@pytest.fixture(scope="module")
def executor():
    with SyncExecutor() as executor:
        yield executor


def test_every_problem_gets_its_reference_and_repairs_show_real_feedback(problems, executor):
    config = WarmupConfig(repair_fraction=1.0, keep_fraction=1.0)
    examples = warmup_examples(problems, executor, config, SYSTEM, TEMPLATE)
    first = [e for e in examples if len(e["prompt"]) == 2]
    later = [e for e in examples if len(e["prompt"]) == 4]
    assert len(first) == len(problems) and len(later) == 2 * len(problems)  # one repair and one keep each
    references = {fenced(p.meta["reference_solution"]) for p in problems}
    assert all(e["completion"][0]["content"] in references for e in examples)
    feedback = [e["prompt"][-1]["content"] for e in later]
    assert all(text.endswith("\n\nFix it.") for text in feedback)
    kept = [text for e, text in zip(later, feedback) if e["prompt"][2]["content"] == e["completion"][0]["content"]]
    assert len(kept) == len(problems) and all(text.startswith(ALL_PASSED) for text in kept)
    assert sum("Expected Output:" in text for text in feedback) == len(problems)  # every wrong program fails


def test_held_out_combinations_can_be_left_to_rl(problems, executor):
    held = [p for p in problems if p.meta["combination_held_out"]]
    assert 0 < len(held) < len(problems)
    config = WarmupConfig(repair_fraction=0.0, keep_fraction=0.0, skip_held_out_combinations=True)
    examples = warmup_examples(problems, executor, config, SYSTEM)
    assert len(examples) == len(problems) - len(held)
    held_prompts = {problem_prompt(p) for p in held}
    assert not any(e["prompt"][1]["content"] in held_prompts for e in examples)


def test_keeping_is_left_to_rl_and_keep_examples_only_add_to_the_same_draws(problems, executor):
    """The demo's base never sees the all-passed message; asking for keep examples adds them without
    changing which problems get repairs, so the two bases differ only by those examples."""
    default = warmup_examples(problems, executor, WarmupConfig(repair_fraction=0.5), SYSTEM, TEMPLATE)
    assert not any(ALL_PASSED in e["prompt"][-1]["content"] for e in default)
    with_keeps = warmup_examples(
        problems, executor, WarmupConfig(repair_fraction=0.5, keep_fraction=0.5), SYSTEM, TEMPLATE
    )
    repairs = [e for e in with_keeps if not e["prompt"][-1]["content"].startswith(ALL_PASSED)]
    keeps = [e for e in with_keeps if e["prompt"][-1]["content"].startswith(ALL_PASSED)]
    assert keeps and sorted(map(str, repairs)) == sorted(map(str, default))
