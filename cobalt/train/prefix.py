"""Shared-prompt log-probabilities for TRL's ``GRPOTrainer``: each prompt goes through the model once
per group instead of once per completion.

GRPO samples ``num_generations`` completions of every prompt, and TRL scores each (prompt, completion)
row with a full forward and backward pass, so a prompt of P tokens is processed G times. Cobalt's
prompts are whole conversations (problem, programs, feedback) and are several times longer than the
program the policy writes; the demo's repair prompts run 250-420 tokens against ~50 completion tokens.
:class:`PromptSharingMixin` runs the distinct prompts of a micro-batch once, keeps their key/value
cache, repeats it for the rows that share it (an ``index_select``, whose backward sums the rows'
gradients back into the one prompt pass) and runs only the completions on top. Log-probabilities,
entropies and gradients are those of the per-row computation up to float rounding (checked in
``tests/train/test_prefix.py``): positions, masks and the fused LM head are TRL's own.

The split is at the prompt's last token, so that the completion pass also scores the first
completion token. It applies where it is safe and otherwise defers to TRL: one process whose model
is not wrapped (DDP, FSDP and DeepSpeed drive their own forward) and has no PEFT adapters, no
gradient checkpointing (which turns the cache off during training), text-only inputs,
full-attention models only (sliding-window and recurrent caches do not repeat by index) and the TRL
versions :data:`cobalt.train.kl.TESTED_TRL`.
"""

from __future__ import annotations

import inspect
from typing import Any

MULTIMODAL_KWARGS = (
    "pixel_values",
    "image_grid_thw",
    "num_images",
    "pixel_attention_mask",
    "spatial_shapes",
    "num_tiles",
    "image_sizes",
    "token_type_ids",
    "mm_token_type_ids",
    "image_position_ids",
)


class PromptSharingMixin:
    """Mix into ``trl.GRPOTrainer`` (before it in the bases) to score each group's prompt once."""

    def _get_per_token_logps_and_entropies(
        self, model, input_ids, attention_mask, logits_to_keep, batch_size=None, compute_entropy=False, **kwargs
    ):
        if not self._can_share_prompts(model, input_ids, logits_to_keep, kwargs):
            return super()._get_per_token_logps_and_entropies(  # type: ignore[misc]
                model, input_ids, attention_mask, logits_to_keep, batch_size, compute_entropy, **kwargs
            )
        import torch

        batch_size = batch_size or input_ids.size(0)
        logps, entropies = [], []
        for start in range(0, input_ids.size(0), batch_size):
            rows = slice(start, start + batch_size)
            with self.accelerator.autocast():  # type: ignore[attr-defined]
                outputs = shared_prompt_forward(model, input_ids[rows], attention_mask[rows], logits_to_keep)
            logps.append(outputs.log_probs[:, -logits_to_keep:])
            if compute_entropy:
                entropies.append(outputs.entropy[:, -logits_to_keep:])
        return torch.cat(logps), torch.cat(entropies) if compute_entropy else None, None

    def _can_share_prompts(self, model: Any, input_ids: Any, logits_to_keep: int, kwargs: dict) -> bool:
        if any(kwargs.get(name) is not None for name in MULTIMODAL_KWARGS):
            return False
        if kwargs.get("compute_aux_loss") or input_ids.size(1) - logits_to_keep < 2:
            return False
        if self.accelerator.num_processes != 1 or self.accelerator.unwrap_model(model) is not model:  # type: ignore[attr-defined]
            return False
        if getattr(model, "peft_config", None) is not None:  # adapters wrap the backbone this reaches into
            return False
        if model.training and activation_checkpointing(model):
            return False
        return has_full_attention_cache(model)


def activation_checkpointing(model: Any) -> bool:
    """Whether the model recomputes activations in backward (named ``is_gradient_checkpointing``
    before transformers 5.2x)."""
    for name in ("is_activation_checkpointing", "is_gradient_checkpointing"):
        if hasattr(model, name):
            return bool(getattr(model, name))
    return False


def has_full_attention_cache(model: Any) -> bool:
    """True for decoder-only models whose every layer keeps a plain key/value cache."""
    config = model.config
    if config.get_text_config() is not config or getattr(config, "use_sliding_window", False):
        return False
    layer_types = getattr(config, "layer_types", None) or ["full_attention"]
    return all(kind == "full_attention" for kind in layer_types)


def shared_prompt_forward(model: Any, input_ids: Any, attention_mask: Any, logits_to_keep: int) -> Any:
    """TRL's fused-head outputs (``log_probs``, ``entropy``) for rows of ``prompt + completion``,
    with each distinct prompt run once. ``logits_to_keep`` is the completion length."""
    import torch
    from transformers import DynamicCache

    split = input_ids.size(1) - logits_to_keep - 1  # the prompt's last token goes with the completion
    prefix = torch.cat([input_ids[:, :split], attention_mask[:, :split]], dim=1)
    distinct, row_of = torch.unique(prefix, dim=0, return_inverse=True)
    cache = DynamicCache(config=model.config)
    backbone = getattr(model, model.base_model_prefix)
    cache_kwarg = cache_argument_name(backbone)
    backbone(input_ids=distinct[:, :split], attention_mask=distinct[:, split:], use_cache=True, **{cache_kwarg: cache})
    cache.reorder_cache(row_of)
    suffix = input_ids[:, split:]
    labels = suffix.masked_fill(attention_mask[:, split:] == 0, -100)
    labels[:, 0] = -100  # the prompt's last token is context, not a scored completion token
    return model(
        input_ids=suffix, attention_mask=attention_mask, labels=labels, fused_lm_head=True, **{cache_kwarg: cache}
    )


def cache_argument_name(backbone: Any) -> str:
    """``cache`` from transformers 5.2x on, ``past_key_values`` before."""
    return "cache" if "cache" in inspect.signature(backbone.forward).parameters else "past_key_values"
