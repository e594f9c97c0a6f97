"""The reward end to end: real programs run in the sandbox, one at a time and in batches."""

from __future__ import annotations

import asyncio

import pytest

from cobalt.records import Tests
from cobalt.reward import RewardOptions, score, score_breakdown
from cobalt.sandbox import Limits, SandboxConfig, SyncExecutor

# Doubles its input; four tests, of which the program below gets exactly half right.
TESTS = Tests(inputs=["1\n", "2\n", "3\n", "4\n"], outputs=["2", "4", "6", "8"])
CORRECT = "</think>\n```python\nprint(2 * int(input()))\n```"
HALF = "</think>\n```python\nn = int(input())\nprint(2 * n if n <= 2 else n)\n```"
WRONG = "</think>\n```python\nprint(0)\n```"
NO_CODE = "</think>\nI would double the number."
VALIDATION = RewardOptions(validation=True)


@pytest.mark.parametrize(
    ("completion", "prev_best", "reward", "pass_rate"),
    [
        (CORRECT, 0.0, 1.0, 1.0),
        (HALF, 0.0, 0.2, 0.5),  # p exactly 0.5
        (HALF, 0.25, 0.2 + 0.1 / 3, 0.5),  # gain over 0.25
        (HALF, 0.5, -0.1, 0.5),  # no gain over 0.5
        (WRONG, 0.5, -0.2, 0.0),
        (NO_CODE, 0.5, -1.0, None),
    ],
)
def test_score_runs_the_program(completion, prev_best, reward, pass_rate, executor) -> None:
    (parts,) = score_breakdown([completion], [TESTS], [prev_best], executor=executor)
    assert parts.pass_rate == pass_rate
    assert parts.reward == pytest.approx(reward, abs=1e-12)
    assert score([completion], [TESTS], [prev_best], executor=executor) == [parts.reward]


def test_validation_scores_with_the_binary_reward(executor) -> None:
    assert score([CORRECT], [TESTS], [0.5], options=VALIDATION, executor=executor) == [1.0]
    assert score([HALF], [TESTS], [0.0], options=VALIDATION, executor=executor) == [0.0]
    assert score([NO_CODE], [TESTS], options=VALIDATION, executor=executor) == [0.0]


def test_tests_in_their_json_forms(executor) -> None:
    as_dict = TESTS.model_dump()
    assert score([CORRECT], [as_dict], executor=executor) == [1.0]
    assert score([CORRECT], [TESTS.model_dump_json()], executor=executor) == [1.0]


def test_batch_keeps_order_and_accepts_trl_completions(executor) -> None:
    completions = [CORRECT, [{"role": "assistant", "content": HALF}], NO_CODE, WRONG]
    parts = score_breakdown(completions, [TESTS] * 4, [0.0, 0.25, 0.0, 0.0], executor=executor)
    assert [p.pass_rate for p in parts] == [1.0, 0.5, None, 0.0]
    assert [p.reward for p in parts] == pytest.approx([1.0, 0.2 + 0.1 / 3, -1.0, -0.1], abs=1e-12)


def test_scoring_from_a_running_event_loop_in_a_thread() -> None:
    """How an async caller (verl's reward loop) scores: in a thread, the loop stays free."""
    config = SandboxConfig(limits=Limits(cpu_s=1.0, wall_s=3.0, memory_mb=512))

    async def main():
        with SyncExecutor(config) as executor:
            return await asyncio.to_thread(score_breakdown, [CORRECT, HALF, NO_CODE], [TESTS] * 3, executor=executor)

    assert [p.reward for p in asyncio.run(main())] == pytest.approx([1.0, 0.2, -1.0], abs=1e-12)


def test_the_comparator_reaches_the_executor(executor) -> None:
    tests = Tests(inputs=[""], outputs=["0.3333333"])
    program = "</think>\n```python\nprint(1 / 3)\n```"
    assert score([program], [tests], executor=executor) == pytest.approx([-0.1 + 0.0])  # exact lines: wrong
    assert score([program], [tests], executor=executor, comparators=["float"]) == [1.0]


def test_bad_batches_are_refused(executor) -> None:
    with pytest.raises(ValueError, match="one entry per completion"):
        score_breakdown([CORRECT, HALF], [TESTS], executor=executor)
    with pytest.raises(ValueError, match="one entry per completion"):
        score_breakdown([CORRECT], [TESTS], [0.0, 0.5], executor=executor)
    with pytest.raises(ValueError, match="no tests"):
        score_breakdown([CORRECT], [Tests(inputs=[], outputs=[])], executor=executor)


def test_score_without_an_executor_uses_the_shared_default() -> None:
    from cobalt.reward import default_executor

    assert score([CORRECT], [TESTS]) == [1.0]
    assert default_executor() is default_executor()
    assert default_executor().executor.config.limits.program_budget_s == 30.0
