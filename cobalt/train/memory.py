"""Per-GPU memory of a training run, worked out from its config before anything is loaded.

``cobalt train --estimate-memory`` prints this estimate; ``cobalt train`` prints a warning before
launch when it does not fit the GPUs present. The arithmetic (docs/train.md#gpu-memory):

* **Weights, gradients, optimizer.** Full fine-tuning without DeepSpeed (ZeRO stage 0) keeps every
  weight, its gradient and AdamW's two moments in ``model_dtype``: 16 bytes a parameter in float32,
  and bf16 autocast's cached copy of each weight (2 more) during the forward pass.
  Under DeepSpeed with bf16, the ZeRO paper's accounting: 2 bytes of bf16 weights, 2 of gradients and
  12 of fp32 master weights and moments, sharded over the GPUs by stage (1: the 12; 2: the 12 and the
  gradients; 3: all 16). With LoRA the base is frozen in ``model_dtype`` (sharded only under ZeRO-3)
  and the adapters cost 16 bytes a parameter (fp32 weights, gradients, moments).
* **Reference model** (``beta > 0``, not with LoRA, whose base model is the reference): the weights
  once more, in bf16 under DeepSpeed (sharded under ZeRO-3), else in ``model_dtype``.
* **Activations** of one micro-batch of ``per_device_train_batch_size`` sequences of the longest
  length training makes (``max_prompt_tokens + max_completion_length``): with gradient
  checkpointing, each block's bf16 input (2·h bytes a token a block) plus one block recomputed
  (16·h bytes for attention, 8·I for the SwiGLU MLP, a token); without it, every block's. Plus the
  logits of the completion tokens (TRL keeps only those): the logits, their temperature-scaled copy
  and their gradient, each ``vocab`` values a token in bf16, and one sequence's float32 log-softmax.
* **vLLM, colocated**: ``vllm_gpu_memory_utilization`` of the GPU for its weights and KV cache,
  held all the time without sleep mode; with sleep mode (TRL's level 2) freed while training, so
  generation and training peak separately. In server mode vLLM runs on other GPUs.
* **Overhead**: 3 GB for the CUDA context, NCCL buffers and allocator fragmentation, and under
  ZeRO-3 the parameters gathered for two blocks and the output head.

Worst case on purpose: one micro-batch of full-length prompts and completions must fit, because
one will come. Model shapes come from a local model directory's ``config.json`` or, offline, from
:data:`KNOWN_MODELS`; nothing is downloaded.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cobalt.jsonl import InputError
from cobalt.train.config import TrainConfig

GB = 1e9  # GPU makers' gigabyte: an "80 GB" H100 holds 85.0e9 bytes, so 80 GB is a safe capacity
OVERHEAD_GB = 3.0  # CUDA context, NCCL buffers, allocator fragmentation (a rough, measured-elsewhere allowance)
VLLM_ASLEEP_GB = 1.0  # what a sleeping vLLM (level 2) keeps: CUDA graphs and its own context
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2, "auto": 2}  # auto: the checkpoint's, bf16 for these models
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class ModelShape:
    """What the memory arithmetic needs of a decoder-only transformer (Qwen2/Qwen3/Llama layout)."""

    name: str
    vocab: int
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    tied_embeddings: bool
    qkv_bias: bool = False
    qk_norm: bool = False

    @property
    def block_params(self) -> int:
        """Parameters of one transformer block."""
        h, q, kv = self.hidden, self.heads * self.head_dim, self.kv_heads * self.head_dim
        attention = h * q + 2 * h * kv + q * h + (q + 2 * kv if self.qkv_bias else 0)
        norms = 2 * h + (2 * self.head_dim if self.qk_norm else 0)
        return attention + 3 * h * self.intermediate + norms

    @property
    def params(self) -> int:
        """Every parameter: embeddings, blocks, final norm and (untied) output head."""
        embeddings = self.vocab * self.hidden * (1 if self.tied_embeddings else 2)
        return embeddings + self.layers * self.block_params + self.hidden

    @property
    def kv_bytes_per_token(self) -> int:
        """Bytes of bf16 KV cache vLLM keeps for one token: keys and values of every block."""
        return 2 * self.layers * self.kv_heads * self.head_dim * 2

    def module_shape(self, module: str) -> tuple[int, int]:
        """(in, out) features of one linear layer of a block, by its Qwen/Llama name."""
        h, q, kv, i = self.hidden, self.heads * self.head_dim, self.kv_heads * self.head_dim, self.intermediate
        shapes = {
            "q_proj": (h, q),
            "k_proj": (h, kv),
            "v_proj": (h, kv),
            "o_proj": (q, h),
            "gate_proj": (h, i),
            "up_proj": (h, i),
            "down_proj": (i, h),
        }
        if module not in shapes:
            raise InputError("config", f"lora target {module!r} is not a linear layer of the block", field="lora")
        return shapes[module]

    def lora_params(self, r: int, targets: list[str]) -> int:
        """Trainable parameters of rank-``r`` adapters on ``targets`` in every block."""
        modules = LORA_TARGETS if targets == ["all-linear"] else targets
        return self.layers * sum(r * sum(self.module_shape(m)) for m in modules)


def shape_from_config(name: str, config: dict[str, Any]) -> ModelShape:
    """The shape of a Hugging Face ``config.json`` (Qwen2, Qwen3 and Llama keys)."""
    heads = config["num_attention_heads"]
    model_type = config.get("model_type", "")
    return ModelShape(
        name=name,
        vocab=config["vocab_size"],
        hidden=config["hidden_size"],
        layers=config["num_hidden_layers"],
        heads=heads,
        kv_heads=config.get("num_key_value_heads") or heads,
        head_dim=config.get("head_dim") or config["hidden_size"] // heads,
        intermediate=config["intermediate_size"],
        tied_embeddings=bool(config.get("tie_word_embeddings", False)),
        qkv_bias=bool(config.get("attention_bias", model_type == "qwen2")),
        qk_norm=model_type.startswith("qwen3"),
    )


# The published config.json values of the models the presets name, for estimates without a download.
KNOWN_MODELS: dict[str, ModelShape] = {
    shape.name.lower(): shape
    for shape in (
        ModelShape("Qwen/Qwen3-8B", 151_936, 4096, 36, 32, 8, 128, 12_288, False, qk_norm=True),
        ModelShape("Qwen/Qwen2.5-Coder-1.5B-Instruct", 151_936, 1536, 28, 12, 2, 128, 8960, True, qkv_bias=True),
        ModelShape("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", 128_256, 4096, 32, 32, 8, 128, 14_336, False),
    )
}


def model_shape(model: str) -> ModelShape:
    """The shape of ``model``: its ``config.json`` when it is a local directory, else the entry of
    :data:`KNOWN_MODELS` with that hub id or final name (``models/Qwen3-8B`` finds Qwen/Qwen3-8B)."""
    path = Path(model)
    if (path / "config.json").is_file():
        config = json.loads((path / "config.json").read_text())
        return shape_from_config(model, config.get("text_config", config))
    key = model.lower().rstrip("/")
    for name, shape in KNOWN_MODELS.items():
        if key == name or key.rsplit("/", 1)[-1] == name.rsplit("/", 1)[-1]:
            return shape
    known = ", ".join(s.name for s in KNOWN_MODELS.values())
    raise InputError(
        "config",
        f"no shape for model {model!r}: give a local model directory (its config.json is read) or one of {known}",
        field="model",
    )


@dataclass(frozen=True)
class Hardware:
    """What the run is estimated for: training GPUs, each GPU's memory, DeepSpeed's ZeRO stage."""

    gpus: int
    gpu_gb: float
    zero_stage: int  # 0: no DeepSpeed (one process, or DDP)
    detected: bool = False  # measured on this machine rather than assumed


@dataclass
class MemoryEstimate:
    """Per-GPU memory of one run, item by item, and the phase that peaks."""

    shape: ModelShape
    hardware: Hardware
    items: dict[str, float] = field(default_factory=dict)  #: name -> GB, always held
    activations_gb: float = 0.0
    vllm_gb: float = 0.0  #: vLLM's reservation on a training GPU
    vllm_sleeps: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def static_gb(self) -> float:
        """What every phase holds: weights, gradients, optimizer, reference model, overhead."""
        return sum(self.items.values())

    @property
    def training_gb(self) -> float:
        """The forward and backward pass: static, activations and vLLM (asleep or not)."""
        vllm = VLLM_ASLEEP_GB if self.vllm_sleeps and self.vllm_gb else self.vllm_gb
        return self.static_gb + self.activations_gb + vllm

    @property
    def generation_gb(self) -> float:
        """Generation: static and vLLM's whole reservation, no activations."""
        return self.static_gb + self.vllm_gb

    @property
    def peak_gb(self) -> float:
        """The larger of the two phases."""
        return max(self.training_gb, self.generation_gb)

    @property
    def fits(self) -> bool:
        """Whether the peak fits one GPU's memory."""
        return self.peak_gb <= self.hardware.gpu_gb

    def table(self) -> str:
        """The estimate as an aligned text table, with the verdict on its last line."""
        hw = self.hardware
        where = "detected" if hw.detected else "assumed"
        zero = f"DeepSpeed ZeRO-{hw.zero_stage}" if hw.zero_stage else "no DeepSpeed"
        lines = [
            f"{self.shape.name}: {self.shape.params / 1e9:.2f} B parameters; {hw.gpus} training GPU(s) of "
            f"{hw.gpu_gb:g} GB ({where}), {zero}",
        ]
        rows = [*self.items.items(), ("activations (training phase)", self.activations_gb)]
        if self.vllm_gb:
            rows.append(("vLLM reservation" + (" (asleep while training)" if self.vllm_sleeps else ""), self.vllm_gb))
        width = max(len(name) for name, _ in rows)
        lines += [f"  {name:<{width}}  {gb:6.1f} GB" for name, gb in rows]
        lines.append(f"  {'peak while training':<{width}}  {self.training_gb:6.1f} GB")
        if self.vllm_sleeps and self.vllm_gb:
            lines.append(f"  {'peak while generating':<{width}}  {self.generation_gb:6.1f} GB")
        lines += [f"  note: {note}" for note in self.notes]
        verdict = "fits" if self.fits else "DOES NOT FIT"
        lines.append(f"{verdict}: peak {self.peak_gb:.1f} GB of {hw.gpu_gb:g} GB per GPU")
        return "\n".join(lines)


