"""The ``transformers`` backend: a local model directory (or hub id) on CPU or GPU.

Prompts are rendered with the tokenizer's own chat template, expanded to ``n`` rows each, sorted by
length so that rows of similar length share a batch (less padding), padded on the left and
generated ``batch_size`` rows at a time. A row leaves its running batch as soon as its answer ends
(``drop_finished_rows``, :mod:`cobalt.rollout.hf_decode`), so a batch costs only the rows still
writing rather than stepping every row until the longest ends, as ``generate`` does. An answer
ends at any end-of-sequence id the tokenizer or the model's generation config names and, with
``stop_at_code_end`` (the default), right after the closing fence of its first code block: the
prompts ask for one block and nothing after it, and a small model's explanation after its program
(or its runaway to the token limit) costs most of the generation time while the program that runs
is already complete. While a batch generates, :attr:`~cobalt.rollout.policy.Policy.token_progress`
hears how many tokens it has made. One :meth:`TransformersPolicy.generate` runs at a time (a lock),
so the policy is safe to share between threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cobalt.hardware import cpu_has_fast_bf16
from cobalt.rollout.hf_decode import decode_dropping_finished
from cobalt.rollout.policy import Completion, Conversation, Policy, PolicyConfig, SamplingParams, as_dicts
from cobalt.rollout.prompts import extract_code
from cobalt.tokenizer import load_tokenizer


class TransformersPolicy(Policy):
    """Batched sampling from a causal LM with ``transformers``' ``generate``."""

    name = "hf"

    def __init__(
        self,
        model: str | Path,
        *,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 64,
        seed: int = 0,
        trust_remote_code: bool = False,
        chat_template_kwargs: dict[str, Any] | None = None,
        stop_at_code_end: bool = True,
        drop_finished_rows: bool = True,
    ):
        super().__init__()
        import torch
        from transformers import AutoModelForCausalLM

        self.batch_size = batch_size
        self.stop_at_code_end = stop_at_code_end
        self.drop_finished_rows = drop_finished_rows
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self.device = _resolve_device(device, torch)
        self.runs_on_cpu = self.device == "cpu"
        self.tokenizer = load_tokenizer(model, trust_remote_code=trust_remote_code)  # padded on the left
        self.model = AutoModelForCausalLM.from_pretrained(
            str(model), dtype=_resolve_dtype(dtype, self.device, torch), trust_remote_code=trust_remote_code
        )
        self.model.to(self.device).eval()
        # float32 weights with bf16 matmuls where the CPU has native bf16 (generation ~1.25x faster
        # on the demo's model, see cobalt/hardware.py); an explicit dtype is taken as asked.
        self.cpu_bf16_autocast = dtype == "auto" and self.runs_on_cpu and cpu_has_fast_bf16()
        self.eos_ids = _eos_ids(self.tokenizer, self.model.generation_config)
        self._torch = torch
        self._lock = threading.Lock()
        torch.manual_seed(seed)

    @classmethod
    def from_config(cls, config: PolicyConfig) -> TransformersPolicy:
        """The policy a :class:`PolicyConfig` describes (its hf settings; the other engines' are ignored)."""
        return cls(
            config.model,
            device=config.device,
            dtype=config.dtype,
            batch_size=config.batch_size,
            seed=config.seed,
            trust_remote_code=config.trust_remote_code,
            chat_template_kwargs=config.chat_template_kwargs,
            stop_at_code_end=config.stop_at_code_end,
            drop_finished_rows=config.drop_finished_rows,
        )

    def render(self, conversation: Conversation) -> str:
        """The prompt text of a conversation, ending with the opening of an assistant turn."""
        return self.tokenizer.apply_chat_template(
            as_dicts(conversation), tokenize=False, add_generation_prompt=True, **self.chat_template_kwargs
        )

    def generate(self, conversations: Sequence[Conversation], params: SamplingParams) -> list[list[Completion]]:
        """``params.n`` completions per conversation, in order; rows are sorted by prompt length and
        generated ``batch_size`` at a time, one call at a time."""
        prompts = [self.render(c) for c in conversations]
        prompt_ids = self.tokenizer(prompts, add_special_tokens=False)["input_ids"]
        rows = [i for i in range(len(prompts)) for _ in range(params.n)]
        order = sorted(range(len(rows)), key=lambda r: len(prompt_ids[rows[r]]))
        by_row: dict[int, Completion] = {}
        with self._lock:
            for start in range(0, len(order), self.batch_size):
                chunk = order[start : start + self.batch_size]
                outputs = self._generate_batch([prompt_ids[rows[r]] for r in chunk], params)
                by_row.update(zip(chunk, outputs))
        results: list[list[Completion]] = [[] for _ in prompts]
        for row, prompt in enumerate(rows):
            results[prompt].append(by_row[row])
        self.usage.add(
            requests=len(prompts),
            completions=len(rows),
            prompt=sum(len(prompt_ids[p]) for p in rows),
            completion=sum(c.completion_tokens or 0 for c in by_row.values()),
        )
        return results

    def _generate_batch(self, batch: list[list[int]], params: SamplingParams) -> list[Completion]:
        torch = self._torch
        thinks = bool(self.chat_template_kwargs.get("enable_thinking"))
        width = max(len(prompt) for prompt in batch)
        watch = _Watch(self.tokenizer, self.eos_ids, width, self.stop_at_code_end, self.token_progress, thinks)
        autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.cpu_bf16_autocast)
        with torch.inference_mode(), autocast:
            if self.drop_finished_rows:
                rows = decode_dropping_finished(
                    self.model,
                    batch,
                    pad_token_id=self.tokenizer.pad_token_id,
                    max_new_tokens=params.max_new_tokens,
                    temperature=params.temperature,
                    top_p=params.top_p,
                    row_ended=watch.observe,
                    static_cache=self.runs_on_cpu,
                )
            else:
                rows = self._generate_whole_batch(batch, params, watch)
        watch.flush()
        return [
            self._completion(tokens, len(prompt), watch.code_end.get(row))
            for row, (tokens, prompt) in enumerate(zip(rows, batch))
        ]

    def _generate_whole_batch(self, batch: list[list[int]], params: SamplingParams, watch: _Watch) -> list[list[int]]:
        """``transformers``' ``generate``: every row is stepped until the longest one ends."""
        padded = self.tokenizer.pad({"input_ids": batch}, padding=True, return_tensors="pt").to(self.device)
        sampling: dict[str, Any] = {"do_sample": False}
        if params.temperature > 0:
            # top_k=0 switches off any top-k a model's generation config sets (Qwen3's is 20), so that
            # sampling is exactly the configured temperature and top-p, as with the vLLM backend.
            sampling = {"do_sample": True, "temperature": params.temperature, "top_p": params.top_p, "top_k": 0}
        if self.runs_on_cpu:
            # A preallocated cache: the default one grows by concatenation at every new token, which
            # on a CPU cost more than the model itself (measured: repair turns 1.3-1.9x faster).
            sampling["cache_implementation"] = "static"
        output = self.model.generate(
            **padded,
            max_new_tokens=params.max_new_tokens,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=sorted(self.eos_ids),
            stopping_criteria=[watch],
            **sampling,
        )
        return output[:, padded["input_ids"].shape[1] :].tolist()

    def _completion(self, tokens: list[int], prompt_tokens: int, code_end: int | None = None) -> Completion:
        if code_end is not None:  # stopped right after the closing fence: a complete answer
            kept = tokens[:code_end]
            return Completion(
                text=self.tokenizer.decode(kept, skip_special_tokens=True),
                completion_tokens=len(kept),
                prompt_tokens=prompt_tokens,
                finish_reason="stop",
            )
        end = next((i for i, t in enumerate(tokens) if t in self.eos_ids), None)
        kept = tokens if end is None else tokens[:end]
        return Completion(
            text=self.tokenizer.decode(kept, skip_special_tokens=True),
            completion_tokens=len(kept) + (0 if end is None else 1),
            prompt_tokens=prompt_tokens,
            finish_reason="length" if end is None else "stop",
        )

    def close(self) -> None:
        """Drop the model so that its memory can be freed; the policy cannot generate afterwards."""
        self.model = None  # type: ignore[assignment]


