"""`cobalt export verl`: verl's parquet schema, and its reward module scoring real programs with the
reference's rules: a 30 s budget per program, length terms in tokens, the strip comparator."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

pq = pytest.importorskip("pyarrow.parquet")

from cobalt.records import BanditExample, Message, Tests  # noqa: E402
from cobalt.train.verl_export import export_verl, length_tokenizer, load_reward_module  # noqa: E402

TESTS = Tests(inputs=["1\n", "5\n"], outputs=["2\n", "6\n"])
RIGHT = "```python\nprint(int(input()) + 1)\n```"
HALF = "```python\nx = int(input())\nprint(2 if x == 1 else 0)\n```"


@pytest.fixture
def no_tiktoken(monkeypatch):
    """An environment without tiktoken (as this one, offline): the policy's tokenizer counts."""
    monkeypatch.setitem(sys.modules, "tiktoken", None)


def export(tmp_path, model, **settings):
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
    settings = {"cpu_s": 2, "val": dataset, **settings}
    counts = export_verl(dataset, out, model=str(model), require_think=False, **settings)
    return out, counts


@pytest.fixture
def exported(tmp_path, tiny_model_dir, no_tiktoken):
    return export(tmp_path, tiny_model_dir)


def score(module, out, solution, split="train", row=1):
    row = pq.read_table(out / f"{split}.parquet").to_pylist()[row]
    return asyncio.run(
        module.compute_score(row["data_source"], solution, row["reward_model"]["ground_truth"], row["extra_info"])
    )


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
    assert "actor_rollout_ref.actor.kl_loss_type=mse" in script and str(out.parent / "verl") not in script


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


def test_reward_module_has_the_references_whole_program_budget(exported):
    module = load_reward_module(exported[0])
    executor, _, _ = module._sandbox()
    assert executor.executor.config.limits.program_budget_s == 30.0  # the reference's suite timeout


def test_a_program_that_runs_long_is_cut_at_the_budget_and_fails(tmp_path, tiny_model_dir, no_tiktoken):
    dataset = tmp_path / "five.jsonl"
    tests = Tests(inputs=[f"{i}\n" for i in range(5)], outputs=[f"{i + 1}\n" for i in range(5)])
    example = BanditExample(id="q#0", prompt=[Message(role="user", content="add one")], tests=tests,
                            prev_best_pass_rate=0.0, problem_id="q", turn=0)  # fmt: skip
    dataset.write_text(example.to_json() + "\n")
    out = tmp_path / "verl"
    export_verl(dataset, out, val=dataset, model=str(tiny_model_dir), require_think=False, cpu_s=1, budget_s=1.5)
    module = load_reward_module(out)
    slow = "```python\nimport time\ntime.sleep(0.9)\nprint(int(input()) + 1)\n```"  # right, 0.9 s a test
    started = time.monotonic()
    result = score(module, out, slow, row=0)
    # cut once the 1.5 s budget is spent (5 tests need 4.5 s): the tests not reached fail
    assert time.monotonic() - started < 4
    assert 0.0 < result["pass_rate"] < 1.0 and result["score"] < 1.0
    assert score(module, out, slow, split="val", row=0)["score"] == 0.0


def test_length_terms_are_counted_with_a_tokenizer(exported, tiny_model_dir):
    out, _ = exported
    module = load_reward_module(out)
    # 1500 characters are 375 tokens at 4 characters a token (under the 512-token limit on the
    # explanation after the code) but over 512 tokens of a real tokenizer
    explanation = " ".join(f"q{i}z" for i in range(300))
    assert module._sandbox()[2].encode(explanation, add_special_tokens=False).__len__() > 512
    assert score(module, out, RIGHT + "\n" + explanation)["score"] == pytest.approx(0.99)  # -0.01: too long
    assert score(module, out, RIGHT + "\nDone.")["score"] == 1.0


def test_length_tokenizer_is_tiktoken_o200k_base_when_it_loads(monkeypatch, tiny_model_dir):
    encoding = SimpleNamespace(encode_ordinary=lambda text: text.split())
    loaded = []
    fake = SimpleNamespace(get_encoding=lambda name: loaded.append(name) or encoding)
    monkeypatch.setitem(sys.modules, "tiktoken", fake)
    assert length_tokenizer("o200k_base", str(tiny_model_dir)) is encoding and loaded == ["o200k_base"]

    def offline(name):
        raise ConnectionError("no network for the encoding file")

    monkeypatch.setitem(sys.modules, "tiktoken", SimpleNamespace(get_encoding=offline))
    fallback = length_tokenizer("o200k_base", str(tiny_model_dir))
    assert fallback.encode("print(1)", add_special_tokens=False)  # the policy's tokenizer
    assert length_tokenizer("", str(tiny_model_dir)).encode("x", add_special_tokens=False)


def test_reward_module_compares_outputs_as_the_reference_did(exported):
    out, _ = exported
    module = load_reward_module(out)
    indented = "```python\nprint('  ' + str(int(input()) + 1))\n```"  # output.strip() == expected.strip()
    assert score(module, out, indented)["score"] == 1.0


