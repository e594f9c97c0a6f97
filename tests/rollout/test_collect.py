"""Multi-turn collection: the feedback flow, resumption, turn-0 reuse, reasoning histories, the
scheduler's parts. Programs run in the real sandbox; policies are the tiny local model or a
scripted model behind a real OpenAI-compatible HTTP server."""

from __future__ import annotations

import asyncio
import json

import pytest
from rollout_testkit import (
    ADD_RIGHT,
    ADD_WRONG,
    ChatServer,
    HTTPFailure,
    add_problem,
    fenced,
    repairing_model,
    rollout_config,
)

from cobalt.data.perturb import perturb_problem, perturbation_of
from cobalt.evaluate import summarize
from cobalt.jsonl import InputError, read_records
from cobalt.records import Message, Trajectory, Verdict
from cobalt.rollout import PolicyError, make_policy, run_rollout
from cobalt.rollout.collect import GenerationQueue, PriorityGate
from cobalt.rollout.manifest import manifest_path, read_manifest
from cobalt.rollout.prompts import FAILED_TEST_INTRO, NO_CODE_FEEDBACK, repair_message
from cobalt.sandbox import ALL_PASSED


def read_run(path) -> dict[tuple[str, int], Trajectory]:
    return {(t.problem_id, t.sample): t for _, t in read_records(path, Trajectory)}


def openai_config(server: ChatServer, **overrides):
    return rollout_config(
        **{"policy.engine": "openai", "policy.model": "scripted", "policy.base_url": server.url}, **overrides
    )


# --- scheduler parts ------------------------------------------------------------------------------


def test_priority_gate_lets_public_runs_overtake_hidden_scoring():
    async def main():
        gate = PriorityGate(1)
        order = []

        async def user(name, priority):
            async with gate.slot(priority):
                order.append(name)
                await asyncio.sleep(0.01)

        holder = asyncio.create_task(user("first", 1))
        await asyncio.sleep(0)
        waiters = [asyncio.create_task(user(f"hidden-{i}", 1)) for i in range(2)]
        await asyncio.sleep(0)
        waiters.append(asyncio.create_task(user("public", 0)))
        await asyncio.gather(holder, *waiters)
        return order

    assert asyncio.run(main()) == ["first", "public", "hidden-0", "hidden-1"]


def test_priority_gate_survives_cancelled_waiters():
    async def main():
        gate = PriorityGate(1)
        async with gate.slot(0):
            waiter = asyncio.create_task(gate.slot(0).__aenter__())
            await asyncio.sleep(0)
            waiter.cancel()
            await asyncio.gather(waiter, return_exceptions=True)
        async with gate.slot(1):  # the slot came back despite the cancelled waiter
            return True

    assert asyncio.run(asyncio.wait_for(main(), 2))


def test_generation_queue_batches_requests_of_equal_n_up_to_the_limit():
    async def main():
        queue = GenerationQueue()
        message = [Message(role="user", content="x")]
        tasks = [asyncio.create_task(queue.request(message, n)) for n in (4, 1, 4, 1, 1, 4)]
        await asyncio.sleep(0)
        first = await queue.take(max_sequences=8)
        second = await queue.take(max_sequences=8)
        third = await queue.take(max_sequences=8)
        for task in tasks:
            task.cancel()
        return [[r.n for r in batch] for batch in (first, second, third)]

    assert asyncio.run(main()) == [[4, 4], [1, 1, 1], [4]]


# --- the feedback flow ----------------------------------------------------------------------------


