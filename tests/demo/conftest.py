"""Demo tests reuse the evaluation tests' hand-made trajectories (``evaluate_testkit``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "evaluate"))
