"""Shared-prompt scoring gives TRL's log-probabilities, entropies and gradients, and steps aside
where it would not be safe."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
trl = pytest.importorskip("trl")

from cobalt.train import prefix  # noqa: E402
from cobalt.train.kl import K2KLMixin  # noqa: E402
from cobalt.train.prefix import PromptSharingMixin  # noqa: E402
from cobalt.train.trainer import grpo_trainer_class  # noqa: E402

GROUP = 3
COMPLETION = 7


def make_trainer(grpo_trainer, tmp_path, share_prompts: bool):
    return grpo_trainer(grpo_trainer_class("k3", share_prompts), tmp_path, GROUP, COMPLETION, temperature=1.3)


def grouped_batch(vocab: int) -> tuple:
    """Two left-padded prompts of different lengths, each repeated GROUP times, with completions
    whose masks end at different places (rows as GRPO lays them out)."""
    generator = torch.Generator().manual_seed(0)
    prompts = torch.randint(3, vocab, (2, 9), generator=generator)
    prompt_mask = torch.ones(2, 9, dtype=torch.long)
    prompt_mask[1, :4] = 0  # the second prompt is shorter: left padding
    prompt_ids = prompts.repeat_interleave(GROUP, dim=0)
    prompt_mask = prompt_mask.repeat_interleave(GROUP, dim=0)
    completions = torch.randint(3, vocab, (2 * GROUP, COMPLETION), generator=generator)
    completion_mask = torch.ones_like(completions)
    completion_mask[0, 4:] = 0
    completion_mask[4, 2:] = 0
    input_ids = torch.cat([prompt_ids, completions], dim=1)
    return input_ids, torch.cat([prompt_mask, completion_mask], dim=1), completion_mask


def scored(trainer, input_ids, attention_mask, completion_mask):
    trainer.model.zero_grad()
    logps, entropies, _ = trainer._get_per_token_logps_and_entropies(
        trainer.model, input_ids, attention_mask, COMPLETION, compute_entropy=True
    )
    (logps * completion_mask).sum().backward()
    grads = torch.cat([p.grad.flatten() for p in trainer.model.parameters() if p.grad is not None])
    return logps.detach(), entropies.detach(), grads


def test_shared_scoring_matches_trl_per_row_scoring(grpo_trainer, tmp_path, monkeypatch):
    calls = []
    real = prefix.shared_prompt_forward
    monkeypatch.setattr(prefix, "shared_prompt_forward", lambda *a: calls.append(a[1].shape) or real(*a))
    trl_trainer = make_trainer(grpo_trainer, tmp_path / "trl", share_prompts=False)
    shared_trainer = make_trainer(grpo_trainer, tmp_path / "shared", share_prompts=True)
    batch = grouped_batch(trl_trainer.model.config.vocab_size)

    expected = scored(trl_trainer, *batch)
    got = scored(shared_trainer, *batch)

    assert calls, "the shared path was not taken"
    torch.testing.assert_close(got[0], expected[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got[1], expected[1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got[2], expected[2], atol=1e-6, rtol=1e-4)


def test_shared_scoring_chunks_like_trl(grpo_trainer, tmp_path):
    """TRL passes a micro-batch size; rows are scored chunk by chunk, a group possibly split."""
    trainer = make_trainer(grpo_trainer, tmp_path, share_prompts=True)
    input_ids, mask, _ = grouped_batch(trainer.model.config.vocab_size)
    with torch.no_grad():
        whole = trainer._get_per_token_logps_and_entropies(trainer.model, input_ids, mask, COMPLETION)[0]
        chunked = trainer._get_per_token_logps_and_entropies(trainer.model, input_ids, mask, COMPLETION, 4)[0]
    torch.testing.assert_close(chunked, whole, atol=1e-5, rtol=1e-5)


def test_gradient_checkpointing_falls_back_to_trl(grpo_trainer, tmp_path, monkeypatch):
    monkeypatch.setattr(prefix, "shared_prompt_forward", lambda *a: pytest.fail("shared path under checkpointing"))
    trainer = make_trainer(grpo_trainer, tmp_path, share_prompts=True)
    trainer.model.gradient_checkpointing_enable()  # what Trainer.train does when the config asks for it
    input_ids, mask, completion_mask = grouped_batch(trainer.model.config.vocab_size)
    logps = scored(trainer, input_ids, mask, completion_mask)[0]
    assert logps.shape == (2 * GROUP, COMPLETION)


def test_sliding_window_models_are_not_shared(model_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    assert prefix.has_full_attention_cache(model)
    model.config.layer_types = ["sliding_attention"] * model.config.num_hidden_layers
    assert not prefix.has_full_attention_cache(model)


def test_trainer_class_composes_the_mixins():
    from trl import GRPOTrainer

    assert grpo_trainer_class("k3") is GRPOTrainer
    shared_k2 = grpo_trainer_class("k2", share_prompts=True)
    assert issubclass(shared_k2, K2KLMixin) and issubclass(shared_k2, PromptSharingMixin)
    assert shared_k2.__mro__.index(K2KLMixin) < shared_k2.__mro__.index(PromptSharingMixin)
