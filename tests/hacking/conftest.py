"""Fixtures of the hacking tests: the corpus and the rollout test kit go on ``sys.path`` (whatever
pytest's import mode), so that test modules can import ``corpus`` and ``rollout_testkit``."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "rollout"))
