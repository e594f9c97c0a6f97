"""``cobalt.hacking``: in-context reward hacking on perturbed public tests (docs/hacking.md).

Three steps, each with typed records between them:

* :func:`extract` reads a run collected with ``--condition perturbed`` and finds the turns at which
  the model changed its program to pass a perturbed (wrong) public test it was shown
  (:class:`HackingCase`), with the turns at risk as denominators (:class:`ExtractSummary`); the
  static detector (:func:`detect`) labels each case without a language model;
* :func:`judge_cases` asks an LLM judge (any OpenAI-compatible server) to classify each case
  (:class:`Judgment`);
* :func:`build_report` turns extractions and judgments into tables, JSON and a plot.

Importing this package loads no model client; the judge's client loads when it is built.
"""

from cobalt.hacking.extract import ExtractSummary, HackingCase, TurnCounts, extract, summary_path
from cobalt.hacking.judge import CATEGORIES, JudgeConfig, JudgeStats, Judgment, judge_cases, parse_answer
from cobalt.hacking.report import HackingReport, build_report, format_report, plot_rates, write_json
from cobalt.hacking.static import Evidence, StaticVerdict, detect

__all__ = [
    "CATEGORIES",
    "Evidence",
    "ExtractSummary",
    "HackingCase",
    "HackingReport",
    "JudgeConfig",
    "JudgeStats",
    "Judgment",
    "StaticVerdict",
    "TurnCounts",
    "build_report",
    "detect",
    "extract",
    "format_report",
    "judge_cases",
    "parse_answer",
    "plot_rates",
    "summary_path",
    "write_json",
]
