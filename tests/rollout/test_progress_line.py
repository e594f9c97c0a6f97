"""The progress line of ``cobalt rollout``: it moves during a long generate call and its ETA is sane."""

from __future__ import annotations

from cobalt.cli.rollout_cmd import ProgressLine


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_tokens_move_the_line_before_any_sequence_or_trajectory_finished():
    clock = Clock()
    line = ProgressLine(turns=2, max_new_tokens=384, clock=clock)
    line.add("total", 80)
    for _ in range(20):
        clock.now += 0.5
        assert line.add("tokens", 30)  # redrawn twice a second
    text = line.text()
    assert "turns 0/240" in text and "600 tok" in text and "60 tok/s" in text
    # no sequence finished yet: an upper bound from --max-new-tokens (80 x 3 x 384 tokens at 60/s)
    seconds, bound = line.eta_s()
    assert bound and abs(seconds - (80 * 3 * 384 - 600) / 60) < 1
    assert "ETA <=" in text


def test_the_eta_uses_the_tokens_per_sequence_seen_once_sequences_finish():
    clock = Clock()
    line = ProgressLine(turns=0, max_new_tokens=1000, clock=clock)
    line.add("total", 10)
    clock.now = 0.5
    line.add("tokens", 25)
    clock.now = 10.0
    line.add("tokens", 475)
    line.add("generated", 5)  # 100 tokens per sequence, 50 tokens/s (model loading before 0 s not counted)
    seconds, bound = line.eta_s()
    assert not bound and abs(seconds - 10.0) < 1e-6  # 5 sequences x 100 tokens left at 50/s


def test_token_reports_within_half_a_second_do_not_redraw_but_finished_work_does():
    clock = Clock()
    line = ProgressLine(turns=1, max_new_tokens=10, clock=clock)
    assert line.add("tokens", 1)
    assert not line.add("tokens", 1)
    assert line.add("turn", 1) and line.add("trajectory", 1)
