"""`cobalt export verl`: verl's parquet schema, and its reward module scoring real programs."""

from __future__ import annotations

import asyncio
import json

import pytest

pq = pytest.importorskip("pyarrow.parquet")

from cobalt.records import BanditExample, Message, Tests  # noqa: E402
from cobalt.train.verl_export import export_verl, load_reward_module  # noqa: E402

TESTS = Tests(inputs=["1\n", "5\n"], outputs=["2\n", "6\n"])
RIGHT = "```python\nprint(int(input()) + 1)\n```"
HALF = "```python\nx = int(input())\nprint(2 if x == 1 else 0)\n```"


@pytest.fixture
def exported(tmp_path):
    dataset = tmp_path / "bandit.jsonl"
    examples = [
        BanditExample(id="p#0", prompt=[Message(role="user", content="add one")], tests=TESTS,
                      prev_best_pass_rate=0.0, problem_id="p", turn=0),
        BanditExample(id="p#1", prompt=[Message(role="user", content="add one"),
                                        Message(role="assistant", content=HALF),
                                        Message(role="user", content="Input:\n5\n...")],
                      tests=TESTS, prev_best_pass_rate=0.5, problem_id="p", turn=1, perturbed=True),
    ]  # fmt: skip
    dataset.write_text("".join(e.to_json() + "\n" for e in examples))
    out = tmp_path / "verl"
    counts = export_verl(dataset, out, model="/models/policy", require_think=False, cpu_s=2)
    return out, counts


def test_parquet_files_follow_verls_schema(exported):
    out, counts = exported
    assert counts == {"train": 2, "val": 2}
    rows = pq.read_table(out / "train.parquet").to_pylist()
    assert set(rows[0]) == {"data_source", "prompt", "ability", "reward_model", "extra_info"}
    assert rows[1]["prompt"][-1] == {"role": "user", "content": "Input:\n5\n..."}
    assert json.loads(rows[1]["reward_model"]["ground_truth"])["inputs"] == ["1\n", "5\n"]
    assert rows[1]["extra_info"]["prev_best_pass_rate"] == 0.5 and rows[1]["extra_info"]["perturbed"]
    assert pq.read_table(out / "val.parquet").to_pylist()[0]["extra_info"]["split"] == "val"
    script = (out / "run_verl.sh").read_text()
    assert "actor_rollout_ref.actor.kl_loss_type=mse" in script and "/models/policy" in script


def test_reward_module_scores_like_cobalt(exported):
    out, _ = exported
    module = load_reward_module(out)
    rows = pq.read_table(out / "train.parquet").to_pylist()

    async def score(solution, row):
        return await module.compute_score(
            row["data_source"], solution, row["reward_model"]["ground_truth"], row["extra_info"]
        )

    async def main():
        return [await score(RIGHT, rows[1]), await score(HALF, rows[1]), await score("no code", rows[0])]

    right, half, missing = asyncio.run(main())
    assert right["score"] == 1.0 and right["pass_rate"] == 1.0
    # pass rate 0.5 = the previous best: no gain, so the tier is replaced by -0.1 (docs/paper.md §2.6)
    assert half["score"] == pytest.approx(-0.1) and half["pass_rate"] == 0.5
    assert missing["score"] == -1.0


def test_validation_split_is_binary(exported):
    out, _ = exported
    module = load_reward_module(out)
    row = pq.read_table(out / "val.parquet").to_pylist()[1]
    gt = row["reward_model"]["ground_truth"]
    half = asyncio.run(module.compute_score("cobalt", HALF, gt, row["extra_info"]))
    right = asyncio.run(module.compute_score("cobalt", RIGHT, gt, row["extra_info"]))
    assert (half["score"], right["score"]) == (0.0, 1.0)