def estimate_memory(config: TrainConfig, shape: ModelShape, hardware: Hardware) -> MemoryEstimate:
    """The per-GPU memory of training ``config`` on ``hardware`` (module docstring for the rules)."""
    n, world, stage = shape.params, hardware.gpus, hardware.zero_stage
    deepspeed = stage > 0
    load_bytes = DTYPE_BYTES[config.model_dtype]
    estimate = MemoryEstimate(shape, hardware)
    items = estimate.items

    def shard(bytes_: float, from_stage: int) -> float:
        """``bytes_`` on one GPU once ZeRO stage ``from_stage`` or later splits it over the GPUs."""
        return bytes_ / world if deepspeed and stage >= from_stage else bytes_

    if config.lora is not None:
        base = 2 if deepspeed else load_bytes
        items["frozen base weights"] = shard(base * n, 3) / GB
        adapters = shape.lora_params(config.lora.r, config.lora.target_modules)
        items[f"LoRA adapters ({adapters / 1e6:.0f} M): weights, gradients, AdamW"] = 16 * adapters / GB
    elif deepspeed:
        items["weights (bf16)"] = shard(2 * n, 3) / GB
        items["gradients (bf16)"] = shard(2 * n, 2) / GB
        items["fp32 master weights + AdamW moments"] = shard(12 * n, 1) / GB
    else:
        items[f"weights ({config.model_dtype})"] = load_bytes * n / GB
        items[f"gradients ({config.model_dtype})"] = load_bytes * n / GB
        items[f"AdamW moments ({config.model_dtype})"] = 2 * load_bytes * n / GB
        if load_bytes == 4 and config.bf16 and not config.use_cpu:
            # autocast keeps a bf16 copy of every trainable weight it casts until the forward pass ends
            items["autocast's bf16 weight copies"] = 2 * n / GB
    if config.beta > 0 and config.lora is None:
        items["reference model"] = shard((2 if deepspeed else load_bytes) * n, 3) / GB
    overhead = OVERHEAD_GB
    if deepspeed and stage == 3:
        head = shape.vocab * shape.hidden
        overhead += 2 * (2 * shape.block_params + head) / GB
    items["CUDA context, NCCL, fragmentation" + (", ZeRO-3 gathers" if stage == 3 else "")] = overhead

    estimate.activations_gb = activation_bytes(config, shape) / GB
    if config.use_vllm and config.vllm_mode == "colocate":
        estimate.vllm_gb = config.vllm_gpu_memory_utilization * hardware.gpu_gb
        estimate.vllm_sleeps = config.vllm_enable_sleep_mode
        estimate.notes.extend(_vllm_notes(config, shape, estimate.vllm_gb))
    elif config.use_vllm:
        estimate.notes.append("vLLM runs as a `trl vllm-serve` server on other GPUs; they are not counted here")
    if not config.bf16 or config.use_cpu:
        estimate.notes.append("bf16 is off: activations are counted in bf16 and are twice as large in float32")
    return estimate


