"""Entry point of the ``cobalt`` command.

Exit codes: 0 success, 1 the work failed, 2 bad input or usage (one message naming file, line and
field). Verbs import their heavy dependencies only when run, so ``cobalt --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from cobalt import __version__
from cobalt.cli.options import load_settings
from cobalt.jsonl import InputError

# verb name -> module defining `register(subparsers)`; the module's `run(args)` does the work.
VERBS = {
    "exec": "cobalt.cli.exec_cmd",
    "demo": "cobalt.cli.demo_cmd",
    "data": "cobalt.cli.data_cmd",
    "rollout": "cobalt.cli.rollout_cmd",
    "evaluate": "cobalt.cli.evaluate_cmd",
    "bandit": "cobalt.cli.bandit_cmd",
    "train": "cobalt.cli.train_cmd",
    "export": "cobalt.cli.export_cmd",
    "model": "cobalt.cli.model_cmd",
    "hacking": "cobalt.cli.hacking_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    """The ``cobalt`` argument parser, with one sub-command per verb of :data:`VERBS`."""
    parser = argparse.ArgumentParser(
        prog="cobalt",
        description="Cobalt: contextual bandit learning for multi-turn code generation.",
    )
    parser.add_argument("--version", action="version", version=f"cobalt {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    subparsers.required = True
    for module in VERBS.values():
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``cobalt`` command on ``argv`` (default: ``sys.argv[1:]``) and return its exit status;
    bad usage makes argparse exit with status 2 itself."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        if getattr(args, "print_config", False):
            print(load_settings(args, args.config_class, args.settings).to_yaml(), end="")
            return 0
        return int(args.run(args) or 0)
    except InputError as err:
        print(f"cobalt {args.verb}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cobalt {args.verb}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
