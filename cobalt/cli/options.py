"""Command-line options generated from a verb's typed config (:mod:`cobalt.config`).

Every setting of a config becomes one option: its name from the field's name (``max_new_tokens``
-> ``--max-new-tokens``; nested settings use their own name, ``sampling.n`` -> ``--n``), its type
and choices from the field's type, its help from the field's description and default. The config
stays the one place where a default or a help text is written; a :class:`Flag` only renames an
option or turns a setting into a one-way switch, for names users already type (``--timeout``,
``--no-hidden``).

Options that are not given leave no value behind (``argparse.SUPPRESS``), so that a flag overrides
a preset or a YAML file only when it is on the command line.
"""

from __future__ import annotations

import argparse
import datetime
import json
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from cobalt.config import Settings, build_config, preset_names, resolve_source
from cobalt.jsonl import InputError

DEST_PREFIX = "setting:"  # keeps generated destinations apart from a verb's own arguments


@dataclass(frozen=True)
class Flag:
    """How one setting appears on the command line where the generated option does not suit."""

    name: str | None = None  #: the option string instead of ``--<field-name>``
    store: Any = None  #: when not None: a switch that stores this value (``--no-hidden`` stores False)
    metavar: str | None = None  #: the placeholder shown in help


@dataclass(frozen=True)
class Setting:
    """One leaf setting of a config: its dotted path, its field and (once added) its option."""

    path: str
    field: FieldInfo
    option: str = ""

    @property
    def dest(self) -> str:
        """The argparse destination of the setting's option."""
        return DEST_PREFIX + self.path


def leaf_settings(model: type[BaseModel], prefix: str = "") -> Iterator[Setting]:
    """Every leaf setting of ``model`` in field order, nested configs expanded."""
    for name, field in model.model_fields.items():
        nested = _nested_model(field.annotation)
        if nested is not None:
            yield from leaf_settings(nested, f"{prefix}{name}.")
        else:
            yield Setting(prefix + name, field)


def add_settings(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    model: type[BaseModel],
    *,
    skip: Sequence[str] = (),
    flags: Mapping[str, Flag] | None = None,
    prefixes: Mapping[str, str] | None = None,
    groups: bool = True,
    title: str | None = None,
) -> list[Setting]:
    """Add one option per leaf setting of ``model`` but those in ``skip``; returns the settings
    added. With ``groups`` (and a parser), the top-level settings go in a group named ``title`` and
    each nested config gets one of its own; ``prefixes`` maps a nested config's name to a prefix of
    its option names (``warmup-``)."""
    flags, prefixes = flags or {}, prefixes or {}
    chosen = [s for s in leaf_settings(model) if s.path not in skip]
    containers: dict[str, Any] = {}
    added: list[Setting] = []
    for setting in chosen:
        parent = setting.path.rpartition(".")[0]
        target = parser
        if groups and isinstance(parser, argparse.ArgumentParser):
            if parent not in containers:
                name = f"{parent} settings" if parent else title or f"settings ({model.__name__})"
                containers[parent] = parser.add_argument_group(name)
            target = containers[parent]
        added.append(_add_option(target, setting, flags.get(setting.path, Flag()), prefixes.get(parent, "")))
    return added


def add_verb(subparsers: argparse._SubParsersAction, name: str, **options: Any) -> argparse.ArgumentParser:
    """A sub-command (``help``, ``description``, ``epilog`` as ``add_parser`` takes them) whose
    epilog keeps its line breaks, so that its runnable examples stay one per line."""
    return subparsers.add_parser(name, formatter_class=argparse.RawDescriptionHelpFormatter, **options)


def given(args: argparse.Namespace, settings: Sequence[Setting]) -> dict[str, Any]:
    """Dotted path -> value of each generated option that was on the command line."""
    return {s.path: getattr(args, s.dest) for s in settings if hasattr(args, s.dest)}


def add_config_sources(parser: argparse.ArgumentParser, config: type[Settings], default: str | None = None) -> None:
    """``--preset``, ``--config``, ``--set`` and ``--print-config``: where settings come from.
    ``cobalt.cli.main`` answers ``--print-config`` for every verb from ``config``."""
    names = ", ".join(preset_names(config.verb))
    sources = parser.add_argument_group("where settings come from (defaults < preset < file < --set < flags)")
    if names:
        sources.add_argument("--preset", metavar="NAME", help=f"named settings: {names}")
    fallback = f" (default: {default})" if default else ""
    what = "a YAML file with the config's keys, or a preset" if names else "a YAML file with the config's keys"
    sources.add_argument("--config", metavar="FILE.yaml", default=default, help=what + fallback)
    sources.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="one setting (dotted key)")
    sources.add_argument("--print-config", action="store_true", help="print the resolved settings and exit")
    parser.set_defaults(config_class=config)


