"""The tiny local model: its shape, its tokenizer, and that it loads like any hub model."""

from __future__ import annotations

import pytest

from cobalt.demo.tiny_model import TURN_END, build_model, build_tiny_model_dir, build_tokenizer, count_parameters

CORPUS = ["def add(a, b):\n    return a + b\n", "print(sum(map(int, input().split())))\n"] * 50


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer(CORPUS, vocab_size=400)


def test_digits_are_split_one_by_one(tokenizer):
    pieces = tokenizer.tokenize("x = 1234 + 57")
    assert [p for p in pieces if p.strip("Ġ").isdigit()] == ["1", "2", "3", "4", "5", "7"]


def test_any_text_round_trips_through_the_byte_level_vocabulary(tokenizer):
    text = "naïve ünïcode → 42 \x00 tabs\tand\nnewlines"
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text


def test_chat_template_is_chatml_and_generation_stops_at_the_end_of_turn(tokenizer):
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == "<|im_start|>system\ns<|im_end|>\n<|im_start|>user\nu<|im_end|>\n<|im_start|>assistant\n"
    assert tokenizer.eos_token == TURN_END and tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.padding_side == "left"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_tokens_to_ids("<|im_start|>") in ids  # special tokens stay whole


def test_model_has_the_feasibility_studys_shape():
    tokenizer = build_tokenizer(vocab_size=1024)
    model = build_model(tokenizer)
    config = model.config
    assert (config.hidden_size, config.num_hidden_layers, config.intermediate_size) == (192, 4, 512)
    assert (config.num_attention_heads, config.num_key_value_heads) == (6, 2)
    assert config.tie_word_embeddings and config.vocab_size == len(tokenizer) == 1024
    assert 1.6e6 < count_parameters(model) < 1.9e6
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id


def test_saved_directory_loads_with_auto_classes_and_encodes_identically(tmp_path, tokenizer):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = build_tiny_model_dir(tmp_path / "m", tokenizer=tokenizer)
    loaded = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    text = "Read n, then print(n * 2)  # 12345 ∑ <|im_start|>user\nhi<|im_end|>\n"
    assert loaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert loaded.chat_template == tokenizer.chat_template and loaded.padding_side == "left"
    assert model.config.model_type == "qwen2"