def test_feedback_flow_with_a_scripted_model(tmp_path, add_problems):
    out = tmp_path / "run.jsonl"
    with ChatServer(repairing_model, delay_s=0.05) as server:
        config = openai_config(server)
        stats = run_rollout(add_problems, make_policy(config.policy), config, out)
    run = read_run(out)
    assert len(run) == 4 * 3 and stats.trajectories == 12 and stats.problems == 4

    wrong, no_code, right = (run[("add-0", s)] for s in range(3))
    for trajectory in run.values():
        assert len(trajectory.turns) == 3 and [t.index for t in trajectory.turns] == [0, 1, 2]
        assert [m.role for m in trajectory.messages] == ["system", "user"] + ["assistant", "user"] * 3
        for turn, answer, feedback in zip(trajectory.turns, trajectory.messages[2::2], trajectory.messages[3::2]):
            assert answer.content == turn.completion
            assert feedback.content == turn.feedback
        assert (trajectory.num_public_tests, trajectory.num_hidden_tests) == (2, 3)

    first = wrong.turns[0]
    assert first.code == ADD_WRONG
    assert first.public.verdicts == [Verdict.WRONG_ANSWER, Verdict.WRONG_ANSWER]
    assert FAILED_TEST_INTRO in first.feedback and "Input:\n1 2" in first.feedback
    assert "Expected Output:\n3" in first.feedback
    assert first.hidden_pass_rate == pytest.approx(1 / 3)  # 7 - 0 == 7 + 0: one hidden test passes
    assert wrong.turns[1].code == ADD_RIGHT and wrong.turns[1].public.all_passed
    assert ALL_PASSED in wrong.turns[1].feedback and wrong.turns[1].hidden_pass_rate == 1.0

    assert no_code.turns[0].code is None and no_code.turns[0].public is None
    assert NO_CODE_FEEDBACK in no_code.turns[0].feedback and no_code.turns[0].hidden_pass_rate == 0.0
    assert no_code.turns[1].code == ADD_RIGHT
    assert all(turn.hidden_pass_rate == 1.0 for turn in right.turns)

    # the policy saw the feedback: a repair request ends with the feedback sent after turn 0
    repair_requests = [r["messages"] for r in server.requests if len(r["messages"]) == 4]
    assert {"role": "user", "content": repair_message(NO_CODE_FEEDBACK)} in [m[-1] for m in repair_requests]

    summary = summarize(run.values())
    assert [m.pass_at_1 for m in summary.per_turn] == pytest.approx([1 / 3, 1.0, 1.0])
    assert [m.no_code for m in summary.per_turn] == pytest.approx([1 / 3, 0.0, 0.0])
    assert stats.public_runs == 12 * 3 - 4  # every turn with code, i.e. all but the 4 no-code first answers
    assert stats.both_busy_s > 0  # generation of some trajectories overlapped execution of others


def test_repair_turns_use_the_configured_template(tmp_path, add_problems):
    template = "{feedback}\n\nAgain, in one code block."
    with ChatServer(repairing_model, delay_s=0.0) as server:
        config = openai_config(server, turns=1, **{"sampling.n": 1}, repair_template=template)
        run_rollout(add_problems[:1], make_policy(config.policy), config, tmp_path / "run.jsonl")
    (trajectory,) = read_run(tmp_path / "run.jsonl").values()
    (request,) = [r["messages"] for r in server.requests if len(r["messages"]) == 4]
    feedback = trajectory.turns[0].feedback
    assert request[-1]["content"] == feedback
    assert feedback.endswith("\n\nAgain, in one code block.") and "Feedback on your previous answer" not in feedback


def test_reasoning_option_keeps_thinking_out_of_the_history(tmp_path):
    def thinking_model(messages, n):
        assert all("<think>" not in m["content"] for m in messages if m["role"] == "assistant")
        return ["<think>" + "let me see " * 800 + "</think>\n" + fenced(ADD_RIGHT) + "Explanation. " * 600] * n

    with ChatServer(thinking_model) as server:
        config = openai_config(server, **{"reasoning": True, "sampling.n": 1, "turns": 1})
        run_rollout([add_problem()], make_policy(config.policy), config, tmp_path / "r.jsonl")
    (trajectory,) = read_run(tmp_path / "r.jsonl").values()
    for turn in trajectory.turns:
        assert turn.completion.startswith("Here is my program.") and len(turn.completion) == 6000
        assert turn.code == ADD_RIGHT and turn.public.all_passed


def test_turn0_programs_are_reused_across_conditions(tmp_path):
    original = tmp_path / "original.jsonl"
    with ChatServer(repairing_model) as server:
        config = openai_config(server, turns=1)
        run_rollout([add_problem("p")], make_policy(config.policy), config, original)
        server.requests.clear()
        perturbed_config = openai_config(server, turns=1, condition="perturbed", turn0_from=str(original))
        swapped = perturb_problem(add_problem("p"), seed=0)  # the two expected outputs exchanged
        run_rollout([swapped], make_policy(perturbed_config.policy), perturbed_config, tmp_path / "ptb.jsonl")
    assert all(len(r["messages"]) > 2 for r in server.requests)  # no new first answers were sampled
    before, after = read_run(original), read_run(tmp_path / "ptb.jsonl")
    for key in before:
        assert after[key].condition == "perturbed"
        assert after[key].turns[0].completion == before[key].turns[0].completion
        assert after[key].turns[0].hidden_pass_rate == before[key].turns[0].hidden_pass_rate
    right = after[("p", 2)].turns[0]
    shown = perturbation_of(swapped).public_tests.outputs[0].strip()
    assert not right.public.all_passed and f"Expected Output:\n{shown}" in right.feedback  # the perturbed test shows