# --- verl's own validation of the launch script -----------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
# verl 0.9 and the few pure-Python packages its config code imports, installed without their
# dependencies (`make` does it; docs/train.md, "verl export"), on the path of the checking process only.
VERL_CHECK = Path(os.environ.get("COBALT_VERL_CHECK", REPO / ".venv" / "verl-check"))
needs_verl = pytest.mark.skipif(
    not (VERL_CHECK / "verl" / "trainer" / "config" / "ppo_trainer.yaml").exists(),
    reason=f"verl 0.9 is not installed for the config check in {VERL_CHECK}: run `make .venv/verl-check/.installed` "
    "(pip install --no-deps --target .venv/verl-check -c constraints.txt verl hydra-core ...; see the Makefile)",
)


def launch(out, **env):
    """Run the exported run_verl.sh as a user would, with `python3` standing in for verl's trainer:
    verl's own Hydra config composed with the script's arguments and verl's validate_config."""
    shim = out.parent / "bin"
    shim.mkdir(exist_ok=True)
    driver = REPO / "tests" / "train" / "verl_main_ppo.py"
    (shim / "python3").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{driver}" "$@"\n')
    (shim / "python3").chmod(0o755)
    environ = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}", "PYTHONPATH": str(VERL_CHECK), **env}
    done = subprocess.run(["bash", str(out / "run_verl.sh")], env=environ, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def bandit_file(tmp_path, problems=10):
    examples = [
        BanditExample(id=f"p{i}#{turn}", prompt=[Message(role="user", content=f"add {i}")], tests=TESTS,
                      prev_best_pass_rate=0.0, problem_id=f"p{i}", turn=turn)
        for i in range(problems) for turn in (0, 1)
    ]  # fmt: skip
    path = tmp_path / "bandit.jsonl"
    path.write_text("".join(e.to_json() + "\n" for e in examples))
    return path


@needs_verl
def test_the_launch_script_passes_verls_own_validation_on_4_and_8_gpus(tmp_path):
    out = tmp_path / "verl"
    export_verl(bandit_file(tmp_path), out, model="Qwen/Qwen3-8B", val_problems=2)
    four = launch(out)
    # the reference's node: 1 x 4 GPUs, its offloads and log-prob micro-batches
    assert four["n_gpus"] == 4
    assert four["optimizer_offload"] is True and four["ref_param_offload"] is True
    assert four["ref_log_prob_micro_batch_size_per_gpu"] == 16
    # loggers that need no login, a held-out validation split, at most 2 checkpoints kept
    assert four["logger"] == ["console", "tensorboard"]
    assert four["val_before_train"] is True and four["test_freq"] == 10
    assert four["max_actor_ckpt_to_keep"] == 2
    assert four["train_files"] == str(out / "train.parquet") and four["val_files"] == str(out / "val.parquet")
    assert four["reward_path"] == str(out / "cobalt_verl_reward.py") and four["model"] == "Qwen/Qwen3-8B"
    eight = launch(out, GPUS="8")
    assert eight["n_gpus"] == 8


@needs_verl
def test_without_validation_verl_never_validates(tmp_path):
    out = tmp_path / "verl"
    counts = export_verl(bandit_file(tmp_path), out, val_problems=0)
    assert counts == {"train": 20, "val": 0}
    settings = launch(out)
    assert settings["val_before_train"] is False and settings["test_freq"] == -1


def test_validation_is_a_held_out_split_of_whole_problems(tmp_path):
    out = tmp_path / "verl"
    counts = export_verl(bandit_file(tmp_path), out, val_problems=3, seed=1)
    assert counts == {"train": 14, "val": 6}
    train = {r["extra_info"]["problem_id"] for r in pq.read_table(out / "train.parquet").to_pylist()}
    val = {r["extra_info"]["problem_id"] for r in pq.read_table(out / "val.parquet").to_pylist()}
    assert len(val) == 3 and not train & val
    with pytest.raises(ValueError, match="--val"):
        export_verl(bandit_file(tmp_path, problems=4), tmp_path / "small", val_problems=3)


def test_reward_module_takes_its_sandbox_settings_from_the_export_or_the_environment(
    tmp_path, monkeypatch, tiny_model_dir, no_tiktoken
):
    dataset = bandit_file(tmp_path)
    out = tmp_path / "verl"
    export_verl(
        dataset, out, val=dataset, model=str(tiny_model_dir),
        sandbox_tier="process", sandbox_allow_unsafe=True, sandbox_workers=1,
    )  # fmt: skip
    config = load_reward_module(out)._sandbox()[0].executor.config
    assert (config.tier, config.allow_unsafe, config.workers) == ("process", True, 1)
    monkeypatch.setenv("COBALT_SANDBOX_TIER", "auto")
    monkeypatch.setenv("COBALT_ALLOW_UNSAFE", "0")
    monkeypatch.setenv("COBALT_SANDBOX_WORKERS", "2")
    config = load_reward_module(out)._sandbox()[0].executor.config
    assert (config.tier, config.allow_unsafe, config.workers) == ("auto", False, 2)
