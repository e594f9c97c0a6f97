"""One configuration system for every verb: typed settings, named presets, YAML files, overrides.

Each verb has one typed config, a subclass of :class:`Settings` (``TrainConfig``, ``RolloutConfig``,
``BuildConfig``, ...): its fields are the single source of every default and every help text; the
command line generates its flags from them (:mod:`cobalt.cli.options`) and the docs quote them.

Values come from four places, each overriding the one before:

1. the field defaults (for the paper's stages, the paper's settings);
2. a named preset, ``cobalt/presets/<verb>/<name>.yaml`` (one namespace per verb, so ``tiny-cpu``
   can name the demo's scale for both ``train`` and ``rollout``);
3. a YAML file of the user's, with the same keys as the config (nested keys for nested settings);
4. ``--set KEY=VALUE`` options (dotted keys, values read as YAML) and the verb's own flags.

Each source is validated as it is merged, so an error names where the bad value came from: the
file and line of a YAML error, the file and field of a bad value, or ``--set`` / ``command line``.

Why YAML presets rather than Python dicts: a preset is data a user copies and edits, and its
comments carry the reasons for each value (the paper section, or the measurement behind it).
Prompts, feedback rendering and reward tiers are not configuration: they are typed Python, so that
a run is never silently scored under other wording.
"""

from __future__ import annotations

import copy
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict
from pydantic.fields import FieldInfo

from cobalt.jsonl import InputError, validate

PRESET_ROOT = Path(__file__).with_name("presets")

Config = TypeVar("Config", bound="Settings")


class Settings(BaseModel):
    """Base of every verb's typed config: strict about unknown keys, loadable from presets and YAML."""

    model_config = ConfigDict(extra="forbid")

    #: the preset namespace (``cobalt/presets/<verb>/``); empty for configs without presets
    verb: ClassVar[str] = ""

    @classmethod
    def presets(cls) -> list[str]:
        """The names of this verb's presets."""
        return preset_names(cls.verb)

    @classmethod
    def load(
        cls: type[Config],
        source: str | os.PathLike | None = None,
        overrides: Iterable[str] = (),
        *,
        preset: str | None = None,
    ) -> Config:
        """The config from ``source`` (a YAML file, or else the name of one of this verb's presets),
        then ``KEY=VALUE`` ``overrides``. ``preset`` names a preset explicitly (applied first)."""
        preset_name, file = resolve_source(cls.verb, source) if source is not None else (None, None)
        return build_config(cls, preset=preset or preset_name, file=file, sets=overrides)

    def to_yaml(self) -> str:
        """The settings as a YAML file that :meth:`load` reads back to an equal config."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def install_hint(*extras: str) -> str:
    """The command that installs optional ``extras``: Cobalt installs from its source checkout (the
    ``cobalt`` on PyPI is an unrelated package), so the hint is an editable install of the checkout."""
    return f"pip install -e '.[{','.join(extras)}]' in the Cobalt checkout"


def same_setting(model: type[BaseModel], name: str) -> Any:
    """A field defined as ``model``'s field ``name`` (default, bounds and description), for a config
    that exposes one of another config's settings: the default is then stated once."""
    field: FieldInfo = copy.deepcopy(model.model_fields[name])
    return field


# --- presets --------------------------------------------------------------------------------------


def preset_names(verb: str) -> list[str]:
    """The presets of ``verb``, sorted (none for a verb without a preset folder)."""
    folder = PRESET_ROOT / verb
    return sorted(path.stem for path in folder.glob("*.yaml")) if verb and folder.is_dir() else []


def preset_path(verb: str, name: str) -> Path:
    """The file of preset ``name`` of ``verb``; an unknown name is bad input that lists the known ones."""
    path = PRESET_ROOT / verb / f"{name}.yaml"
    if not verb or not path.is_file():
        known = ", ".join(preset_names(verb)) or "none"
        raise InputError("--preset", f"unknown preset {name!r}; choose from {known}")
    return path


def resolve_source(verb: str, source: str | os.PathLike) -> tuple[str | None, Path | None]:
    """``(preset, None)`` or ``(None, file)`` for a ``--config`` value: a YAML file if one exists at
    that path, else one of ``verb``'s presets."""
    path = Path(source)
    if path.is_file():
        return None, path
    if str(source) in preset_names(verb):
        return str(source), None
    names = ", ".join(preset_names(verb)) or "none"
    raise InputError(source, f"no such file or preset (presets: {names})")


# --- YAML and merging -----------------------------------------------------------------------------


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """A YAML mapping of settings, with parse errors reported by file and line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(path, f"invalid YAML ({getattr(err, 'problem', None) or err})", line=line) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(path, f"expected a mapping of settings, got {type(data).__name__}")
    return data


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``update``, recursing into nested mappings (neither is modified)."""
    merged = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def nest(dotted: Mapping[str, Any]) -> dict[str, Any]:
    """``{"sampling.n": 4}`` -> ``{"sampling": {"n": 4}}``."""
    nested: dict[str, Any] = {}
    for key, value in dotted.items():
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def is_setting(model: type[BaseModel], dotted: str) -> bool:
    """Whether ``dotted`` names a setting of ``model``: a field, a field of a nested config, or a
    key inside a mapping-valued field."""
    current: Any = model
    for part in dotted.split("."):
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return current is dict  # any key of a free-form mapping
        field = current.model_fields.get(part)
        if field is None:
            return False
        current = _container(field.annotation)
    return True


def _container(annotation: Any) -> Any:
    """What a dotted key can reach into: a nested config, ``dict`` for a mapping, else the type."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = members[0] if len(members) == 1 else annotation
    return typing.get_origin(annotation) or annotation


def parse_sets(model: type[BaseModel], items: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` options as dotted settings, values read as YAML."""
    values: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not is_setting(model, key):
            raise InputError("--set", f"{item!r} is not KEY=VALUE with KEY a setting of {model.__name__}")
        values[key] = yaml.safe_load(value)
    return values


def build_config(
    model: type[Config],
    *,
    preset: str | None = None,
    file: str | os.PathLike | None = None,
    sets: Iterable[str] = (),
    flags: Mapping[str, Any] | None = None,
) -> Config:
    """Defaults < ``preset`` < YAML ``file`` < ``--set`` items < ``flags`` (dotted keys), validated at
    each source so that an error names where the bad value came from."""
    data: dict[str, Any] = {}
    if preset is not None:
        path = preset_path(model.verb, preset)
        data = read_yaml(path)
        validate(model, data, path)
    if file is not None:
        data = deep_merge(data, read_yaml(file))
        validate(model, data, file)
    sets = list(sets)
    if sets:
        data = deep_merge(data, nest(parse_sets(model, sets)))
        validate(model, data, "--set")
    data = deep_merge(data, nest(flags or {}))
    return validate(model, data, "command line")
