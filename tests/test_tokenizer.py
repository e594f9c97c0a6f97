"""The one tokenizer loader: every stage gets a left-padded tokenizer with a padding token and a
chat template, or one clear error naming what it was given."""

from __future__ import annotations

import json
import shutil

import pytest

from cobalt.jsonl import InputError
from cobalt.records import Message
from cobalt.tokenizer import load_tokenizer, prompt_token_counter


def test_a_model_directory_gives_a_left_padded_chat_tokenizer(tiny_model_dir):
    tokenizer = load_tokenizer(tiny_model_dir, local_only=True)
    assert tokenizer.padding_side == "left" and tokenizer.pad_token is not None and tokenizer.chat_template
    prompt = [Message(role="user", content="add 2 and 3")]
    rendered = tokenizer.apply_chat_template(
        [m.model_dump() for m in prompt], add_generation_prompt=True, tokenize=False
    )
    assert prompt_token_counter(tokenizer)(prompt) == len(tokenizer(rendered, add_special_tokens=False)["input_ids"])


def test_a_missing_directory_is_refused_before_anything_loads(tmp_path):
    with pytest.raises(InputError, match="not a directory"):
        load_tokenizer(tmp_path / "missing", local_only=True)


def test_a_tokenizer_without_a_chat_template_is_refused(tiny_model_dir, tmp_path):
    plain = tmp_path / "plain"
    shutil.copytree(tiny_model_dir, plain)
    config_path = plain / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config.pop("chat_template", None)
    config_path.write_text(json.dumps(config))
    (plain / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(InputError, match="no chat template"):
        load_tokenizer(plain, local_only=True)
