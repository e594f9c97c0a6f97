"""Qwen3-style thinking in rollouts: the program is read after ``</think>``, an answer cut off while
thinking holds none, earlier turns' thinking leaves the history, each turn keeps 6000 characters;
and the paper's Qwen3-8B recipe uses presets that do all of this."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from rollout_testkit import ADD_RIGHT, ADD_WRONG, ChatServer, add_problem, rollout_config

from cobalt.config import build_config
from cobalt.jsonl import read_records
from cobalt.records import Trajectory
from cobalt.rollout import RolloutConfig, make_policy, run_rollout
from cobalt.rollout.prompts import NO_CODE_FEEDBACK, extract_code, visible_answer

README = Path(__file__).resolve().parents[2] / "README.md"

# Qwen3's format: the template opens the turn, the model writes "<think>\n...\n</think>\n\n" and then its
# answer. While thinking it drafts code in fenced blocks; the answer has the final program.
DRAFT = "a, b = map(int, input().split())\nprint(a * b)"
THOUGHT = (
    "<think>\nOkay, let's see. The problem wants the sum of two integers. A first try:\n\n"
    f"```python\n{DRAFT}\n```\n\nWait, that multiplies. It should add them. Let me also check "
    "negative numbers... -3 + 3 = 0, fine.\n</think>\n\n"
)
ANSWER = f"To solve this, read both integers and print their sum.\n\n```python\n{ADD_RIGHT}\n```\n"
FULL = THOUGHT + ANSWER
# Cut at the token limit while still thinking: the draft is the last code block of the whole text.
CUT = "<think>\nOkay, let's see. The problem wants the sum of two integers. A first try:\n\n" + (
    f"```python\n{DRAFT}\n```\n\nHmm, but what if " + "the input has extra spaces, and " * 40
)
# Qwen3-2507 "Thinking" models: the template writes "<think>\n" itself, the completion starts inside it.
NO_OPENING_TAG = FULL.removeprefix("<think>\n")
CUT_NO_OPENING_TAG = CUT.removeprefix("<think>\n")


def test_the_answer_is_read_after_think():
    assert extract_code(FULL, reasoning=True) == ADD_RIGHT
    assert extract_code(NO_OPENING_TAG, reasoning=True) == ADD_RIGHT


@pytest.mark.parametrize("completion", [CUT, CUT_NO_OPENING_TAG], ids=["cut", "cut-no-opening-tag"])
def test_an_answer_cut_off_while_thinking_has_no_program(completion):
    assert extract_code(completion, reasoning=True) is None
    assert extract_code(completion, reasoning=False) == DRAFT  # what the non-thinking presets would run


def test_the_history_keeps_the_answer_only_and_at_most_6000_characters():
    assert visible_answer(FULL, reasoning=True) == ANSWER
    long = THOUGHT + ANSWER + "More words. " * 1000
    assert visible_answer(long, reasoning=True) == (ANSWER + "More words. " * 1000)[:6000]
    assert len(visible_answer(CUT * 100, reasoning=True)) == 6000  # the reference keeps a cut answer's start
    assert visible_answer(FULL, reasoning=False) == FULL


# --- at the level of a rollout, over a loopback OpenAI-compatible server ---------------------------------


def qwen3_model(seen: list[list[dict[str, Any]]]):
    """Turn 0: sample 0 is cut off while thinking (a wrong draft inside <think>), sample 1 thinks and
    answers with a wrong program, then a long explanation. Repairs think and answer right."""

    def respond(messages: list[dict[str, Any]], n: int) -> list[str]:
        seen.append(messages)
        if len(messages) == 2:
            wrong = THOUGHT + f"Answer:\n```python\n{ADD_WRONG}\n```\n" + "Why this works: ... " * 500
            return [CUT, wrong][:n]
        return [FULL] * n

    return respond


def run_thinking(tmp_path, preset: str, seen: list) -> dict[int, Trajectory]:
    with ChatServer(qwen3_model(seen)) as server:
        config = build_config(
            RolloutConfig,
            preset=preset,
            flags={
                "policy.engine": "openai",
                "policy.model": "qwen3-scripted",
                "policy.base_url": server.url,
                "sampling.n": 2,
                "turns": 1,
                "sandbox.cpu_s": 1.0,
            },
        )
        out = tmp_path / "run.jsonl"
        run_rollout([add_problem()], make_policy(config.policy), config, out)
        assert server.requests[0]["chat_template_kwargs"] == {"enable_thinking": True}
    return {t.sample: t for _, t in read_records(out, Trajectory)}


@pytest.mark.parametrize("preset", ["paper-collect-thinking", "paper-eval-thinking"])
def test_a_thinking_rollout_runs_the_answer_and_strips_thinking_from_the_history(tmp_path, preset):
    seen: list[list[dict[str, Any]]] = []
    runs = run_thinking(tmp_path, preset, seen)
    cut, wrong = runs[0], runs[1]
    # sample 0 was cut off while thinking: no program ran, the policy was told so
    assert cut.turns[0].code is None and cut.turns[0].public is None
    assert NO_CODE_FEEDBACK in cut.turns[0].feedback
    # sample 1's answer, not its draft, ran and failed; its repair ran the final program
    assert wrong.turns[0].code == ADD_WRONG and not wrong.turns[0].public.all_passed
    for trajectory in runs.values():
        assert trajectory.turns[1].code == ADD_RIGHT and trajectory.turns[1].public.all_passed
    # what the server saw on the repair turns: answers without their thinking, each within 6000
    # characters; a cut answer has no </think> to cut at, so (as in the reference) its start is kept
    for messages in seen[1:]:
        for message in messages:
            if message["role"] == "assistant":
                assert "</think>" not in message["content"] and len(message["content"]) <= 6000
                assert "<think>" not in message["content"] or message["content"] == CUT[:6000]
    repair_of_wrong = next(m for m in seen[1:] if ADD_WRONG in m[2]["content"])
    assert repair_of_wrong[2]["content"].startswith("Answer:") and len(repair_of_wrong[2]["content"]) == 6000


def test_the_paper_presets_without_thinking_would_run_the_draft(tmp_path):
    """Why the thinking presets exist: paper-collect on a thinking model runs a cut answer's draft
    and keeps every token of thinking in the history."""
    seen: list[list[dict[str, Any]]] = []
    with ChatServer(qwen3_model(seen)) as server:
        config = rollout_config(
            **{"policy.engine": "openai", "policy.model": "m", "policy.base_url": server.url},
            **{"sampling.n": 2, "turns": 1},
        )
        run_rollout([add_problem()], make_policy(config.policy), config, tmp_path / "r.jsonl")
    runs = {t.sample: t for _, t in read_records(tmp_path / "r.jsonl", Trajectory)}
    assert runs[0].turns[0].code == DRAFT
    assert any("<think>" in m["content"] for messages in seen[1:] for m in messages)


def test_thinking_presets_are_the_reference_rule():
    for preset in ("paper-collect-thinking", "paper-eval-thinking"):
        config = RolloutConfig.load(preset)
        assert config.reasoning and config.max_turn_chars == 6000, preset
        assert config.policy.chat_template_kwargs == {"enable_thinking": True}, preset
        assert (config.sampling.n, config.sampling.temperature, config.sampling.max_new_tokens) == (16, 0.6, 6144)
    assert RolloutConfig.load("paper-collect-thinking").turns == 2
    assert RolloutConfig.load("paper-eval-thinking").turns == 8


def test_the_readme_qwen3_recipe_collects_and_evaluates_with_thinking():
    text = README.read_text()
    rollouts = re.findall(r"cobalt rollout --preset (\S+) --engine vllm --model (\S+)", text)
    qwen3 = [(preset, model) for preset, model in rollouts if "Qwen3" in model or "cobalt-8b" in model]
    assert qwen3 and all(preset.endswith("-thinking") for preset, _ in qwen3), qwen3
