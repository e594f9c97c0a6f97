"""docs/walkthrough.md runs as written: its Python blocks form one script, and what that script
prints contains every output block the page shows, in order."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "walkthrough.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```$", PAGE.read_text(), flags=re.M | re.S)


def test_the_walkthrough_runs_and_prints_what_it_shows(tmp_path):
    script = tmp_path / "walkthrough.py"
    script.write_text("\n".join(blocks("python")))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    printed = iter(done.stdout.splitlines())
    for expected in "".join(blocks("text")).splitlines():
        assert any(line == expected for line in printed), f"the walkthrough no longer prints {expected!r}"
    assert (tmp_path / "walkthrough" / "cobalt" / "final" / "config.json").exists()
