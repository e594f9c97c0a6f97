"""The k2 KL extension: TRL's own k3 path is reproduced exactly by our aggregation, and k2 adds
beta x mean(0.5 (logp - ref)^2) with the same normalisation, for every supported loss type."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
trl = pytest.importorskip("trl")

from cobalt.train.kl import K2KLMixin, check_trl_version, k2_per_token  # noqa: E402
from cobalt.train.trainer import grpo_trainer_class  # noqa: E402

BETA = 0.3


def make_trainer(grpo_trainer, tmp_path, kl_estimator: str, loss_type: str):
    trainer = grpo_trainer(grpo_trainer_class(kl_estimator), tmp_path, 2, 6, beta=BETA, loss_type=loss_type)
    trainer.current_gradient_accumulation_steps = 1
    return trainer


def fake_inputs(vocab: int) -> dict:
    generator = torch.Generator().manual_seed(0)
    completion_mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]])
    return {
        "prompt_ids": torch.randint(0, vocab, (2, 5), generator=generator),
        "prompt_mask": torch.ones(2, 5, dtype=torch.long),
        "completion_ids": torch.randint(0, vocab, (2, 6), generator=generator),
        "completion_mask": completion_mask,
        "advantages": torch.tensor([0.7, -0.7]),
        "ref_per_token_logps": -torch.rand(2, 6, generator=generator) * 5,
        "num_items_in_batch": completion_mask.sum(),
    }


def policy_logps(trainer, inputs):
    input_ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], dim=1)
    mask = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1)
    return trainer._get_per_token_logps_and_entropies(trainer.model, input_ids, mask, 6)[0].detach()


@pytest.mark.parametrize("loss_type", ["dapo", "grpo", "bnpo", "dr_grpo"])
def test_k2_adds_beta_times_the_aggregated_squared_log_ratio(grpo_trainer, tmp_path, loss_type):
    k3 = make_trainer(grpo_trainer, tmp_path / "k3", "k3", loss_type)
    k2 = make_trainer(grpo_trainer, tmp_path / "k2", "k2", loss_type)
    k2.model.load_state_dict(k3.model.state_dict())
    inputs = fake_inputs(k3.model.config.vocab_size)
    logps = policy_logps(k3, inputs)
    ref, mask = inputs["ref_per_token_logps"], inputs["completion_mask"]

    k3.beta = 0.0
    policy_only = k3._compute_loss(k3.model, inputs).item()
    k3.beta = BETA
    trl_k3 = k3._compute_loss(k3.model, inputs).item()
    ours_k2 = k2._compute_loss(k2.model, inputs).item()

    per_token_k3 = torch.exp(ref - logps) - (ref - logps) - 1
    # Our aggregation reproduces TRL's own k3 loss: the normalisation mirrors TRL exactly.
    assert trl_k3 == pytest.approx(
        policy_only + BETA * K2KLMixin._aggregate(k2, per_token_k3, mask, inputs).item(), rel=1e-5
    )
    expected = policy_only + BETA * K2KLMixin._aggregate(k2, k2_per_token(logps, ref), mask, inputs).item()
    assert ours_k2 == pytest.approx(expected, rel=1e-5)
    assert ours_k2 != pytest.approx(trl_k3, rel=1e-3)
    assert k2._metrics["train"]["kl"][-1] == pytest.approx(
        ((0.5 * (logps - ref) ** 2) * mask).sum().item() / mask.sum().item(), rel=1e-5
    )


def test_k2_gradient_matches_the_closed_form(grpo_trainer, tmp_path):
    trainer = make_trainer(grpo_trainer, tmp_path, "k2", "bnpo")
    inputs = fake_inputs(trainer.model.config.vocab_size)
    inputs["advantages"] = torch.zeros(2)  # isolate the KL term: zero advantages, zero policy gradient
    trainer.model.zero_grad()
    trainer._compute_loss(trainer.model, inputs).backward()
    got = {name: p.grad.clone() for name, p in trainer.model.named_parameters() if p.grad is not None}

    trainer.model.zero_grad()
    input_ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], dim=1)
    attention = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1)
    logps = trainer._get_per_token_logps_and_entropies(trainer.model, input_ids, attention, 6)[0]
    mask = inputs["completion_mask"]
    (BETA * (0.5 * (logps - inputs["ref_per_token_logps"]) ** 2 * mask).sum() / mask.sum()).backward()
    for name, param in trainer.model.named_parameters():
        if param.grad is not None:
            assert torch.allclose(got[name], param.grad, atol=1e-6), name


def test_untested_trl_versions_are_refused(monkeypatch):
    monkeypatch.delenv("COBALT_ALLOW_UNTESTED_TRL", raising=False)
    check_trl_version(trl.__version__)
    with pytest.raises(RuntimeError, match="verified against TRL"):
        check_trl_version("2.0.0")
    monkeypatch.setenv("COBALT_ALLOW_UNTESTED_TRL", "1")
    check_trl_version("2.0.0")
    with pytest.raises(ValueError, match="'k2' or 'k3'"):
        grpo_trainer_class("k1")
