"""Engine edge cases: the OpenAI token-limit field and reasoning fields, and a conversation longer than
vLLM's context window (checked without vLLM)."""

from __future__ import annotations

from typing import Any

import pytest
from rollout_testkit import ChatServer, HTTPFailure

from cobalt.records import Message
from cobalt.rollout.policy import SamplingParams
from cobalt.rollout.vllm_engine import PROMPT_TOO_LONG, VLLMPolicy, over_length


def conversation(text: str) -> list[Message]:
    return [Message(role="user", content=text)]


def openai_policy(server: ChatServer):
    from cobalt.rollout.openai_api import OpenAIPolicy

    return OpenAIPolicy("served-model", base_url=server.url, backoff_s=0.01)


class OldServer(ChatServer):
    """A server that only knows max_tokens and refuses the newer field by name, as pydantic-strict servers do."""

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        if "max_completion_tokens" in body:
            raise HTTPFailure(400, "Unrecognized request argument supplied: max_completion_tokens")
        return super()._completion(body)


class ReasoningServer(ChatServer):
    """vLLM's server with a reasoning parser: thinking in `reasoning_content`, the answer in `content`."""

    def __init__(self, reasoning: list[str], contents: list[str | None]):
        super().__init__(lambda messages, n: [""] * n)
        self.reasoning, self.contents = reasoning, contents

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        payload = super()._completion(body)
        for choice, reasoning, content in zip(payload["choices"], self.reasoning, self.contents):
            choice["message"] = {"role": "assistant", "content": content, "reasoning_content": reasoning}
        return payload


def test_openai_sends_max_completion_tokens():
    with ChatServer(lambda messages, n: ["ok"] * n) as server:
        openai_policy(server).generate([conversation("a")], SamplingParams(n=1, max_new_tokens=77))
    assert server.requests[0]["max_completion_tokens"] == 77 and "max_tokens" not in server.requests[0]


def test_openai_falls_back_to_max_tokens_once_for_a_server_that_refuses_it():
    with OldServer(lambda messages, n: ["ok"] * n) as server:
        policy = openai_policy(server)
        results = policy.generate([conversation("a")], SamplingParams(n=1, max_new_tokens=77))
        policy.generate([conversation("b")], SamplingParams(n=1, max_new_tokens=77))
    assert results[0][0].text == "ok"
    fields = [("max_completion_tokens" in r, r.get("max_tokens")) for r in server.requests]
    assert fields == [(True, None), (False, 77), (False, 77)]  # one refusal, then max_tokens for good
    assert policy.usage.retries == 0


def test_openai_puts_separately_returned_reasoning_back_in_front():
    from cobalt.rollout.prompts import extract_code

    answer = "```python\nprint(1)\n```"
    with ReasoningServer(["Let me think.", "Still thinking about"], [answer, None]) as server:
        (results,) = openai_policy(server).generate([conversation("a")], SamplingParams(n=2))
    finished, cut = (c.text for c in results)
    assert finished == f"<think>\nLet me think.\n</think>\n\n{answer}"
    assert cut == "<think>\nStill thinking about"
    assert extract_code(finished, reasoning=True) == "print(1)" and extract_code(cut, reasoning=True) is None


# --- vLLM: one over-length conversation must not sink the batch ------------------------------------------


def test_over_length_marks_prompts_that_leave_no_room_for_a_token():
    assert over_length([10, 99, 100, 250], 100) == [False, False, True, True]
    assert over_length([10, 10_000], None) == [False, False]


class FakeTokenizer:
    def apply_chat_template(self, messages, tokenize, add_generation_prompt, **kwargs):
        assert not tokenize and add_generation_prompt
        return " ".join(m["content"] for m in messages) + (" think" if kwargs.get("enable_thinking") else "")

    def __call__(self, text, add_special_tokens):
        return {"input_ids": text.split()}


class FakeLLM:
    """What VLLMPolicy uses of vllm.LLM; raises as vLLM does when any prompt is too long."""

    def __init__(self, max_model_len: int):
        self.llm_engine = type("Engine", (), {"model_config": type("C", (), {"max_model_len": max_model_len})()})()
        self.calls: list[list] = []

    def get_tokenizer(self):
        return FakeTokenizer()

    def chat(self, conversations, sampling_params, use_tqdm, chat_template_kwargs):
        self.calls.append(conversations)
        tokenizer = FakeTokenizer()
        outputs = []
        for messages in conversations:
            ids = tokenizer(tokenizer.apply_chat_template(messages, False, True), False)["input_ids"]
            if len(ids) >= self.llm_engine.model_config.max_model_len:
                raise ValueError("The decoder prompt is longer than the maximum model length")
            sample = type("S", (), {"text": f"answer to {len(ids)}", "token_ids": [1, 2], "finish_reason": "stop"})()
            outputs.append(type("O", (), {"prompt_token_ids": ids, "outputs": [sample] * sampling_params.n})())
        return outputs


def fake_vllm_policy(max_model_len: int) -> VLLMPolicy:
    policy = VLLMPolicy.__new__(VLLMPolicy)  # no vllm here: the engine is replaced by FakeLLM
    policy.__dict__.update(
        llm=FakeLLM(max_model_len),
        chat_template_kwargs={},
        skipped_prompts=0,
        _lock=__import__("threading").Lock(),
        _vllm=type("V", (), {"SamplingParams": lambda **kw: type("P", (), kw)()}),
    )
    from cobalt.rollout.policy import Usage

    policy.usage = Usage()
    return policy


def test_vllm_answers_an_over_length_conversation_empty_and_generates_the_rest(caplog):
    policy = fake_vllm_policy(max_model_len=8)
    batch = [conversation("one two"), conversation("w " * 20), conversation("three")]
    results = policy.generate(batch, SamplingParams(n=2))
    assert [[c.text for c in r] for r in results] == [
        ["answer to 2", "answer to 2"],
        ["", ""],
        ["answer to 1", "answer to 1"],
    ]
    assert {c.finish_reason for c in results[1]} == {PROMPT_TOO_LONG} and results[1][0].prompt_tokens == 20
    assert policy.skipped_prompts == 1 and len(policy.llm.calls[0]) == 2
    assert policy.usage.completions == 4  # the skipped conversation generated nothing
    assert "1 of 3 conversations are longer than vLLM's context of 8 tokens" in caplog.text


def test_vllm_with_every_conversation_too_long_calls_nothing():
    policy = fake_vllm_policy(max_model_len=2)
    results = policy.generate([conversation("a b c")], SamplingParams(n=1))
    assert results[0][0].finish_reason == PROMPT_TOO_LONG and policy.llm.calls == []


@pytest.mark.parametrize("limit", [100])
def test_vllm_without_over_length_prompts_is_unchanged(limit):
    policy = fake_vllm_policy(max_model_len=limit)
    results = policy.generate([conversation("a b"), conversation("c")], SamplingParams(n=1))
    assert [r[0].text for r in results] == ["answer to 2", "answer to 1"] and policy.skipped_prompts == 0
