"""The three policy backends: transformers with the tiny local model, an OpenAI-compatible server
on localhost (real HTTP, real client), and vLLM's import guard (no GPU here)."""

from __future__ import annotations

import asyncio

import pytest
from rollout_testkit import ChatServer

from cobalt.records import Message
from cobalt.rollout.engines import make_policy
from cobalt.rollout.policy import PolicyConfig, PolicyError, SamplingParams, require


def conversation(text: str) -> list[Message]:
    return [Message(role="system", content="Be brief."), Message(role="user", content=text)]


# --- transformers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hf_policy(tiny_model_dir):
    policy = make_policy(PolicyConfig(engine="hf", model=str(tiny_model_dir), device="cpu", batch_size=4))
    yield policy
    policy.close()


def test_hf_returns_n_completions_per_conversation(hf_policy):
    params = SamplingParams(n=3, max_new_tokens=12)
    before = hf_policy.usage.completions
    results = hf_policy.generate([conversation("one"), conversation("two two"), conversation("3")], params)
    assert [len(r) for r in results] == [3, 3, 3]
    for completion in (c for r in results for c in r):
        assert isinstance(completion.text, str)
        assert 1 <= completion.completion_tokens <= 12
        assert completion.finish_reason in ("stop", "length")
        assert completion.prompt_tokens > 0
    assert hf_policy.usage.completions - before == 9


def test_hf_renders_the_tokenizers_chat_template(hf_policy):
    text = hf_policy.render(conversation("hello"))
    assert text.startswith("<|im_start|>system\nBe brief.<|im_end|>\n")
    assert text.endswith("<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n")


def test_hf_left_padding_does_not_change_greedy_output(hf_policy):
    """A short prompt batched with a much longer one (so padded on the left) decodes exactly as
    it does alone."""
    greedy = SamplingParams(n=1, temperature=0.0, max_new_tokens=8)
    short = conversation("x = 1")
    long = conversation("a much longer request " * 20)
    alone = hf_policy.generate([short], greedy)[0][0].text
    batched = hf_policy.generate([long, short], greedy)[1][0].text
    assert batched == alone


@pytest.mark.parametrize(
    ("dtype", "native", "autocast"), [("auto", True, True), ("auto", False, False), ("float32", True, False)]
)
def test_hf_on_a_cpu_autocasts_to_bf16_only_where_it_is_native_and_asked_for_auto(
    tiny_model_dir, monkeypatch, dtype, native, autocast
):
    from cobalt.hardware import ENV_OVERRIDE, cpu_has_fast_bf16

    monkeypatch.setenv(ENV_OVERRIDE, "1" if native else "0")
    cpu_has_fast_bf16.cache_clear()
    try:
        policy = make_policy(PolicyConfig(engine="hf", model=str(tiny_model_dir), device="cpu", dtype=dtype))
    finally:
        cpu_has_fast_bf16.cache_clear()
    assert policy.cpu_bf16_autocast is autocast
    assert str(policy.model.dtype) == "torch.float32"  # the weights stay float32 either way
    (completions,) = policy.generate([conversation("hi")], SamplingParams(n=2, max_new_tokens=6))
    assert len(completions) == 2
    policy.close()


def test_hf_generate_from_async_code_runs_in_a_thread(hf_policy):
    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        result = await hf_policy.agenerate([conversation("hi")], SamplingParams(n=2, max_new_tokens=24))
        task.cancel()
        return result, ticks

    result, ticks = asyncio.run(main())
    assert len(result[0]) == 2
    assert ticks > 1  # the event loop kept running while the model generated


# --- OpenAI-compatible server ---------------------------------------------------------------------


def echo_model(messages, n):
    return [f"answer {i} to: {messages[-1]['content']}" for i in range(n)]


def openai_policy(server: ChatServer, **kwargs):
    from cobalt.rollout.openai_api import OpenAIPolicy

    kwargs.setdefault("backoff_s", 0.01)
    return OpenAIPolicy("served-model", base_url=server.url, **kwargs)


