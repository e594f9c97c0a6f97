"""The ``hf`` engine's decoding loop that drops finished rows: the same answers as transformers'
``generate``, and a batch that shrinks as its rows end."""

from __future__ import annotations

import pytest
import torch

from cobalt.records import Message
from cobalt.rollout.engines import make_policy
from cobalt.rollout.hf_decode import decode_dropping_finished
from cobalt.rollout.policy import PolicyConfig, SamplingParams


@pytest.fixture(scope="module")
def model_and_prompts(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    texts = ["def f(x):", "print(1)\n" * 9, "x = [1, 2, 3]\nfor item in x:", "a"]
    prompts = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    return model, tokenizer, prompts


def reference_greedy(model, tokenizer, prompts, new_tokens):
    """transformers' own greedy generate over the left-padded batch, run to ``new_tokens``."""
    tokenizer.padding_side = "left"
    batch = tokenizer.pad({"input_ids": prompts}, padding=True, return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(
            **batch, do_sample=False, max_new_tokens=new_tokens, min_new_tokens=new_tokens, pad_token_id=0
        )
    return out[:, batch["input_ids"].shape[1] :].tolist()


@pytest.mark.parametrize("static_cache", [True, False])
def test_rows_that_end_early_leave_the_batch_and_the_others_decode_as_generate_does(model_and_prompts, static_cache):
    model, tokenizer, prompts = model_and_prompts
    reference = reference_greedy(model, tokenizer, prompts, 24)
    ends_at = [3, 24, 9, 1]  # the step at which each row's answer ends
    batch_sizes: list[int] = []
    hook = model.register_forward_pre_hook(
        lambda _, args, kwargs: batch_sizes.append(kwargs["input_ids"].shape[0]), with_kwargs=True
    )
    try:
        with torch.inference_mode():
            out = decode_dropping_finished(
                model,
                prompts,
                pad_token_id=0,
                max_new_tokens=24,
                temperature=0.0,
                top_p=1.0,
                row_ended=lambda row, token, generated: generated >= ends_at[row],
                static_cache=static_cache,
            )
    finally:
        hook.remove()
    assert [len(tokens) for tokens in out] == ends_at
    for tokens, expected in zip(out, reference):
        assert tokens == expected[: len(tokens)]
    # the prompt, then one step per new token of the longest row; rows leave as they end
    assert len(batch_sizes) == 24
    assert batch_sizes[0] == 4 and batch_sizes[-1] == 1
    assert batch_sizes == sorted(batch_sizes, reverse=True)


def test_a_near_zero_top_p_samples_the_greedy_answer(model_and_prompts):
    model, tokenizer, prompts = model_and_prompts
    reference = reference_greedy(model, tokenizer, prompts, 10)
    torch.manual_seed(0)
    with torch.inference_mode():
        out = decode_dropping_finished(
            model,
            prompts,
            pad_token_id=0,
            max_new_tokens=10,
            temperature=0.7,
            top_p=1e-6,
            row_ended=lambda row, token, generated: False,
            static_cache=True,
        )
    assert out == reference


def conversation(text: str) -> list[Message]:
    return [Message(role="system", content="Be brief."), Message(role="user", content=text)]


def test_the_policy_gives_the_same_greedy_answers_with_and_without_dropping_rows(tiny_model_dir):
    conversations = [conversation("x = 1"), conversation("a much longer request " * 12), conversation("def f():")]
    greedy = SamplingParams(n=2, temperature=0.0, max_new_tokens=16)
    answers = {}
    for drop in (True, False):
        config = PolicyConfig(engine="hf", model=str(tiny_model_dir), device="cpu", drop_finished_rows=drop)
        policy = make_policy(config)
        answers[drop] = [
            [(c.text, c.completion_tokens, c.finish_reason) for c in cs]
            for cs in policy.generate(conversations, greedy)
        ]
        policy.close()
    assert answers[True] == answers[False]


def test_the_samples_of_one_prompt_share_its_prefill_and_still_differ(model_and_prompts):
    model, _, prompts = model_and_prompts
    rows = [prompts[0]] * 3 + [prompts[2]] * 3
    prefill_rows: list[int] = []

    def first_call(_, args, kwargs):
        if not prefill_rows:
            prefill_rows.append(kwargs["input_ids"].shape[0])

    hook = model.register_forward_pre_hook(first_call, with_kwargs=True)
    torch.manual_seed(0)
    try:
        with torch.inference_mode():
            out = decode_dropping_finished(
                model,
                rows,
                pad_token_id=0,
                max_new_tokens=12,
                temperature=1.0,
                top_p=1.0,
                row_ended=lambda row, token, generated: False,
                static_cache=True,
            )
    finally:
        hook.remove()
    assert prefill_rows == [2]  # two distinct prompts computed once each
    assert len({tuple(tokens) for tokens in out[:3]}) > 1  # independent samples of one prompt
