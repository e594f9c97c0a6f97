"""``cobalt data prepare`` as one library call: :func:`prepare` streams the problems of any source
under one typed config (:class:`PrepareConfig`), the settings of every loader in one place.

A cleaning rule left unset (``None``) takes the source's own default: the published TACO-Cobalt
rules for ``taco-raw`` (:meth:`Cleaning.taco`), the generic ones (:class:`Cleaning`) elsewhere.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, ValidationError

from cobalt.config import Settings, same_setting
from cobalt.data.apps import load_apps
from cobalt.data.bundled import BundledConfig, load_bundled
from cobalt.data.cleaning import Cleaning, PublicRule
from cobalt.data.codecontests import load_codecontests
from cobalt.data.funcall import load_funcall
from cobalt.data.lcb import HUB_NAME, FunctionalAs, load_livecodebench
from cobalt.data.problems import load_problems
from cobalt.data.report import LoadReport
from cobalt.data.taco import load_taco_cobalt, load_taco_raw
from cobalt.jsonl import InputError
from cobalt.records import Problem
from cobalt.sandbox.config import Limits, SandboxConfig

Source = Literal["taco", "taco-raw", "lcb", "apps", "codecontests", "mbpp", "humaneval", "jsonl", "bundled"]
SOURCES: tuple[str, ...] = Source.__args__  # type: ignore[attr-defined]
BUNDLED_SPLITS = ("all", "train", "dev", "test")


class PrepareConfig(Settings):
    """Which source to read and the rules it is cleaned, split and verified by."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    verb: ClassVar[str] = "data"

    source: Source = Field(
        ...,
        description="What INPUT holds: taco (TACO-Cobalt / -PTB rows), taco-raw (raw TACO, published cleaning "
        "rules), lcb (LiveCodeBench code_generation_lite), apps, codecontests, mbpp, humaneval, jsonl (Cobalt's "
        "own schema), bundled (the generated demo suite).",
    )
    split: str | None = Field(None, description="Hub split; for bundled: train, dev, test or all (default all).")
    skip_invalid: bool = Field(False, description="Skip bad rows (warned, counted) instead of stopping.")
    # cleaning and the public/hidden split (None: the source's default)
    min_tests: int | None = Field(None, ge=1, description="Drop problems with fewer tests (taco-raw: 8, others: 2).")
    max_tests: int | None = Field(None, ge=2, description="Cap tests per problem (taco-raw: 20, others: no cap).")
    num_public: int | None = Field(None, ge=0, description="Public tests per problem (default 4).")
    public_rule: PublicRule | None = Field(None, description="How public tests are chosen (default examples first).")
    examples: Literal["keep", "cut"] | None = Field(
        None, description="Cut statements before their examples (lcb: cut, others: keep)."
    )
    detect_float: bool = Field(
        False,
        description="Give problems whose expected outputs hold decimal numbers the 'float' comparator (counted "
        "in the report; taco, jsonl and bundled keep their records' own); off: outputs are compared as text (the "
        "executor's default), as in the reference release.",
    )
    # verification with the provided solutions
    verify: bool = Field(
        False,
        description="Drop problems that no provided solution passes (taco-raw, apps, codecontests, mbpp, humaneval).",
    )
    max_solutions: int = Field(16, ge=1, description="Solutions tried per problem when verifying.")
    cpu_s: float = same_setting(Limits, "cpu_s")
    allow_unsafe: bool = same_setting(SandboxConfig, "allow_unsafe")
    # LiveCodeBench
    release: str | None = Field(
        None, description="lcb: release_vN (cumulative), vN (one increment) or vN_vM; the paper uses v6."
    )
    start_date: datetime.date | None = Field(None, description="lcb: keep contests on or after this date.")
    end_date: datetime.date | None = Field(None, description="lcb: keep contests on or before this date.")
    max_hidden: int | None = Field(None, ge=1, description="lcb: cap hidden tests (default: keep all).")
    lcb_functional: FunctionalAs = Field(
        "stdin",
        description="lcb: how LeetCode (functional) problems run: stdin (the reference's way: a program reads the "
        "argument lines and prints the answer, compared as text) or call (the named function is called and its "
        "JSON result compared).",
    )
    # CodeContests
    include_generated: bool = Field(
        False, description="codecontests: add the generated tests to the hidden ones (never to the public ones)."
    )
    # the bundled suite
    bundled: BundledConfig = Field(default_factory=BundledConfig)

    def rules(self) -> Cleaning:
        """The source's default cleaning rules with the settings given here applied."""
        base = Cleaning.taco() if self.source == "taco-raw" else Cleaning()
        overrides = {
            "min_tests": self.min_tests,
            "max_tests": self.max_tests,
            "num_public": self.num_public,
            "public_rule": self.public_rule,
            "cut_examples": None if self.examples is None else self.examples == "cut",
            "detect_float": self.detect_float,
        }
        given = {key: value for key, value in overrides.items() if value is not None}
        try:
            return Cleaning.model_validate({**base.model_dump(), **given})
        except ValidationError as err:
            first = err.errors()[0]
            raise InputError(
                "command line", first["msg"], field="--" + str(first["loc"][0]).replace("_", "-")
            ) from None

    def sandbox(self) -> SandboxConfig:
        """The sandbox verification runs in."""
        return SandboxConfig(limits=Limits(cpu_s=self.cpu_s), allow_unsafe=self.allow_unsafe)


def prepare(source_input: str | None, config: PrepareConfig, report: LoadReport) -> Iterator[Problem]:
    """The problems of ``source_input`` (a file, a directory or a hub name) read as ``config.source``;
    ``report`` counts what was kept and dropped. ``bundled`` needs no input; ``lcb`` defaults to
    the hub's LiveCodeBench."""
    common: dict[str, Any] = {"skip_invalid": config.skip_invalid, "report": report}
    if config.source == "bundled":
        if (config.split or "all") not in BUNDLED_SPLITS:
            raise InputError("command line", f"--split for bundled is train, dev, test or all, not {config.split!r}")
        return load_bundled(config.split or "all", config.bundled, report=report)
    if config.source == "lcb":
        return load_livecodebench(
            source_input or HUB_NAME,
            release=config.release,
            start_date=config.start_date,
            end_date=config.end_date,
            cut_examples=config.examples != "keep",
            max_hidden=config.max_hidden,
            functional=config.lcb_functional,
            detect_float=config.detect_float,
            **common,
        )
    if not source_input:
        raise InputError("command line", f"--source {config.source} needs INPUT (a file, directory or hub name)")
    if config.source == "taco":
        return load_taco_cobalt(source_input, split=config.split, **common)
    if config.source == "jsonl":
        return iter(load_problems(source_input, **common))
    return _with_rules(source_input, config, common)


def _with_rules(source_input: str, config: PrepareConfig, common: dict[str, Any]) -> Iterator[Problem]:
    """The sources cleaned by :class:`Cleaning` rules and verifiable with provided solutions."""
    checks: dict[str, Any] = {"verify": config.verify, "rules": config.rules(), **common}
    if config.verify:
        checks["sandbox"] = config.sandbox()
    if config.source in ("mbpp", "humaneval"):
        return load_funcall(source_input, **checks)
    checks["max_solutions"] = config.max_solutions
    if config.source == "taco-raw":
        return load_taco_raw(source_input, split=config.split, **checks)
    if config.source == "apps":
        return load_apps(source_input, split=config.split, **checks)
    return load_codecontests(source_input, split=config.split, include_generated=config.include_generated, **checks)