def test_openai_backend_returns_n_choices_and_counts_tokens():
    with ChatServer(echo_model) as server:
        policy = openai_policy(server)
        results = policy.generate([conversation("a"), conversation("b")], SamplingParams(n=2, max_new_tokens=50))
    assert [[c.text for c in r] for r in results] == [
        ["answer 0 to: a", "answer 1 to: a"],
        ["answer 0 to: b", "answer 1 to: b"],
    ]
    body = server.requests[0]
    assert "max_tokens" not in body  # deprecated by OpenAI and refused by its reasoning models
    assert (body["model"], body["n"], body["max_completion_tokens"], body["temperature"], body["top_p"]) == (
        "served-model",
        2,
        50,
        0.6,
        0.95,
    )
    expected_prompt = sum(sum(len(m["content"]) for m in r["messages"]) // 4 for r in server.requests)
    assert policy.usage.prompt_tokens == expected_prompt
    assert policy.usage.completion_tokens == sum(len(c.text) // 4 + 1 for r in results for c in r)
    assert policy.usage.requests == 2 and policy.usage.completions == 4


def test_openai_backend_keeps_to_its_concurrency_limit():
    with ChatServer(echo_model, delay_s=0.1) as server:
        policy = openai_policy(server, concurrency=3)
        results = policy.generate([conversation(str(i)) for i in range(12)], SamplingParams(n=1))
    assert len(results) == 12
    assert server.max_in_flight == 3  # requests really ran in parallel, never more than 3


def test_openai_backend_retries_transient_failures():
    with ChatServer(echo_model, fail_first=2, fail_status=503) as server:
        policy = openai_policy(server, max_retries=3)
        results = policy.generate([conversation("a")], SamplingParams(n=1))
    assert results[0][0].text == "answer 0 to: a"
    assert policy.usage.retries == 2
    assert server.status_counts == {503: 2, 200: 1}


def test_openai_backend_retries_after_a_timeout():
    with ChatServer(echo_model, hang_first=1, hang_s=1.0) as server:
        policy = openai_policy(server, timeout_s=0.3, max_retries=2)
        results = policy.generate([conversation("a")], SamplingParams(n=1))
    assert results[0][0].text == "answer 0 to: a"
    assert policy.usage.retries == 1


def test_openai_backend_gives_up_at_once_on_a_bad_request():
    with ChatServer(echo_model, fail_first=5, fail_status=400) as server:
        policy = openai_policy(server, max_retries=3)
        with pytest.raises(PolicyError, match="HTTP 400"):
            policy.generate([conversation("a")], SamplingParams(n=1))
    assert len(server.requests) == 1


def test_openai_backend_gives_up_after_its_retries():
    with ChatServer(echo_model, fail_first=10, fail_status=500) as server:
        policy = openai_policy(server, max_retries=2)
        with pytest.raises(PolicyError, match="HTTP 500"):
            policy.generate([conversation("a")], SamplingParams(n=1))
    assert len(server.requests) == 3


def test_openai_backend_can_send_one_request_per_completion():
    with ChatServer(echo_model) as server:
        policy = openai_policy(server, n_in_request=False)
        results = policy.generate([conversation("a")], SamplingParams(n=3))
    assert len(results[0]) == 3
    assert [r["n"] for r in server.requests] == [1, 1, 1]


def test_openai_key_comes_from_the_named_environment_variable(monkeypatch):
    monkeypatch.setenv("COBALT_TEST_KEY", "sk-test-123")
    with ChatServer(echo_model) as server:
        policy = openai_policy(server, api_key_env="COBALT_TEST_KEY")
        policy.generate([conversation("a")], SamplingParams(n=1))
    assert server.authorizations == ["Bearer sk-test-123"]


def test_openai_without_a_key_for_the_public_api_is_refused(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        make_policy(PolicyConfig(engine="openai", model="gpt-x"))


# --- vLLM -----------------------------------------------------------------------------------------


def test_vllm_backend_names_its_extra_when_vllm_is_missing():
    try:
        import vllm  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("vllm is installed here")
    with pytest.raises(ImportError, match=r"pip install -e '\.\[vllm\]'"):
        make_policy(PolicyConfig(engine="vllm", model="any"))


def test_require_names_the_extra():
    with pytest.raises(ImportError, match=r"'\.\[openai\]'"):
        require("no_such_module_for_cobalt", extra="openai")