def activation_bytes(config: TrainConfig, shape: ModelShape) -> float:
    """Activations of one micro-batch of full-length sequences (module docstring)."""
    batch = config.per_device_train_batch_size
    tokens = batch * (config.max_prompt_tokens + config.max_completion_length)
    block = tokens * (16 * shape.hidden + 8 * shape.intermediate)
    # Checkpointing keeps each block's input and recomputes one block at a time in the backward pass.
    checkpointed = tokens * 2 * shape.hidden * shape.layers + block
    blocks = checkpointed if config.gradient_checkpointing else block * shape.layers
    completion = config.max_completion_length
    logits = 3 * batch * completion * shape.vocab * 2 + completion * shape.vocab * 4
    return blocks + logits


def _vllm_notes(config: TrainConfig, shape: ModelShape, reservation_gb: float) -> list[str]:
    """Whether vLLM's reservation holds its weights and a full-length sequence, and how many."""
    weights_gb = 2 * shape.params / config.vllm_tensor_parallel_size / GB
    context = config.vllm_context()
    per_sequence_gb = shape.kv_bytes_per_token * context / config.vllm_tensor_parallel_size / GB
    kv_gb = reservation_gb - weights_gb - 1.0  # vLLM's own activations and CUDA graphs: about 1 GB
    if kv_gb < per_sequence_gb:
        return [
            f"vLLM's {reservation_gb:.1f} GB cannot hold its weights ({weights_gb:.1f} GB) and the KV cache of one "
            f"{context}-token sequence ({per_sequence_gb:.1f} GB): raise vllm_gpu_memory_utilization or lower "
            "vllm_max_model_length"
        ]
    return [
        f"vLLM: {weights_gb:.1f} GB of weights, {kv_gb:.1f} GB of KV cache = {kv_gb / per_sequence_gb:.0f} "
        f"sequences of {context} tokens at once"
    ]


def detected_hardware(config: TrainConfig) -> Hardware | None:
    """The hardware of this launch: the processes ``accelerate launch`` started (``WORLD_SIZE``), the
    first GPU's memory and accelerate's DeepSpeed stage; None without a GPU (or with ``use_cpu``)."""
    if config.use_cpu:
        return None
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    total = torch.cuda.get_device_properties(0).total_memory / GB
    world = int(os.environ.get("WORLD_SIZE", "1"))
    deepspeed = os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true"
    stage = int(os.environ.get("ACCELERATE_DEEPSPEED_ZERO_STAGE", "3")) if deepspeed else 0
    return Hardware(gpus=world, gpu_gb=total, zero_stage=stage, detected=True)


def planned_hardware(config: TrainConfig) -> Hardware:
    """The hardware the config says it is sized for (``gpus``, ``gpu_memory_gb``, ``zero_stage``)."""
    return Hardware(gpus=config.gpus, gpu_gb=config.gpu_memory_gb, zero_stage=config.zero_stage)
