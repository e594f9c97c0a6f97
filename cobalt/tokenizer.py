"""The one tokenizer loader, and prompt lengths as a model sees them.

Every stage that reads a tokenizer (the transformers policy, the bandit builder's prompt-length
limit, the trainers) loads it here, so that they agree on padding (left: generation appends on the
right), on the padding token (the end-of-sequence token when the tokenizer has none) and on the one
requirement Cobalt has of a tokenizer: a chat template, because every prompt is a conversation.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cobalt.jsonl import InputError
from cobalt.records import Message

TokenCounter = Callable[[list[Message]], int]


def load_tokenizer(source: str | os.PathLike, *, local_only: bool = False, trust_remote_code: bool = False) -> Any:
    """The tokenizer of a model directory or hub id, padded on the left, with a padding token.

    ``local_only`` requires a local directory and never downloads. A missing directory, a
    tokenizer that cannot be loaded or one without a chat template is bad input
    (:class:`~cobalt.jsonl.InputError` naming ``source``).
    """
    if local_only and not Path(source).is_dir():
        raise InputError(source, "not a directory: give a local tokenizer or model directory")
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(
            str(source), local_files_only=local_only, trust_remote_code=trust_remote_code
        )
    except (OSError, ValueError) as err:
        raise InputError(source, f"cannot load a tokenizer: {err}") from None
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not getattr(tokenizer, "chat_template", None):
        raise InputError(source, "the tokenizer has no chat template; Cobalt's prompts are conversations")
    return tokenizer


def prompt_token_counter(tokenizer: Any) -> TokenCounter:
    """Tokens of a prompt as the model will see it: chat template plus generation prompt.

    The count asks for ``input_ids`` explicitly: with transformers >= 5,
    ``len(apply_chat_template(...))`` is the number of keys of a dict.
    """

    def count(messages: list[Message]) -> int:
        rendered = tokenizer.apply_chat_template(
            [m.model_dump() for m in messages], add_generation_prompt=True, tokenize=True, return_dict=True
        )
        return len(rendered["input_ids"])

    return count
