"""A decoding loop that drops finished rows from the running batch.

``model.generate`` steps every row of a batch until the longest one ends: a row that has met its
end-of-sequence token (or, in Cobalt, closed its code block) keeps costing a full row of compute
as padding. With sampled answers of very different lengths (a small model's 60-token program next
to its neighbour's 384-token runaway) most of a batch's steps are spent on finished rows. This loop
is ``generate``'s own sampling (``transformers``' temperature and top-p warpers, one multinomial
draw per row and step) over the model's ``forward`` with a KV cache, except that rows which have
ended leave the batch, cache included, so each step costs only the rows still writing, and that
the ``n`` samples of one prompt share one prefill (the prompt is computed once, its cache copied).

transformers' own continuous batching (``generate_batch``, paged attention) is the library's answer
on a GPU; on a CPU it ran at 28 tokens/s on SmolLM2-135M against 60+ for this loop (docs/rollout.md).

The cache is preallocated on a CPU (a cache that grows by concatenation copies itself at every
step, which on a CPU costs more than the model) and grows on a GPU; rows leave it in groups
(:data:`PRUNE_FRACTION`), because each removal copies the cache once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

# Finished rows are removed once they are at least this share of the batch still running (or the
# batch is small): their wasted compute then stays under ~1/8 while the cache is copied at most a
# few dozen times per call.
PRUNE_FRACTION = 1 / 8

RowEnded = Callable[[int, int, int], bool]
"""``(row, token, generated) -> bool``: whether a row's answer ends with ``token``, its
``generated``-th; called once per row and step, in row order."""


def decode_dropping_finished(
    model: Any,
    prompts: Sequence[Sequence[int]],
    *,
    pad_token_id: int,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    row_ended: RowEnded,
    static_cache: bool,
) -> list[list[int]]:
    """The new tokens of each prompt (left-padded into one batch), up to and including the token
    on which :data:`row_ended` returned True, or ``max_new_tokens`` of them."""
    import torch

    device = model.device
    distinct, copy_of = _distinct_prompts(prompts)
    ids, mask = _left_padded(distinct, pad_token_id, device, torch)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    cache = _new_cache(model, ids.shape[1] + max_new_tokens, static_cache)
    choose = _token_chooser(temperature, top_p, torch)
    logits = _forward(model, ids, mask, positions, cache)
    if len(distinct) < len(prompts):  # the n samples of a prompt share its prefill, cache included
        rows = torch.tensor(copy_of, device=device)
        _select_rows(cache, rows)
        logits, mask, positions = logits[rows], mask[rows], positions[rows]
    running = list(range(len(prompts)))  # the prompt index of each row of the running batch
    new_tokens: list[list[int]] = [[] for _ in prompts]
    finished: list[int] = []  # positions in the running batch of rows that ended, not yet removed
    last_positions = positions[:, -1:]
    for generated in range(1, max_new_tokens + 1):
        next_ids = choose(logits)
        for position, token in enumerate(next_ids.tolist()):
            if position in finished:
                continue
            row = running[position]
            new_tokens[row].append(token)
            if row_ended(row, token, generated):
                finished.append(position)
        if len(finished) == len(running) or generated == max_new_tokens:
            break
        if finished and len(finished) >= max(1, math.ceil(len(running) * PRUNE_FRACTION)):
            ended = set(finished)
            keep = torch.tensor([p for p in range(len(running)) if p not in ended], device=device)
            _select_rows(cache, keep)
            mask, next_ids, last_positions = mask[keep], next_ids[keep], last_positions[keep]
            running = [running[p] for p in keep.tolist()]
            finished = []
        mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=-1)
        last_positions = last_positions + 1
        logits = _forward(model, next_ids[:, None], mask, last_positions, cache)
    return new_tokens


def _distinct_prompts(prompts: Sequence[Sequence[int]]) -> tuple[list[Sequence[int]], list[int]]:
    """The distinct prompts, and for each prompt the index of its distinct copy."""
    index: dict[tuple[int, ...], int] = {}
    copy_of = [index.setdefault(tuple(prompt), len(index)) for prompt in prompts]
    distinct: list[Sequence[int]] = [()] * len(index)
    for prompt, position in zip(prompts, copy_of):
        distinct[position] = prompt
    return distinct, copy_of


def _left_padded(prompts: Sequence[Sequence[int]], pad_id: int, device: Any, torch: Any) -> tuple[Any, Any]:
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        if prompt:
            ids[row, width - len(prompt) :] = torch.tensor(list(prompt), dtype=torch.long)
            mask[row, width - len(prompt) :] = 1
    return ids.to(device), mask.to(device)


def _new_cache(model: Any, max_length: int, static: bool) -> Any:
    from transformers import DynamicCache, StaticCache

    if static:
        return StaticCache(config=model.config, max_cache_len=max_length)
    return DynamicCache(config=model.config)


def _forward(model: Any, ids: Any, mask: Any, positions: Any, cache: Any) -> Any:
    """The next-token logits of every row (only the last position's: the vocabulary projection of
    a whole prompt would cost more than the prompt itself)."""
    output = model(
        input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True, logits_to_keep=1
    )
    return output.logits[:, -1, :].float()


def _token_chooser(temperature: float, top_p: float, torch: Any) -> Callable[[Any], Any]:
    """Greedy at temperature 0, else ``generate``'s sampling: temperature, then top-p, then one
    multinomial draw per row."""
    from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

    if temperature <= 0:
        return lambda logits: logits.argmax(dim=-1)
    warpers = LogitsProcessorList([TemperatureLogitsWarper(temperature)])
    if top_p < 1.0:
        warpers.append(TopPLogitsWarper(top_p))

    def sample(logits: Any) -> Any:
        scores = warpers(None, logits)
        return torch.multinomial(torch.softmax(scores, dim=-1), num_samples=1).squeeze(1)

    return sample


def _select_rows(cache: Any, keep: Any) -> None:
    """Keep only the ``keep`` rows of every cache layer (a preallocated layer gets a smaller one)."""
    for layer in cache.layers:
        if not getattr(layer, "is_initialized", False):
            continue
        layer.keys = layer.keys.index_select(0, keep)
        layer.values = layer.values.index_select(0, keep)
        if hasattr(layer, "batch_size"):
            layer.batch_size = len(keep)
