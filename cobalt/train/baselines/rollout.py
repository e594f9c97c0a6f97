"""The rollout function of the online multi-turn baselines: whole conversations sampled from the
policy being trained, as one token sequence each (TRL's ``rollout_func`` contract).

For each prompt TRL hands over (a problem, repeated ``num_generations`` times), a trajectory is:
the first program; its run on the public tests; the feedback turn, exactly as
:mod:`cobalt.rollout.collect` writes it (:func:`execution_feedback` inside :func:`repair_message`);
the next program; and so on, ``turns`` programs in all, every turn generated even after the public
tests pass (docs/paper.md §6). No feedback follows the last program: nothing would read it.

The returned completion is every assistant turn's sampled tokens (``env_mask`` 1, with the
sampling log-probabilities) interleaved with the chat-template tokens of the feedback user turns
(``env_mask`` 0: TRL keeps them out of the loss). Each turn is generated from the *token ids* of
everything before it, so the sequence TRL trains on is exactly the one the policy sampled from; the
feedback tokens are the text the chat template puts between an assistant message and the next
generation prompt (found with a sentinel message, as TRL does for tool results).

What differs from the offline rollout, and why:

* Reasoning models keep their whole answers, thinking included, in the conversation. The offline
  rollout drops the thinking and caps each stored turn at 6000 characters, but then a later turn
  would be sampled from a context that is not a prefix of the trained sequence, and the gradient
  would be taken under a context the policy never saw.
* All trajectories of a process advance in lock step (one batched ``generate`` per turn, then all
  public-test runs at once); the offline rollout overlaps generation and execution instead. Online
  RL must finish every trajectory before the update anyway.
* ``max_completion_length`` bounds each turn, as it bounds a single-step completion, so every
  method gets the same budget per program.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cobalt.records import ExecRequest, Tests
from cobalt.rollout.prompts import (
    REPAIR_TEMPLATE,
    check_repair_template,
    execution_feedback,
    extract_code,
    repair_message,
)

SENTINEL = "\u2063COBALT-ASSISTANT-TURN\u2063"  # a message body no template or feedback contains


def prompt_key(messages: Sequence[dict[str, str]]) -> str:
    """A prompt's identity: the rollout function receives only prompts, so it finds each
    problem's public tests by this key."""
    return json.dumps([[m["role"], m["content"]] for m in messages])


@dataclass(frozen=True)
class PublicSuite:
    """A problem's public tests and comparator: what each program runs on for its feedback."""

    tests: Tests
    comparator: str | None = None


@dataclass
class TrajectoryTokens:
    """One trajectory as it grows: the prompt, then model and feedback tokens."""

    prompt_ids: list[int]
    completion_ids: list[int] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    turn_texts: list[str] = field(default_factory=list)
    public_pass_rates: list[float | None] = field(default_factory=list)
    feedback_texts: list[str] = field(default_factory=list)
    ended_by: int | None = None  # the end-of-sequence id that closed the last turn, if any

    @property
    def context(self) -> list[int]:
        """The prompt and every completion token so far: what the next turn is generated from."""
        return self.prompt_ids + self.completion_ids

    def add_model_turn(self, ids: list[int], logprobs: list[float], text: str, ended_by: int | None) -> None:
        """Append a sampled turn: its tokens (trained on, ``env_mask`` 1) with their log-probabilities,
        its decoded text, and the end-of-sequence id that closed it (None when it hit the length limit)."""
        self.completion_ids += ids
        self.env_mask += [1] * len(ids)
        self.logprobs += logprobs
        self.turn_texts.append(text)
        self.ended_by = ended_by

    def add_feedback(self, text: str, ids: list[int]) -> None:
        """Append a feedback turn's tokens, kept out of the loss (``env_mask`` 0, log-probability 0)."""
        self.feedback_texts.append(text)
        self.completion_ids += ids
        self.env_mask += [0] * len(ids)
        self.logprobs += [0.0] * len(ids)  # not sampled; TRL masks them out of every use


@dataclass(frozen=True)
class TurnOutput:
    """One sampled turn: its token ids, their log-probabilities, and the end-of-sequence id that closed
    it (None when none was sampled)."""

    ids: list[int]  # up to and including the end-of-sequence token, when one was sampled
    logprobs: list[float]
    ended_by: int | None


def cut_at_eos(ids: list[int], logprobs: list[float], eos_ids: set[int]) -> TurnOutput:
    """A turn's tokens up to the first end-of-sequence token (kept, as TRL keeps it)."""
    end = next((i for i, token in enumerate(ids) if token in eos_ids), None)
    if end is None:
        return TurnOutput(list(ids), list(logprobs), None)
    return TurnOutput(list(ids[: end + 1]), list(logprobs[: end + 1]), ids[end])


