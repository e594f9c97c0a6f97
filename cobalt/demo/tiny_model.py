"""A tiny chat model built locally, with no download: for tests, benchmarks and the CPU demo.

:func:`build_tokenizer` trains a byte-level BPE tokenizer with the ``tokenizers`` library on a text
corpus and wraps it as a ``transformers`` fast tokenizer with ChatML turns; :func:`build_model`
makes a randomly initialised ``Qwen2`` causal LM of about 1.7 M parameters sized to it;
:func:`build_tiny_model_dir` saves both as an ordinary Hugging Face model directory that every
Cobalt engine loads like any hub model.

Facts carried over from the feasibility study (docs/paper.md §C): hidden size 192,
4 layers, 6 heads with 2 key/value heads, intermediate 512, tied embeddings, a vocabulary of about
1024, and **digits split one by one** before the byte-level step (with merged-number tokens a tiny
model never learns to copy an unseen constant). End of sequence is the end-of-turn token so that
generation stops where a chat turn ends; padding is on the left for batched generation.

A freshly built model writes noise: it is for testing mechanics (shapes, batching, resumption,
ordering), never quality. The demo trains it before use.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # heavy imports stay inside the functions
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

PAD_TOKEN = "<|endoftext|>"
TURN_START = "<|im_start|>"
TURN_END = "<|im_end|>"
SPECIAL_TOKENS = (PAD_TOKEN, TURN_START, TURN_END)

# The word split of transformers' Qwen2 tokenizer (it already isolates each digit, so running
# ``Digits(individual_digits=True)`` before it changes nothing at load time).
QWEN2_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# ChatML: every message is "<|im_start|>{role}\n{content}<|im_end|>\n"; a generation prompt opens an
# assistant turn, which the model closes with <|im_end|> (its end-of-sequence token).
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@dataclass(frozen=True)
class TinyModelConfig:
    """Shape of the tiny model (defaults: the feasibility study's ~1.7 M-parameter model)."""

    vocab_size: int = 1024
    hidden_size: int = 192
    num_hidden_layers: int = 4
    num_attention_heads: int = 6
    num_key_value_heads: int = 2
    intermediate_size: int = 512
    max_position_embeddings: int = 8192
    seed: int = 0


def default_corpus() -> Iterator[str]:
    """Offline training text for the tokenizer when none is given: Python source from the standard
    library (code-shaped text, present on every machine) and Cobalt's own prompts."""
    import argparse
    import heapq
    import json
    import string
    import textwrap

    from cobalt.rollout import prompts

    for module in (textwrap, string, heapq, json.decoder, json.encoder, argparse):
        yield inspect.getsource(module)
    yield prompts.SYSTEM_PROMPT
    yield prompts.REPAIR_TEMPLATE
    yield prompts.NO_CODE_FEEDBACK


def build_tokenizer(corpus: Iterable[str] | None = None, vocab_size: int = 1024) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer on ``corpus`` and wrap it for ``transformers``.

    The result has a ChatML chat template, ``<|endoftext|>`` as padding, left padding, and
    ``<|im_end|>`` as end of sequence. Any byte sequence can be encoded (byte-level alphabet).
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    # Digits one by one first; then the same word split, byte mapping and normaliser that
    # transformers' Qwen2 tokenizer class rebuilds when the directory is loaded with AutoTokenizer
    # (it ignores the saved pre-tokenizer for model type qwen2), so that the tokenizer a model is
    # trained with and the one loaded later encode every text identically.
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.Split(Regex(QWEN2_SPLIT_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus if corpus is not None else default_corpus(), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=TURN_END,
        pad_token=PAD_TOKEN,
        padding_side="left",
        chat_template=CHATML_TEMPLATE,
        model_max_length=TinyModelConfig.max_position_embeddings,
    )


def build_model(tokenizer: PreTrainedTokenizerFast, config: TinyModelConfig | None = None) -> PreTrainedModel:
    """A randomly initialised ``Qwen2ForCausalLM`` whose vocabulary matches ``tokenizer``."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    config = config or TinyModelConfig()
    torch.manual_seed(config.seed)
    eos_id = tokenizer.convert_tokens_to_ids(TURN_END)
    pad_id = tokenizer.convert_tokens_to_ids(PAD_TOKEN)
    model_config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        num_key_value_heads=config.num_key_value_heads,
        intermediate_size=config.intermediate_size,
        max_position_embeddings=config.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
    )
    model = Qwen2ForCausalLM(model_config)
    model.generation_config = GenerationConfig(eos_token_id=eos_id, pad_token_id=pad_id)
    return model


def build_tiny_model_dir(
    path: str | Path,
    corpus: Iterable[str] | None = None,
    config: TinyModelConfig | None = None,
    tokenizer: PreTrainedTokenizerFast | None = None,
) -> Path:
    """Build a tokenizer (unless one is given) and a tiny model, and save both as a Hugging Face
    model directory.

    Returns ``path``. Load it with ``AutoTokenizer``/``AutoModelForCausalLM.from_pretrained(path)``
    or pass it as ``--model`` to ``cobalt rollout --engine hf``.
    """
    import json

    config = config or TinyModelConfig()
    path = Path(path)
    tokenizer = tokenizer or build_tokenizer(corpus, vocab_size=config.vocab_size)
    model = build_model(tokenizer, config)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(path)
    model.save_pretrained(path)
    (path / "cobalt_tiny_model.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
    return path


def count_parameters(model: PreTrainedModel) -> int:
    """Distinct parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in model.parameters())
