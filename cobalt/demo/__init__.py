"""``cobalt.demo``: the embedded demo, Cobalt's whole method on a CPU, offline (``cobalt demo``).

It sits on top of every stage and nothing below imports it:

* :mod:`cobalt.demo.tiny_model`: a ~1.7M-parameter chat model and its tokenizer, built locally
  (also what the tests and benchmarks use);
* :mod:`cobalt.demo.warmup`: supervised warm-up so that the model writes programs and reads feedback;
* :mod:`cobalt.demo.pipeline`: :class:`DemoRun`, the resumable stages from the bundled problems to
  the per-turn report;
* :mod:`cobalt.demo.verdict`: the trained policy against its base, paired over the held-out
  problems with a bootstrap interval, the keep and fix rates, and whether the learning claim holds;
* :mod:`cobalt.demo.config`: :class:`DemoConfig` and :class:`WarmupConfig`;
* :mod:`cobalt.demo.executor_tour`: the one-minute tour of the sandbox (``cobalt demo --executor``).
"""

from cobalt.demo.config import DemoConfig, WarmupConfig
from cobalt.demo.pipeline import METHODS, DemoRun

__all__ = ["METHODS", "DemoConfig", "DemoRun", "WarmupConfig"]