class _Watch:
    """Watches every generated token of a batch: it ends rows whose answer has met an end token or
    closed its first code block (when asked) and reports the tokens generated so far.

    Both decoding loops call it once per row and step (``generate`` through its stopping-criterion
    interface); only the newest token is decoded, and the answer is parsed again only when that
    token holds a backtick, so a step costs microseconds against the model's milliseconds.
    """

    REPORT_EVERY_S = 0.5

    def __init__(
        self,
        tokenizer: Any,
        eos_ids: set[int],
        prompt_width: int,
        stop_at_code_end: bool,
        report: Callable[[int], None] | None,
        thinks: bool = False,
    ):
        self.tokenizer = tokenizer
        self.eos_ids = eos_ids
        self.width = prompt_width
        self.stop_at_code_end = stop_at_code_end
        self.report = report
        self.thinks = thinks
        self.texts: dict[int, list[str]] = {}
        self.done: set[int] = set()  # rows that ended (end-of-sequence or code end)
        self.code_end: dict[int, int] = {}  # row -> tokens kept when it was ended at its code's end
        self.unreported = 0
        self.last_report = time.monotonic()

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        """``generate``'s stopping criterion: which rows of the batch are done after this step."""
        import torch

        stop = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        generated = input_ids.shape[1] - self.width
        if generated <= 0:
            return stop
        for row, token in enumerate(input_ids[:, -1].tolist()):
            if row in self.done:
                stop[row] = True
            elif self.observe(row, token, generated) and row in self.code_end:
                stop[row] = True  # (an end-of-sequence token stops its row in generate itself)
        return stop

    def observe(self, row: int, token: int, generated: int) -> bool:
        """Count a row's newest token, its ``generated``-th; whether the row's answer ends with it."""
        self.unreported += 1
        ended = token in self.eos_ids
        if not ended and self.stop_at_code_end:
            piece = self.tokenizer.decode([token], skip_special_tokens=True)
            parts = self.texts.setdefault(row, [])
            parts.append(piece)
            if "`" in piece and _answer_closed_a_block("".join(parts), self.thinks):
                self.code_end[row] = generated
                ended = True
        if ended:
            self.done.add(row)
        if self.report is not None and time.monotonic() - self.last_report >= self.REPORT_EVERY_S:
            self.flush()
        return ended

    def flush(self) -> None:
        """Report the tokens counted since the last report."""
        if self.report is not None and self.unreported:
            self.report(self.unreported)
        self.unreported = 0
        self.last_report = time.monotonic()


def _answer_closed_a_block(text: str, thinks: bool = False) -> bool:
    """Whether an answer so far holds a closed code block (after ``</think>`` when it thinks), so
    that nothing the protocol reads can still follow; a draft inside the thinking does not count."""
    return extract_code(text, reasoning=thinks or "<think>" in text) is not None


def _resolve_device(device: str, torch: Any) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _resolve_dtype(dtype: str, device: str, torch: Any) -> Any:
    """float32 weights on a CPU (bf16 matmuls are emulated and slow on most; where they are native,
    generation autocasts instead), bfloat16 on a GPU that supports it."""
    if dtype != "auto":
        return getattr(torch, dtype)
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def _eos_ids(tokenizer: Any, generation_config: Any) -> set[int]:
    ids: set[int] = set()
    for value in (tokenizer.eos_token_id, getattr(generation_config, "eos_token_id", None)):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(v for v in value if isinstance(v, int))
    if not ids:
        raise ValueError("the model names no end-of-sequence token; generation could never stop early")
    return ids
