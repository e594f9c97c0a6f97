"""Scoring programs on the hidden tests after collection, for runs collected without it.

``cobalt rollout`` scores every turn while it collects (the default), so most runs never need this.
A run collected with ``--no-hidden`` (say on a GPU host with few CPU cores) is scored here, later,
from the problems file. Results go to a new, resumable JSONL file; the run file is never modified.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

from cobalt.jsonl import InputError, JsonlWriter
from cobalt.records import ExecRequest, Problem, Trajectory, Turn
from cobalt.sandbox import Executor, SandboxConfig, make_executor


def needs_scoring(trajectory: Trajectory) -> bool:
    """Whether some turn's program lacks its hidden-test score (never when the problem has no hidden
    tests)."""
    return trajectory.num_hidden_tests > 0 and any(
        t.code is not None and t.hidden_pass_rate is None for t in trajectory.turns
    )


async def score_trajectories(
    trajectories: Sequence[Trajectory], problems: Mapping[str, Problem], executor: Executor
) -> AsyncIterator[Trajectory]:
    """Each trajectory with every unscored program scored on its problem's hidden tests, in
    completion order. Raises :class:`ValueError` when a problem is missing or its hidden tests do
    not match the trajectory's count."""
    for trajectory in trajectories:
        problem = problems.get(trajectory.problem_id)
        if problem is None:
            raise ValueError(f"problem {trajectory.problem_id!r} is not in the problems file")
        if len(problem.hidden_tests) != trajectory.num_hidden_tests:
            raise ValueError(
                f"problem {problem.id!r} has {len(problem.hidden_tests)} hidden tests, "
                f"the trajectory was collected with {trajectory.num_hidden_tests}"
            )

    async def score(trajectory: Trajectory) -> Trajectory:
        problem = problems[trajectory.problem_id]
        turns = await asyncio.gather(*(_score_turn(turn, problem, executor) for turn in trajectory.turns))
        return trajectory.model_copy(update={"turns": list(turns)})

    pending = [asyncio.ensure_future(score(t)) for t in trajectories]
    try:
        for next_done in asyncio.as_completed(pending):
            yield await next_done
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def _score_turn(turn: Turn, problem: Problem, executor: Executor) -> Turn:
    if turn.code is None or turn.hidden_pass_rate is not None:
        return turn
    request = ExecRequest(code=turn.code, tests=problem.hidden_tests, comparator=problem.comparator)
    result = await executor.run_request(request)
    return turn.model_copy(update={"hidden_pass_rate": result.pass_rate, "hidden_verdicts": list(result.verdicts)})


def collection_comparator(run: str | os.PathLike) -> str:
    """The comparator ``run``'s programs were judged with while it was collected, so that its hidden
    tests are scored the same way: its manifest's, ``lines`` for a manifest older than the setting,
    and the rollout's default (``strip``, the reference's) for a run without a manifest."""
    from cobalt.rollout.collect import recorded_config
    from cobalt.rollout.config import RolloutConfig
    from cobalt.rollout.manifest import manifest_path, read_manifest

    manifest = read_manifest(manifest_path(run))
    if manifest is None or not isinstance(manifest.get("config"), dict):
        return RolloutConfig().sandbox.comparator
    try:
        return recorded_config(manifest["config"]).sandbox.comparator
    except ValueError:  # a manifest this version cannot read: fall back to the default
        return RolloutConfig().sandbox.comparator


def score_file(
    run: str | os.PathLike,
    problems: Mapping[str, Problem],
    out: str | os.PathLike,
    sandbox: SandboxConfig | None = None,
) -> Path:
    """Write every trajectory of ``run`` to ``out`` with its unscored programs scored; resumes an
    interrupted ``out`` (trajectories already there are kept). Returns ``out``."""
    from cobalt.evaluate.report import load_run
    from cobalt.rollout.collect import finished_keys

    out = Path(out)
    trajectories = [t for group in load_run(run).values() for t in group]

    async def main() -> None:
        with JsonlWriter(out, key="problem_id") as writer:
            done = finished_keys(out)
            todo = [t for t in trajectories if t.key not in done]
            already = [t for t in todo if not needs_scoring(t)]
            for trajectory in already:
                writer.write(trajectory)
            async with make_executor(sandbox) as executor:
                async for scored in score_trajectories([t for t in todo if needs_scoring(t)], problems, executor):
                    writer.write(scored)

    try:
        asyncio.run(main())
    except InputError:
        raise
    except ValueError as err:
        raise InputError(run, str(err)) from None
    return out