def load_settings(args: argparse.Namespace, config: type[Settings], settings: Sequence[Setting] = ()) -> Any:
    """The config from ``args``: defaults < ``--preset`` < ``--config`` < ``--set`` < generated flags.
    A bad value given by a flag is reported under the flag's name."""
    preset, file = getattr(args, "preset", None), None
    source = getattr(args, "config", None)
    if source is not None:
        from_source, file = resolve_source(config.verb, source)
        preset = preset or from_source
    flags = given(args, settings)
    try:
        return build_config(config, preset=preset, file=file, sets=getattr(args, "set", ()), flags=flags)
    except InputError as err:
        options = {s.path: s.option for s in settings if s.path in flags}
        if err.path != "command line" or err.field not in options:
            raise
        raise InputError("command line", err.message, field=options[err.field]) from None


# --- one option -------------------------------------------------------------------------------------


def _add_option(target: Any, setting: Setting, flag: Flag, prefix: str) -> Setting:
    leaf = setting.path.rpartition(".")[2]
    name = flag.name or "--" + prefix + leaf.replace("_", "-")
    kind = _option_kind(setting.field.annotation, flag, leaf)
    target.add_argument(name, dest=setting.dest, default=argparse.SUPPRESS, help=_option_help(setting, flag), **kind)
    return replace(setting, option=name)


def _option_help(setting: Setting, flag: Flag) -> str:
    field = setting.field
    if field.is_required():
        return _help(field.description, None, "required, here or in a settings file")
    if flag.store is not None:
        return _help(f"Sets {setting.path} to {json.dumps(flag.store)}: {field.description or ''}", None)
    return _help(field.description, _shown_default(field.get_default(call_default_factory=True)))


def _option_kind(annotation: Any, flag: Flag, leaf: str) -> dict[str, Any]:
    """How argparse reads the option: a one-way switch, a yes/no pair, a choice, a list or one value."""
    if flag.store is not None:
        return {"action": "store_const", "const": flag.store}
    annotation = _without_none(annotation)
    if annotation is bool:
        return {"action": argparse.BooleanOptionalAction}
    choices = _literal_values(annotation)
    if choices is not None:
        return {"choices": choices, "type": type(choices[0]), "metavar": flag.metavar}
    metavar = flag.metavar or _metavar(annotation, leaf)
    item = _sequence_item(annotation)
    if item is not None:
        return {"nargs": "+", "type": _converter(item), "metavar": metavar}
    return {"type": _converter(annotation), "metavar": metavar}


def _help(description: str | None, shown: str | None, note: str | None = None) -> str:
    text = (description or "").strip()
    extra = note or (f"default: {shown}" if shown is not None else None)
    if extra:
        body = text[:-1] if text.endswith(".") and not text.endswith("...") else text
        text = f"{body}; {extra}." if body else f"{extra[0].upper()}{extra[1:]}."
    return text.replace("%", "%%")  # argparse formats help strings with %


def _metavar(annotation: Any, leaf: str) -> str:
    item = _sequence_item(annotation) or annotation
    if item is int:
        return "N"
    if item is float:
        return "X"
    if item is datetime.date:
        return "YYYY-MM-DD"
    return leaf.upper()


def _shown_default(default: Any) -> str | None:
    if default is None or default == "" or default == [] or default == {} or default == ():
        return None
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, (list, tuple)):
        return " ".join(map(str, default))
    if isinstance(default, dict):
        return json.dumps(default)
    if isinstance(default, str) and "\n" in default:
        return None  # a prompt: shown by --print-config, not in one line of help
    return str(default)


# --- types --------------------------------------------------------------------------------------------


def _without_none(annotation: Any) -> Any:
    """``X | None`` -> ``X``; other annotations unchanged."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    annotation = _without_none(annotation)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _literal_values(annotation: Any) -> list[Any] | None:
    return list(typing.get_args(annotation)) if typing.get_origin(annotation) is typing.Literal else None


def _sequence_item(annotation: Any) -> Any:
    """The item type of ``list[X]`` or ``tuple[X, ...]`` with a simple ``X``, else None."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and len(args) == 1 and args[0] in (int, float, str):
        return args[0]
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis and args[0] in (int, float, str):
        return args[0]
    return None


def _converter(annotation: Any) -> Callable[[str], Any]:
    if annotation in (int, float, str):
        return annotation
    if annotation is datetime.date:
        return _date
    return _yaml_value  # mappings, lists of records, unions: YAML (JSON is YAML), checked by the config


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _yaml_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise argparse.ArgumentTypeError(f"not a YAML or JSON value: {err}") from None
