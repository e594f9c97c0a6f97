"""The demo's whole pipeline at miniature scale: every stage runs (the two seeds train at once, in
two processes), writes its outputs and marker, and a second run resumes without redoing anything
(what `make demo` relies on)."""

from __future__ import annotations

import json

from cobalt.demo import DemoConfig, DemoRun, WarmupConfig

MINIATURE = DemoConfig(
    train_problems=24,
    rl_problems=4,
    test_problems=4,
    warmup=WarmupConfig(epochs=0.5, batch_size=8),
    collect_samples=2,
    eval_samples=1,
    train_seeds=(0, 1),
    train_steps=1,
    grpo_overrides={
        "prompts_per_step": 2,
        "prompts_per_update": 2,
        "num_generations": 2,
        "per_device_train_batch_size": 4,
    },
    max_new_tokens=24,
)
STAGES = ["problems", "base", "warmup", "collect", "bandit", "train-cobalt-0", "train-cobalt-1"]
STAGES += ["eval-base", "eval-cobalt-seed0", "eval-cobalt-seed1"]


def test_the_demo_runs_every_stage_then_resumes_without_redoing_any(tmp_path):
    said: list[str] = []
    report = DemoRun(tmp_path, MINIATURE, say=said.append).run()

    assert all((tmp_path / f"{stage}.done").exists() for stage in STAGES)
    assert (tmp_path / "model-sft" / "config.json").exists()
    assert any(line.startswith("[train-cobalt] seeds 0, 1 at once") for line in said)
    for seed in (0, 1):
        assert (tmp_path / "models" / f"cobalt-{seed}" / "final" / "config.json").exists()
        assert report["timings_s"][f"train-cobalt-{seed}"] > 0
    assert (tmp_path / "pass_at_1.png").stat().st_size > 0
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["wall_s"] >= saved["timings_s"]["warmup"]
    assert saved["problems"] == 4 and len(saved["base_pass_at_1"]) == MINIATURE.eval_turns + 1
    assert set(saved["trained_pass_at_1"]) == {"cobalt-seed0", "cobalt-seed1"}
    assert saved["learning_claim_holds"] == report["learning_claim_holds"]
    assert any("held-out problems" in line for line in said)

    again: list[str] = []
    DemoRun(tmp_path, MINIATURE, say=again.append).run()
    assert [line for line in again if line.endswith("already done")] == [f"[{s}] already done" for s in STAGES]
