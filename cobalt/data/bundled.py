"""The bundled problem suite: procedurally generated stdin/stdout problems for the embedded demo.

Each problem filters a list of integers and aggregates what is left ("keep the even numbers, print
the largest"): 7 filters x 14 aggregates = 98 combinations, 3 input formats, 2 output layouts for
list results, several phrasings of every sentence, and a marker printed when nothing is left.
Programs are 3-5 regular lines, so that a ~2M-parameter model can learn them on a CPU in minutes
(the shared feasibility study measured what such a model learns on this family).

What makes feedback worth having: in a fraction of the statements (``unstated_fraction``) one
detail is left out: the output layout, the sort direction, or the marker printed when nothing is
left. The statement says that the detail exists but not its value; only the expected output of a
failed public test reveals it. Public tests are chosen so that they do reveal it, and so that each
stored wrong solution fails at least one of them.

``meta`` of each problem: its specification (``filter, k, aggregate, input_format, layout,
marker, unstated``), ``reference_solution``, ``wrong_solutions`` (each ``{"kind", "code"}``:
confused operation, off-by-one, misread input, missing empty-case guard, wrong layout, direction
or marker), ``split``, ``seed``, ``combination`` and ``combination_held_out`` (a seeded third of the
98 combinations; a trainer can keep them out of supervised data to measure generalisation).

Splits share no problem instance, not even reworded. An instance is everything that fixes the
statement and the right answers; the test, dev and train splits are drawn in that order, each from
its own seeded stream, skipping every instance whose answers an earlier split already has (in any
phrasing), so the test split depends only on the seed and its own size. A few combinations have
so few variants ("sum of all numbers" has three, one per input format) that the test split may
take them all; the train split then simply never sees them, like the ``combination_held_out``
third of the combinations (``meta["combination_variants"]`` gives each combination's count).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cobalt.data.bundled_spec import (
    AGGREGATES,
    ALL_SENTENCES,
    FILTER_SENTENCES,
    FILTERS,
    INPUT_FORMATS,
    LAYOUTS,
    MARKER_STATED,
    MARKER_UNSTATED,
    MARKERS,
    PREDICATES,
    SORTED_UNSTATED,
    Spec,
    interpret,
    program,
    render_input,
    same_output,
)
from cobalt.data.report import LoadReport
from cobalt.records import Problem, Tests

SPLITS = ("test", "dev", "train")  # drawing order: evaluation splits never depend on train's size
FAMILY = "filter-aggregate"
VALUES = range(-9, 31)  # list elements
MAX_DRAWS_PER_PROBLEM = 50  # a draw fails when no 4 public tests reveal what they must; bounded

FILTER_CONFUSION = {"even": "odd", "odd": "even", "gt": "ge", "ge": "gt", "lt": "le", "div": "ndiv"}
AGGREGATE_CONFUSION = {
    "sum": "count",
    "count": "sum",
    "max": "min",
    "min": "max",
    "first": "last",
    "last": "first",
    "range": "max",
    "sumsq": "sum",
    "product": "sum",
    "keep": "reversed",
    "reversed": "keep",
    "sorted_asc": "sorted_desc",
    "sorted_desc": "sorted_asc",
    "distinct": "keep",
}
MISREAD = {"line": "count", "count": "line", "lines": "count"}


class BundledConfig(BaseModel):
    """How much of the suite to generate, and its knobs. Same config, same problems."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(0, description="Seed of everything: instances, phrasings, tests, held-out combinations.")
    train: int = Field(2000, ge=0, description="Problems in the train split.")
    dev: int = Field(200, ge=0, description="Problems in the dev split.")
    test: int = Field(300, ge=0, description="Problems in the test split.")
    num_public: int = Field(4, ge=1, description="Public tests per problem (the paper uses 4).")
    num_hidden: int = Field(8, ge=1, description="Hidden tests per problem.")
    unstated_fraction: float = Field(
        0.5, ge=0, le=1, description="Share of eligible statements with a detail left out."
    )
    held_out_fraction: float = Field(1 / 3, ge=0, le=1, description="Share of combinations flagged as held out.")
    max_wrong: int = Field(4, ge=1, description="Wrong solutions stored per problem, at most.")
    min_wrong: int = Field(
        2, ge=1, description="A problem needs at least this many wrong solutions caught by public tests."
    )

    def size(self, split: str) -> int:
        """How many problems the split ``train``, ``dev`` or ``test`` holds; any other name raises ``KeyError``."""
        return {"train": self.train, "dev": self.dev, "test": self.test}[split]