def feedback_turn_text(tokenizer: Any, feedback: str, chat_template_kwargs: dict[str, Any]) -> str:
    """What the chat template writes after an assistant message's content: the end of that turn,
    the feedback user turn, and the next generation prompt."""
    messages = [
        {"role": "user", "content": "."},
        {"role": "assistant", "content": SENTINEL},
        {"role": "user", "content": feedback},
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **chat_template_kwargs)
    _, found, after = text.partition(SENTINEL)
    if not found:
        raise ValueError("the chat template dropped an assistant message's content; cannot place feedback turns")
    return after


def feedback_turn_ids(
    tokenizer: Any, feedback: str, ended_by: int | None, chat_template_kwargs: dict[str, Any]
) -> list[int]:
    """Token ids that follow a sampled turn: when the model closed the turn itself, its end token
    is already in the sequence and the template's copy is left out."""
    text = feedback_turn_text(tokenizer, feedback, chat_template_kwargs)
    if ended_by is not None:
        closing = tokenizer.decode([ended_by])
        if text.startswith(closing):
            text = text[len(closing) :]
    return tokenizer(text, add_special_tokens=False)["input_ids"]


class SampledTokenLogprobs:
    """A logits processor that records the log-probability of each sampled token under the
    temperature-scaled distribution, as TRL scores tokens in training (``log_softmax(logits / T)``).

    ``generate`` calls a processor before each sampling step with the ids so far, so the token
    sampled at step ``s`` is read at step ``s + 1``; :meth:`finish` reads the last one. Only one
    step's distribution is held at a time (keeping every step's logits would cost steps × batch ×
    vocabulary floats). Custom processors run after ``generate``'s own ones (repetition penalty and
    the like, off by default in TRL) and before temperature, top-k and top-p.
    """

    def __init__(self, temperature: float):
        self.temperature = temperature
        self.steps: list[Any] = []
        self._pending: Any = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        """Record the log-probability of the token sampled at the previous step and hold this step's
        distribution; ``scores`` are returned unchanged."""
        import torch

        self._take(input_ids[:, -1])
        self._pending = torch.log_softmax(scores.float() / self.temperature, dim=-1)
        return scores

    def _take(self, tokens: Any) -> None:
        if self._pending is not None:
            self.steps.append(self._pending.gather(1, tokens[:, None]).squeeze(1))
            self._pending = None

    def finish(self, sequences: Any, prompt_width: int) -> Any:
        """``(batch, new tokens)`` log-probabilities of the tokens after ``prompt_width``."""
        import torch

        if self._pending is not None:
            self._take(sequences[:, prompt_width + len(self.steps)])
        if not self.steps:
            return torch.zeros(sequences.shape[0], 0)
        return torch.stack(self.steps, dim=1)


def checkpointing_kwargs(args: Any) -> dict[str, Any] | None:
    """The activation-checkpointing options of the trainer's arguments, read under their current
    name (``activation_checkpointing_kwargs``; ``gradient_checkpointing_kwargs`` is transformers'
    deprecated alias, and the only name before 5.2x)."""
    if hasattr(args, "activation_checkpointing_kwargs"):
        return args.activation_checkpointing_kwargs
    return args.gradient_checkpointing_kwargs


def generate_with_transformers(trainer: Any, contexts: list[list[int]]) -> list[TurnOutput]:
    """One turn for every context with the trainer's model and TRL's own generation settings."""
    import torch
    from transformers import LogitsProcessorList
    from trl.models import unwrap_model_for_generation

    device = trainer.accelerator.device
    pad_id = trainer.processing_class.pad_token_id
    width = max(len(ids) for ids in contexts)
    input_ids = torch.tensor([[pad_id] * (width - len(ids)) + ids for ids in contexts], device=device)
    attention_mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in contexts], device=device)
    recorder = SampledTokenLogprobs(trainer.temperature)
    with (
        unwrap_model_for_generation(
            trainer.model_wrapped,
            trainer.accelerator,
            gather_deepspeed3_params=trainer.args.ds3_gather_for_generation,
            generation_kwargs=trainer.generation_kwargs,
            gradient_checkpointing_kwargs=checkpointing_kwargs(trainer.args),
        ) as model,
        torch.no_grad(),
    ):
        sequences = model.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            generation_config=trainer.generation_config,
            logits_processor=LogitsProcessorList([recorder]),
        )
    logprobs = recorder.finish(sequences, width).tolist()
    new_ids = sequences[:, width:].tolist()
    eos_ids = set(trainer.eos_token_ids)
    return [cut_at_eos(ids, lps, eos_ids) for ids, lps in zip(new_ids, logprobs)]


