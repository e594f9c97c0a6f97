"""``cobalt.data``: every source of coding problems turned into :class:`~cobalt.records.Problem` records.

Sources (each loader streams problems and fills a :class:`LoadReport` with drop counts per reason):

* :func:`load_taco_cobalt`: TACO-Cobalt and TACO-Cobalt-PTB rows, split as published;
* :func:`load_taco_raw`: raw TACO / TACO-verified, cleaned with the published rules
  (:meth:`Cleaning.taco`), optionally verified with the provided solutions in the sandbox;
* :func:`load_livecodebench`: LiveCodeBench ``code_generation_lite``, private tests decoded with a
  plain-data-only unpickler, statements cut before the examples, release and date filters;
* :func:`load_apps`, :func:`load_codecontests`, :func:`load_funcall` (MBPP, HumanEval);
* :func:`load_problems`: Cobalt's own JSONL schema (one ``Problem`` per line), the reader every
  stage uses for problem files (validated, ids unique);
* :func:`load_bundled` / :func:`generate_suite`: the procedurally generated suite of the demo.

:func:`prepare` reads any of them under one typed :class:`PrepareConfig` (``cobalt data prepare``).
Then :func:`perturb_problems` (swap two public outputs, docs/paper.md §2.7) and :func:`problem_stats`.

Where ``cobalt.data`` differs from the reference release, and why (details in each module and in
``docs/data.md``):

* public tests are chosen by a documented, model-free rule (examples first, then shortest inputs)
  instead of by a 7B model's pass rates, which need a GPU and tie the data to one model;
* TACO/APPS call-based problems stay call-based (structured JSON comparison) instead of being
  wrapped in a ``print(Solution().fn(*input().split()))`` line that passes every argument as a
  string; LiveCodeBench's LeetCode problems follow the release (stdin/stdout, text comparison)
  unless ``lcb_functional="call"``;
* GeeksforGeeks rows without ``fn_name`` (display-text tests) are dropped and counted;
* outputs are compared as text, as in the release; the ``float`` comparator is opt-in
  (``detect_float``) and counted in the report;
* verification with provided solutions drops the problems no solution passes (the release ran the
  check but kept everything);
* a perturbed problem keeps its original public tests and carries the perturbed list in
  ``meta["perturbation"]``, so one record serves both conditions and rewards are never scored on
  corrupted tests; perturbation is seeded per problem, independent of file order;
* LiveCodeBench's pickled tests are never unpickled with the stock unpickler.

Conventions for ``Problem.meta`` across sources: ``starter_code`` (a signature or stub to complete),
``instruction`` (TACO-Cobalt's prompt text), ``reference_solution`` (a known-good program),
``verified_solution`` (the provided solution that passed, after ``verify``), ``platform``,
``perturbation``; the bundled suite adds its own keys (see :mod:`cobalt.data.bundled`).
"""

from cobalt.data.apps import load_apps
from cobalt.data.bundled import BundledConfig, generate_suite, load_bundled
from cobalt.data.cleaning import PUBLIC_RULES, Cleaning, cut_before_examples
from cobalt.data.codecontests import load_codecontests
from cobalt.data.funcall import load_funcall
from cobalt.data.lcb import decode_private_tests, load_livecodebench, release_files
from cobalt.data.perturb import Perturbation, perturb_problem, perturb_problems, perturbation_of, perturbed_view
from cobalt.data.prepare import SOURCES, PrepareConfig, prepare
from cobalt.data.problems import load_problems
from cobalt.data.report import LoadReport
from cobalt.data.safe_pickle import RefusedPickle, plain_loads
from cobalt.data.stats import ProblemStats, problem_stats
from cobalt.data.taco import load_taco_cobalt, load_taco_raw

__all__ = [
    "PUBLIC_RULES",
    "SOURCES",
    "BundledConfig",
    "Cleaning",
    "LoadReport",
    "Perturbation",
    "PrepareConfig",
    "ProblemStats",
    "RefusedPickle",
    "cut_before_examples",
    "decode_private_tests",
    "generate_suite",
    "load_apps",
    "load_bundled",
    "load_codecontests",
    "load_funcall",
    "load_livecodebench",
    "load_problems",
    "load_taco_cobalt",
    "load_taco_raw",
    "perturb_problem",
    "perturb_problems",
    "perturbation_of",
    "perturbed_view",
    "plain_loads",
    "prepare",
    "problem_stats",
    "release_files",
]