@dataclass(frozen=True)
class Instance:
    """A problem before its tests: the specification, the unstated detail and the phrasing."""

    spec: Spec
    unstated: str | None  # "layout", "direction", "marker" or None
    phrasing: tuple[int, ...]

    @property
    def semantics(self) -> tuple:
        """What fixes the right answers (and what the statement leaves out)."""
        return (self.spec, self.unstated)

    @property
    def key(self) -> tuple:
        """Identity of the instance: its right answers and its exact statement."""
        return (*self.semantics, statement(self))

    @property
    def combination(self) -> str:
        """The instance's ``filter/aggregate`` combination, e.g. ``even/max``."""
        return f"{self.spec.filter}/{self.spec.aggregate}"


@dataclass(frozen=True)
class Wrong:
    """One plausible mistake: a short description (``kind``) and the specification a program making it follows."""

    kind: str
    spec: Spec
    must_fail: bool  # the mistake a first attempt makes when it guesses the unstated detail wrong


def _derived_seed(*parts: Any) -> int:
    digest = hashlib.sha256("\0".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


# --- drawing an instance and writing its statement ----------------------------------------------


def _constant(filter_name: str, rng: random.Random) -> int:
    if filter_name == "div":
        return rng.randint(3, 7)  # 2 would make "divisible by k" the same as "even"
    if FILTERS[filter_name].uses_k:
        return rng.randint(-3, 15)
    return 0


def _unstated_options(spec: Spec) -> list[str]:
    aggregate = AGGREGATES[spec.aggregate]
    options = ["layout"] if aggregate.is_list else []
    if spec.aggregate in ("sorted_asc", "sorted_desc"):
        options.append("direction")
    if aggregate.needs_marker:
        options.append("marker")
    return options


def draw_instance(rng: random.Random, unstated_fraction: float) -> Instance:
    """A random instance; with probability ``unstated_fraction`` one detail it can leave out is left out."""
    filter_name = rng.choice(sorted(FILTERS))
    aggregate_name = rng.choice(sorted(AGGREGATES))
    aggregate = AGGREGATES[aggregate_name]
    spec = Spec(
        input_format=rng.choice(sorted(INPUT_FORMATS)),
        filter=filter_name,
        k=_constant(filter_name, rng),
        aggregate=aggregate_name,
        layout=rng.choice(sorted(LAYOUTS)) if aggregate.is_list else None,
        marker=rng.choice(MARKERS) if aggregate.needs_marker else None,
    )
    options = _unstated_options(spec)
    unstated = rng.choice(options) if options and rng.random() < unstated_fraction else None
    phrasing = tuple(rng.randrange(6) for _ in range(6))  # indices, taken modulo each choice's size
    return Instance(spec, unstated, phrasing)


def statement(instance: Instance) -> str:
    """The problem statement. The unstated detail, if any, is named but not given."""
    spec, p = instance.spec, instance.phrasing

    def pick(options: tuple[str, ...], i: int) -> str:
        return options[p[i] % len(options)]

    parts = [pick(INPUT_FORMATS[spec.input_format], 0)]
    if spec.filter == "all":
        parts.append(pick(ALL_SENTENCES, 1))
    else:
        phrase = pick(FILTERS[spec.filter].phrases, 2).format(k=spec.k)
        parts.append(pick(FILTER_SENTENCES, 1).format(phrase=phrase))
    aggregate = AGGREGATES[spec.aggregate]
    sorted_hidden = instance.unstated == "direction"
    parts.append(pick(SORTED_UNSTATED if sorted_hidden else aggregate.phrases, 3))
    if aggregate.is_list and instance.unstated != "layout":
        parts.append(pick(LAYOUTS[spec.layout or "space"], 4))
    if aggregate.needs_marker:
        template = pick(MARKER_UNSTATED if instance.unstated == "marker" else MARKER_STATED, 5)
        parts.append(template.format(marker=spec.marker))
    return " ".join(parts)


# --- wrong solutions ----------------------------------------------------------------------------


def wrong_solutions(instance: Instance, rng: random.Random) -> list[Wrong]:
    """Every plausible mistake for this instance (the caller keeps those the public tests catch)."""
    spec = instance.spec
    wrong: list[Wrong] = []
    if spec.filter in FILTER_CONFUSION:
        wrong.append(Wrong("filter confused", replace(spec, filter=FILTER_CONFUSION[spec.filter]), False))
    if spec.filter in ("gt", "ge", "lt"):
        wrong.append(Wrong("constant off by one", replace(spec, k=spec.k + rng.choice((-1, 1))), False))
    other = AGGREGATE_CONFUSION[spec.aggregate]
    direction = instance.unstated == "direction" and other in ("sorted_asc", "sorted_desc")
    kind = "wrong sort direction" if direction else "aggregate confused"
    wrong.append(Wrong(kind, replace(spec, aggregate=other), direction))
    if spec.layout is not None:
        flipped = "newline" if spec.layout == "space" else "space"
        wrong.append(Wrong("wrong output layout", replace(spec, layout=flipped), instance.unstated == "layout"))
    if spec.marker is not None:
        marker = rng.choice([m for m in MARKERS if m != spec.marker])
        wrong.append(Wrong("wrong empty-case marker", replace(spec, marker=marker), instance.unstated == "marker"))
        wrong.append(Wrong("no empty-case guard", replace(spec, guard=False), False))
    wrong.append(Wrong("input misread", replace(spec, read_as=MISREAD[spec.input_format]), False))
    wrong.append(Wrong("skips the first number", replace(spec, skip_first=True), False))
    return wrong


# --- tests ------------------------------------------------------------------------------------


def _sample(pool: list[int], rng: random.Random, count: int) -> list[int]:
    return [rng.choice(pool) for _ in range(count)] if pool else []


def candidate_lists(spec: Spec, rng: random.Random) -> list[list[int]]:
    """Inputs worth testing: edge cases (empty, one element, nothing kept, the constant and its
    neighbours, repeats, unsorted runs) and random lists. Unique, in a seeded order."""
    keep = PREDICATES[spec.filter]
    kept = [v for v in VALUES if keep(v, spec.k)]
    dropped = [v for v in VALUES if not keep(v, spec.k)]
    lists = [[], _sample(kept, rng, 1), _sample(dropped, rng, 1), _sample(dropped, rng, 3)]
    if FILTERS[spec.filter].uses_k:
        lists.append(rng.sample([spec.k - 1, spec.k, spec.k + 1, rng.choice(VALUES)], 4))
        lists.append([spec.k, *_sample(kept, rng, 2)])
    repeated = _sample(kept, rng, 2)
    lists.append([*repeated, *repeated[:1], *_sample(dropped, rng, 1)])
    lists.append(rng.sample(kept, min(4, len(kept))) + _sample(dropped, rng, 2))
    for _ in range(24):
        length = rng.randint(2, 7)
        lists.append([rng.choice(kept if kept and rng.random() < 0.5 else list(VALUES)) for _ in range(length)])
    for values in lists:
        rng.shuffle(values)
    unique: dict[tuple[int, ...], list[int]] = {}
    for values in lists:
        unique.setdefault(tuple(values), values)
    return list(unique.values())


def choose_public(
    reference: list[str], caught: list[set[int]], must: list[bool], num_public: int, rng: random.Random
) -> list[int] | None:
    """Indices of public tests: greedily catch every must-fail mistake first, then as many other
    mistakes as possible, then fill with tests whose expected output is not empty. None when some
    must-fail mistake cannot be caught."""
    order = list(range(len(reference)))
    rng.shuffle(order)
    public: list[int] = []
    open_wrong = set(range(len(caught)))

    def score(test: int) -> int:
        return sum((100 if must[w] else 1) for w in open_wrong if test in caught[w])

    while len(public) < num_public and open_wrong:
        best = max((t for t in order if t not in public), key=score, default=None)
        if best is None or score(best) == 0:
            break
        public.append(best)
        open_wrong -= {w for w in open_wrong if best in caught[w]}
    if any(must[w] for w in open_wrong):
        return None
    informative = [t for t in order if t not in public and reference[t].strip()]
    public += informative[: num_public - len(public)]
    return public if len(public) == num_public else None


def _reference_output(spec: Spec, stdin: str) -> str:
    output = interpret(spec, stdin)
    if output is None:  # a generator bug, never a property of the drawn instance
        raise AssertionError(f"the reference program crashed on an input it generated: {spec}")
    return output


def build(instance: Instance, rng: random.Random, config: BundledConfig) -> tuple[Tests, Tests, list[Wrong]] | None:
    """Public tests, hidden tests and the wrong solutions the public tests catch; None if this
    instance cannot be tested as required (the caller draws another)."""
    spec = instance.spec
    stdins = [render_input(spec.input_format, values) for values in candidate_lists(spec, rng)]
    reference = [_reference_output(spec, stdin) for stdin in stdins]
    wrong = wrong_solutions(instance, rng)
    caught = [
        {t for t, stdin in enumerate(stdins) if not same_output(interpret(w.spec, stdin), reference[t])} for w in wrong
    ]
    public = choose_public(reference, caught, [w.must_fail for w in wrong], config.num_public, rng)
    if public is None:
        return None
    kept = _kept_wrong(wrong, caught, set(public), rng, config.max_wrong)
    rest = [t for t in range(len(stdins)) if t not in public]
    if len(kept) < config.min_wrong or len(rest) < config.num_hidden:
        return None
    hidden = sorted(rng.sample(rest, config.num_hidden))
    return (
        Tests(inputs=[stdins[t] for t in public], outputs=[reference[t] for t in public]),
        Tests(inputs=[stdins[t] for t in hidden], outputs=[reference[t] for t in hidden]),
        kept,
    )


def _kept_wrong(wrong: list[Wrong], caught: list[set[int]], public: set[int], rng, limit: int) -> list[Wrong]:
    """Mistakes the public tests catch, must-fail ones first, distinct programs only."""
    seen, kept = set(), []
    candidates = [w for w, c in zip(wrong, caught) if c & public]
    rng.shuffle(candidates)
    candidates.sort(key=lambda w: not w.must_fail)
    for w in candidates:
        code = program(w.spec)
        if code not in seen:
            seen.add(code)
            kept.append(w)
    return kept[:limit]


# --- problems and splits -----------------------------------------------------------------------


def held_out_combinations(config: BundledConfig) -> set[str]:
    """The seeded share of filter/aggregate combinations flagged ``combination_held_out``."""
    combinations = sorted(f"{f}/{a}" for f in FILTERS for a in AGGREGATES)
    count = round(len(combinations) * config.held_out_fraction)
    return set(random.Random(_derived_seed(config.seed, "held-out")).sample(combinations, count))


def _problem(instance: Instance, built: tuple[Tests, Tests, list[Wrong]], split: str, index: int, config, held):
    public, hidden, wrong = built
    spec = instance.spec
    meta = {
        "family": FAMILY,
        "split": split,
        "seed": config.seed,
        "filter": spec.filter,
        "k": spec.k if FILTERS[spec.filter].uses_k else None,
        "aggregate": spec.aggregate,
        "input_format": spec.input_format,
        "layout": spec.layout,
        "marker": spec.marker,
        "unstated": instance.unstated,
        "combination": instance.combination,
        "combination_held_out": instance.combination in held,
        "combination_variants": semantic_variants(spec.filter, spec.aggregate),
        "reference_solution": program(spec),
        "wrong_solutions": [{"kind": w.kind, "code": program(w.spec)} for w in wrong],
    }
    return Problem(
        id=f"bundled-s{config.seed}-{split}-{index:05d}",
        statement=statement(instance),
        public_tests=public,
        hidden_tests=hidden,
        difficulty="unstated" if instance.unstated else "stated",
        source="bundled",
        comparator="lines",
        meta=meta,
    )


def semantic_variants(filter_name: str, aggregate_name: str) -> int:
    """How many instances of a combination differ in their right answers (phrasing aside)."""
    constants = {"gt": 19, "ge": 19, "lt": 19, "div": 5}.get(filter_name, 1)
    aggregate = AGGREGATES[aggregate_name]
    probe = Spec("line", filter_name, 0, aggregate_name, layout="space" if aggregate.is_list else None)
    count = len(INPUT_FORMATS) * constants * (len(LAYOUTS) if aggregate.is_list else 1)
    count *= len(MARKERS) if aggregate.needs_marker else 1
    return count * (1 + len(_unstated_options(probe)))


@dataclass
class _Taken:
    """Instances drawn so far, across splits."""

    keys: set[tuple]
    semantics: set[tuple]

    def blocks(self, instance: Instance) -> bool:
        return instance.key in self.keys or instance.semantics in self.semantics

    def add(self, instance: Instance) -> None:
        self.keys.add(instance.key)
        self.semantics.add(instance.semantics)


def _generate(split: str, config: BundledConfig, taken: _Taken, held: set[str]) -> list[Problem]:
    rng = random.Random(_derived_seed(config.seed, split))
    problems: list[Problem] = []
    draws = 0
    while len(problems) < config.size(split):
        draws += 1
        if draws > MAX_DRAWS_PER_PROBLEM * (len(problems) + 1):
            raise RuntimeError(f"bundled suite: cannot draw enough distinct {split} problems (seed {config.seed})")
        instance = draw_instance(rng, config.unstated_fraction)
        if taken.blocks(instance):
            continue
        built = build(instance, rng, config)
        if built is None:
            continue
        taken.add(instance)
        problems.append(_problem(instance, built, split, len(problems), config, held))
    return problems


def generate_suite(config: BundledConfig | None = None, splits: tuple[str, ...] = SPLITS) -> dict[str, list[Problem]]:
    """The train, dev and test splits (or those named in ``splits``), generated from the seed.

    Splits that precede a requested one in the drawing order (test, dev, train) are generated too,
    because their instances are excluded from it; they are not returned unless requested.
    """
    config = config or BundledConfig()
    unknown = set(splits) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown split(s) {sorted(unknown)}; choose from {', '.join(SPLITS)}")
    held = held_out_combinations(config)
    taken = _Taken(set(), set())
    suite: dict[str, list[Problem]] = {}
    last = max(SPLITS.index(s) for s in splits) if splits else -1
    for split in SPLITS[: last + 1]:
        problems = _generate(split, config, taken, held)
        if split in splits:
            suite[split] = problems
    return suite


def load_bundled(
    split: str = "all", config: BundledConfig | None = None, report: LoadReport | None = None
) -> Iterator[Problem]:
    """Problems of one split (``train``, ``dev``, ``test``) or of all three (``all``, in the order
    train, dev, test); ``meta["split"]`` says which."""
    report = report if report is not None else LoadReport(source="bundled")
    wanted = ("train", "dev", "test") if split == "all" else (split,)
    suite = generate_suite(config, tuple(wanted))
    for name in wanted:
        for problem in suite[name]:
            report.rows += 1
            report.kept += 1
            yield problem