def test_turn0_source_must_cover_every_sample(tmp_path):
    with ChatServer(repairing_model) as server:
        config = openai_config(server, turns=0, **{"sampling.n": 2})
        run_rollout([add_problem("p")], make_policy(config.policy), config, tmp_path / "a.jsonl")
        wider = openai_config(server, turns=0, turn0_from=str(tmp_path / "a.jsonl"))  # n = 3
        with pytest.raises(InputError, match="no turn-0 answer for problem 'p', sample 2"):
            run_rollout([add_problem("p")], make_policy(wider.policy), wider, tmp_path / "b.jsonl")


def test_an_engine_failure_stops_the_run_but_keeps_finished_work(tmp_path):
    def fragile_model(messages, n):
        if "BROKEN" in messages[1]["content"]:
            raise HTTPFailure(400)
        return repairing_model(messages, n)

    broken = add_problem("broken").model_copy(update={"statement": "BROKEN"})
    out = tmp_path / "run.jsonl"
    with ChatServer(fragile_model) as server:
        config = openai_config(server, max_active_problems=1)
        with pytest.raises(PolicyError, match="HTTP 400"):
            run_rollout([add_problem("a"), add_problem("b"), broken], make_policy(config.policy), config, out)
    assert sorted(read_run(out)) == [(p, s) for p in "ab" for s in range(3)]
    assert read_manifest(manifest_path(out))["sessions"][-1]["status"] == "failed"


# --- the tiny local model -------------------------------------------------------------------------


def test_tiny_model_rollout_writes_resumes_and_refuses_a_changed_config(tmp_path, tiny_model_dir, add_problems):
    out = tmp_path / "tiny.jsonl"
    config = rollout_config(
        **{"policy.model": str(tiny_model_dir), "policy.device": "cpu", "sampling.n": 2, "turns": 1},
        **{"sampling.max_new_tokens": 8},
    )
    policy = make_policy(config.policy)
    stats = run_rollout(add_problems[:2], policy, config, out)
    assert stats.trajectories == 4 and stats.generate_calls >= 2
    run = read_run(out)
    assert sorted(run) == [(f"add-{p}", s) for p in range(2) for s in range(2)]
    for trajectory in run.values():
        assert len(trajectory.turns) == 2 and len(trajectory.messages) == 6
        assert all(1 <= t.completion_tokens <= 8 for t in trajectory.turns)
        assert trajectory.meta["model"] == str(tiny_model_dir)

    content = out.read_bytes()
    again = run_rollout(add_problems[:2], policy, config, out)
    assert (again.trajectories, again.already_done) == (0, 4)
    assert out.read_bytes() == content  # nothing redone, nothing duplicated

    more = run_rollout(add_problems[:3], policy, config, out)  # a longer problem list: only the new one runs
    assert more.trajectories == 2 and len(read_run(out)) == 6

    manifest = read_manifest(manifest_path(out))
    assert len(manifest["sessions"]) == 3 and manifest["seed"] == 0
    assert manifest["packages"]["torch"] and "commit" in manifest["git"]
    assert manifest["config"]["turns"] == 1

    changed = config.model_copy(update={"turns": 3})
    with pytest.raises(InputError, match="turns=1, now 3") as error:
        run_rollout(add_problems[:2], policy, changed, out)
    assert error.value.field == "turns"
    assert json.loads(out.read_text().splitlines()[0])["problem_id"].startswith("add-")


def test_a_run_recorded_before_the_comparator_and_feedback_settings_resumes_only_with_its_own(tmp_path):
    out = tmp_path / "old.jsonl"
    with ChatServer(repairing_model) as server:
        old = openai_config(server, turns=0, **{"sandbox.comparator": "lines", "sandbox.feedback": "cobalt"})
        run_rollout([add_problem("p")], make_policy(old.policy), old, out)
        manifest = json.loads(manifest_path(out).read_text())
        for key in ("comparator", "feedback"):  # as a manifest written before the settings existed
            del manifest["config"]["sandbox"][key]
        manifest_path(out).write_text(json.dumps(manifest))
        new = openai_config(server, turns=0)  # today's defaults: strip, reference
        with pytest.raises(InputError, match=r"sandbox\.comparator='lines', now 'strip'"):
            run_rollout([add_problem("p")], make_policy(new.policy), new, out)
        run_rollout([add_problem("p")], make_policy(old.policy), old, out)  # its own settings resume it