def generate_with_vllm(trainer: Any, contexts: list[list[int]]) -> list[TurnOutput]:
    """One turn for every context with TRL's vLLM engine (weights already synced by TRL). Its
    log-probabilities are vLLM's processed ones (after temperature), as TRL's own vLLM path uses."""
    _, completion_ids, logprobs, _ = trainer.vllm_generation.generate(prompts=contexts, images=None, num_generations=1)
    eos_ids = set(trainer.eos_token_ids)
    return [cut_at_eos(list(ids), [lp[0] for lp in lps], eos_ids) for ids, lps in zip(completion_ids, logprobs)]


class MultiTurnRollout:
    """TRL ``rollout_func``: ``turns`` programs per trajectory with execution feedback between them.

    ``suites`` maps :func:`prompt_key` of each training prompt to its problem's public tests. One
    trajectory is sampled per prompt TRL passes (TRL already repeats each prompt
    ``num_generations`` times).
    """

    def __init__(
        self,
        suites: dict[str, PublicSuite],
        executor: Any,
        *,
        turns: int,
        reasoning: bool,
        repair_template: str = REPAIR_TEMPLATE,
    ):
        if turns < 1:
            raise ValueError("a trajectory needs at least one turn")
        self.repair_template = check_repair_template(repair_template)
        self.suites = suites
        self.executor = executor
        self.turns = turns
        self.reasoning = reasoning

    def __call__(self, prompts: list[list[dict[str, str]]], trainer: Any) -> dict[str, list]:
        """One trajectory per prompt in TRL's ``rollout_func`` form: prompt and completion ids,
        log-probabilities and ``env_mask``, and the columns the reward reads (``turn_texts``,
        ``public_pass_rates``, ``feedback_texts``, ``feedback_tokens``). Raises KeyError for a prompt
        not in ``suites``."""
        tokenizer = trainer.processing_class
        chat_kwargs = dict(getattr(trainer, "chat_template_kwargs", None) or {})
        suites = [self._suite(prompt) for prompt in prompts]
        trajectories = [TrajectoryTokens(self._prompt_ids(tokenizer, p, chat_kwargs)) for p in prompts]
        generate = generate_with_vllm if trainer.use_vllm else generate_with_transformers
        for turn in range(self.turns):
            outputs = generate(trainer, [t.context for t in trajectories])
            for trajectory, out in zip(trajectories, outputs):
                answer = out.ids[:-1] if out.ended_by is not None else out.ids
                text = tokenizer.decode(answer, skip_special_tokens=True)
                trajectory.add_model_turn(out.ids, out.logprobs, text, out.ended_by)
            if turn + 1 < self.turns:
                for trajectory, feedback in zip(trajectories, self._feedback(trajectories, suites)):
                    ids = feedback_turn_ids(tokenizer, feedback, trajectory.ended_by, chat_kwargs)
                    trajectory.add_feedback(feedback, ids)
        return {
            "prompt_ids": [t.prompt_ids for t in trajectories],
            "completion_ids": [t.completion_ids for t in trajectories],
            "logprobs": [t.logprobs for t in trajectories],
            "env_mask": [t.env_mask for t in trajectories],
            "turn_texts": [t.turn_texts for t in trajectories],
            "public_pass_rates": [t.public_pass_rates for t in trajectories],
            "feedback_texts": [t.feedback_texts for t in trajectories],
            "feedback_tokens": [len(t.env_mask) - sum(t.env_mask) for t in trajectories],
        }

    def _suite(self, prompt: list[dict[str, str]]) -> PublicSuite:
        suite = self.suites.get(prompt_key(prompt))
        if suite is None:
            raise KeyError("the rollout got a prompt that is not in its training or evaluation data")
        return suite

    @staticmethod
    def _prompt_ids(tokenizer: Any, prompt: list[dict[str, str]], chat_kwargs: dict[str, Any]) -> list[int]:
        # Rendered to text, then tokenized without added special tokens, as the offline rollout does.
        text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True, **chat_kwargs)
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    def _feedback(self, trajectories: list[TrajectoryTokens], suites: list[PublicSuite]) -> list[str]:
        """Each last program's public-test feedback (all programs run at once), wrapped for the
        next user turn; the public pass rate is recorded for logging (None: no program)."""
        codes = [extract_code(t.turn_texts[-1], self.reasoning) for t in trajectories]
        requests = [
            ExecRequest(code=code, tests=suite.tests, comparator=suite.comparator)
            for code, suite in zip(codes, suites)
            if code is not None
        ]
        results = iter(self.executor.run_all(requests))
        messages = []
        for trajectory, code in zip(trajectories, codes):
            public = next(results) if code is not None else None
            trajectory.public_pass_rates.append(public.pass_rate if public is not None else None)
            messages.append(repair_message(execution_feedback(public), self.repair_template))
        return messages
