"""Validation during training, as the reference ran it: before the first update and every
``val_every`` steps, sampling at temperature 0.6 and top-p 0.95, scored with the binary reward.

TRL's own evaluation loop does the work (``Trainer.evaluate`` → ``GRPOTrainer.prediction_step``:
generation, the reward functions, the loss, and ``eval_*`` metrics in the trainer's log history);
:func:`validation_args` turns the schedule into ``TrainingArguments`` fields
(``eval_strategy``/``eval_steps``/``eval_on_start``), and :class:`ValidationMixin` switches the
sampling and the rewards to validation while ``evaluate`` runs. TRL samples evaluation with the
training temperature and scores it with the training reward, which is why the mixin exists.

A reward function opts in by having a ``validation`` attribute (Cobalt's and the online
baselines' do): it is True while validating, and the reward is then the binary one (1 when every
test passes, else 0), so ``eval_reward`` is the share of validation completions that solve their
problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cobalt.train.config import TrainConfig


def validation_args(config: TrainConfig) -> dict[str, Any]:
    """The ``GRPOConfig`` fields of ``config``'s validation schedule (none without an eval dataset:
    the trainer refuses a schedule with nothing to evaluate)."""
    if not config.eval_dataset or (config.val_every is None and not config.val_before_train):
        return {"eval_strategy": "no"}
    per_device = config.per_device_train_batch_size
    per_device -= per_device % config.val_generations  # whole groups per device, as TRL requires
    return {
        "eval_strategy": "steps" if config.val_every else "no",
        "eval_steps": config.val_every,
        "eval_on_start": config.val_before_train,
        "num_generations_eval": config.val_generations,
        "per_device_eval_batch_size": max(per_device, config.val_generations),
    }


class ValidationMixin:
    """Mix into ``trl.GRPOTrainer``: ``evaluate`` samples with ``val_sampling`` (temperature, top-p)
    and turns every reward function's ``validation`` flag on, then restores both."""

    val_sampling: tuple[float, float] | None = None  #: (temperature, top_p); None: the training ones

    def evaluate(self, *args: Any, **kwargs: Any) -> dict[str, float]:
        """TRL's evaluation with the validation sampling and the binary reward."""
        with self._validation_sampling(), self._validation_rewards():
            return super().evaluate(*args, **kwargs)  # type: ignore[misc]

    @contextmanager
    def _validation_sampling(self) -> Iterator[None]:
        if self.val_sampling is None:
            yield
            return
        temperature, top_p = self.val_sampling
        # TRL reads its sampling settings from these places: the trainer's attributes (log-probability
        # scaling, the online rollout), the transformers GenerationConfig and kwargs, and the vLLM
        # generator's attributes, read at every call.
        holders: list[tuple[Any, str, Any]] = [(self, "temperature", temperature), (self, "top_p", top_p)]
        vllm = getattr(self, "vllm_generation", None)
        if getattr(self, "use_vllm", False) and vllm is not None:
            holders += [(vllm, "temperature", temperature), (vllm, "top_p", top_p)]
        config = getattr(self, "generation_config", None)
        if config is not None:
            holders += [(config, "temperature", temperature), (config, "top_p", top_p)]
        saved = [(holder, name, getattr(holder, name)) for holder, name, _ in holders]
        kwargs = getattr(self, "generation_kwargs", None)
        saved_kwargs = dict(kwargs) if isinstance(kwargs, dict) else None
        try:
            for holder, name, value in holders:
                setattr(holder, name, value)
            if saved_kwargs is not None:
                kwargs.update(temperature=temperature, top_p=top_p)
            yield
        finally:
            for holder, name, value in saved:
                setattr(holder, name, value)
            if saved_kwargs is not None:
                kwargs.clear()
                kwargs.update(saved_kwargs)

    @contextmanager
    def _validation_rewards(self) -> Iterator[None]:
        rewards = [f for f in getattr(self, "reward_funcs", []) if hasattr(f, "validation")]
        for reward in rewards:
            reward.validation = True
        try:
            yield
        finally:
            for reward in rewards:
                reward.validation = False
