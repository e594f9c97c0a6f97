"""The k2 ("mse") KL estimator for TRL's GRPOTrainer, which only has k3.

The paper's recipe uses verl's ``kl_loss_type=mse``: per token ``0.5 * (log π(y) − log π_ref(y))²``
(docs/paper.md §2.5). TRL computes the k3 estimator inline in ``GRPOTrainer._compute_loss``. Rather
than copying that 200-line private method, :class:`K2KLMixin` runs it with ``beta = 0`` (so it
returns the policy loss alone), captures the per-token log-probabilities it computed, and adds
``beta ×`` the k2 term aggregated exactly as TRL aggregates the policy loss for the configured
``loss_type``. Because both terms are linear in the per-token loss before aggregation, the sum
equals what TRL would compute with k2 in place of k3.

This touches two private methods, so it is version-guarded: :data:`TESTED_TRL` lists the TRL
versions whose ``_compute_loss`` this mirrors, and :func:`check_trl_version` refuses others
unless ``COBALT_ALLOW_UNTESTED_TRL=1``; ``tests/train/test_kl.py`` checks the result against a
direct computation.
"""

from __future__ import annotations

import os
from typing import Any

SUPPORTED_LOSS_TYPES = ("dapo", "grpo", "bnpo", "dr_grpo")
TESTED_TRL = ((1, 13), (1, 17))  # [lower, upper) of major.minor


def k2_per_token(per_token_logps, ref_per_token_logps):
    """0.5 · (log π − log π_ref)² per token."""
    return 0.5 * (per_token_logps - ref_per_token_logps) ** 2


def check_trl_version(version: str) -> None:
    """Raise RuntimeError unless TRL ``version`` is one the k2 estimator was verified against, or
    ``COBALT_ALLOW_UNTESTED_TRL=1`` is set."""
    low, high = TESTED_TRL
    if not trl_version_tested(version) and os.environ.get("COBALT_ALLOW_UNTESTED_TRL") != "1":
        raise RuntimeError(
            f"the k2 KL estimator was verified against TRL {low[0]}.{low[1]} to <{high[0]}.{high[1]}, not {version}; "
            "install a tested TRL, use kl_estimator='k3', or set COBALT_ALLOW_UNTESTED_TRL=1 after checking "
            "tests/train/test_kl.py passes"
        )


class K2KLMixin:
    """Mix into ``trl.GRPOTrainer`` (first in the bases) to use the k2 KL estimator."""

    kl_estimator: str = "k2"

    def _get_per_token_logps_and_entropies(self, *args: Any, **kwargs: Any):
        outputs = super()._get_per_token_logps_and_entropies(*args, **kwargs)  # type: ignore[misc]
        if getattr(self, "_capture_logps", False):
            self._captured_logps = outputs[0]
        return outputs

    def _compute_loss(self, model, inputs):
        beta = self.beta  # type: ignore[attr-defined]
        if self.kl_estimator != "k2" or beta == 0.0:
            return super()._compute_loss(model, inputs)  # type: ignore[misc]
        self.beta, self._capture_logps = 0.0, True
        try:
            loss = super()._compute_loss(model, inputs)  # type: ignore[misc]
        finally:
            self.beta, self._capture_logps = beta, False
        mask = inputs["completion_mask"]
        if "tool_mask" in inputs:
            mask = mask * inputs["tool_mask"]
        per_token_kl = k2_per_token(self._captured_logps, inputs["ref_per_token_logps"])
        self._captured_logps = None
        self._log_kl(per_token_kl, mask)
        return loss + beta * self._aggregate(per_token_kl, mask, inputs)

    def _aggregate(self, per_token: Any, mask: Any, inputs: dict) -> Any:
        """Reduce a per-token term the way TRL reduces the policy loss for ``self.loss_type``."""
        training = self.model.training  # type: ignore[attr-defined]
        accumulation = self.current_gradient_accumulation_steps if training else 1.0  # type: ignore[attr-defined]
        loss_type = self.loss_type  # type: ignore[attr-defined]
        if loss_type == "grpo":
            return ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean() / accumulation
        if loss_type == "bnpo":
            return (per_token * mask).sum() / mask.sum().clamp(min=1.0) / accumulation
        if loss_type == "dr_grpo":
            return (per_token * mask).sum() / (per_token.size(0) * self.max_completion_length) / accumulation  # type: ignore[attr-defined]
        if loss_type == "dapo":
            normalizer = inputs["num_items_in_batch"].clamp(min=1.0) / self.accelerator.num_processes  # type: ignore[attr-defined]
            if training:
                normalizer = normalizer * accumulation / self.args.steps_per_generation  # type: ignore[attr-defined]
            return (per_token * mask).sum() / normalizer
        raise ValueError(f"the k2 KL estimator supports loss_type in {SUPPORTED_LOSS_TYPES}, not {loss_type!r}")

    def _log_kl(self, per_token_kl: Any, mask: Any) -> None:
        import torch

        totals = torch.stack([(per_token_kl * mask).sum(), mask.sum().float()]).detach()
        totals = self.accelerator.reduce(totals, reduction="sum")  # type: ignore[attr-defined]
        mode = "train" if self.model.training else "eval"  # type: ignore[attr-defined]
        self._metrics[mode]["kl"].append((totals[0] / totals[1].clamp(min=1.0)).item())  # type: ignore[attr-defined]


def trl_version_tested(version: str) -> bool:
    """Whether TRL ``version`` (``major.minor...``) lies in the tested range :data:`TESTED_TRL`."""
    major, minor = (int(part) for part in version.split(".")[:2])
    low, high = TESTED_TRL
    return low <= (major, minor) < high
