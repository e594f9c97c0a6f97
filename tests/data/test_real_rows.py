"""Real rows in the datasets' own published formats (tests/fixtures/data/real-rows) through
``cobalt data prepare``, and the rules that make the prepared problems match the reference release."""

from __future__ import annotations

import json
from pathlib import Path

from data_testkit import FIXTURES, lcb_row, sum_tests, taco_raw_row, write_jsonl

from cobalt.cli.main import main
from cobalt.data import Cleaning, load_taco_raw
from cobalt.records import Problem
from cobalt.rollout.prompts import CALL_INSTRUCTION, STDIO_INSTRUCTION, problem_prompt

REAL = FIXTURES / "real-rows"
FLOAT_NOTE = "float comparator (decimal outputs, --detect-float)"
GFG_DISPLAY_TEXT = "geeksforgeeks tests without fn_name (display text, not stdin)"


def _prepare(tmp_path: Path, source: str, path: Path, *flags: str) -> tuple[list[Problem], dict]:
    out, report = tmp_path / "out.jsonl", tmp_path / "report.json"
    args = ["data", "prepare", "--source", source, str(path), *flags, "--out", str(out), "--report", str(report)]
    assert main(args) == 0
    problems = [Problem.model_validate_json(line) for line in out.read_text().splitlines()]
    return problems, json.loads(report.read_text())


def _real_row(name: str) -> dict:
    return json.loads((REAL / name).read_text().splitlines()[0])


def test_lcb_1873a_is_cut_at_its_glued_sample_input(tmp_path):
    [problem], report = _prepare(tmp_path, "lcb", REAL / "lcb_codegen_lite_1873A.jsonl")
    assert problem.statement.endswith("will be recognized as a positive answer).")
    assert "Sample" not in problem.statement and "acb" not in problem.statement
    assert report["notes"]["statement cut before examples"] == 1
    assert problem.public_tests.inputs == ["6\nabc\nacb\nbac\nbca\ncab\ncba\n"]
    assert len(problem.hidden_tests) == 4 and problem.fn_name is None


def test_lcb_row_with_parsed_test_lists_loads_like_the_json_text_form(tmp_path):
    row = _real_row("lcb_codegen_lite_1873A.jsonl")
    parsed = {**row, "public_test_cases": json.loads(row["public_test_cases"])}
    [expected], _ = _prepare(tmp_path, "lcb", REAL / "lcb_codegen_lite_1873A.jsonl")
    [problem], _ = _prepare(tmp_path, "lcb", write_jsonl(tmp_path / "test6.jsonl", [parsed]))
    assert problem == expected


def test_lcb_functional_problems_become_stdin_programs_by_default(tmp_path):
    source = write_jsonl(tmp_path / "test6.jsonl", [lcb_row("3100", functional=True)])
    [problem], report = _prepare(tmp_path, "lcb", source)
    assert problem.fn_name is None and problem.comparator is None
    assert problem.public_tests.inputs == ["[1, 2, 3]\n2"] and problem.public_tests.outputs == ["5"]
    assert "starter_code" not in problem.meta and problem.meta["lcb_func_name"] == "largestSum"
    assert problem_prompt(problem).endswith(STDIO_INSTRUCTION)
    assert report["notes"]["functional problem read as stdin/stdout"] == 1


def test_lcb_functional_problems_stay_call_based_when_asked(tmp_path):
    source = write_jsonl(tmp_path / "test6.jsonl", [lcb_row("3100", functional=True)])
    [problem], _ = _prepare(tmp_path, "lcb", source, "--lcb-functional", "call")
    assert problem.fn_name == "largestSum" and problem.meta["starter_code"].startswith("class Solution:")
    assert problem_prompt(problem).endswith(CALL_INSTRUCTION.format(fn_name="largestSum"))


def test_codecontests_1575a_shows_only_its_public_test_never_a_generated_one(tmp_path):
    row = _real_row("code_contests_1575A.jsonl")
    [problem], _ = _prepare(tmp_path, "codecontests", REAL / "code_contests_1575A.jsonl", "--include-generated")
    assert problem.public_tests.inputs == row["public_tests"]["input"]
    assert problem.hidden_tests.inputs == row["generated_tests"]["input"]


def test_codecontests_public_tests_are_topped_up_from_private_tests_only(tmp_path):
    row = {
        "name": "1_a",
        "description": "Add two numbers. " * 10,
        "public_tests": {"input": ["1 2\n"], "output": ["3\n"]},
        "private_tests": {"input": ["50 50\n", "100 200\n", "1000 2000\n"], "output": ["100\n", "300\n", "3000\n"]},
        "generated_tests": {"input": ["7\n", "8\n", "9\n", "0\n"], "output": ["7\n", "8\n", "9\n", "0\n"]},
    }
    source = write_jsonl(tmp_path / "cc.jsonl", [row])
    [problem], _ = _prepare(tmp_path, "codecontests", source, "--include-generated")
    assert problem.public_tests.inputs == ["1 2\n", "50 50\n", "100 200\n", "1000 2000\n"]
    assert problem.hidden_tests.inputs == row["generated_tests"]["input"]


def test_float_comparator_only_when_asked_and_counted(tmp_path):
    sample = FIXTURES / "code_contests_sample.json"
    problems, report = _prepare(tmp_path, "codecontests", sample)
    assert all(p.comparator is None for p in problems) and FLOAT_NOTE not in report["notes"]
    problems, report = _prepare(tmp_path, "codecontests", sample, "--detect-float")
    floats = [p.id for p in problems if p.comparator == "float"]
    assert floats == ["code_contests_sample-1"] and report["notes"][FLOAT_NOTE] == 1


def test_lcb_float_comparator_only_when_asked(tmp_path):
    decimal = [{"input": "1\n", "output": "0.5\n", "testtype": "stdin"}]
    source = write_jsonl(tmp_path / "test6.jsonl", [lcb_row("f", public_test_cases=json.dumps(decimal))])
    [problem], _ = _prepare(tmp_path, "lcb", source)
    assert problem.comparator is None
    [problem], report = _prepare(tmp_path, "lcb", source, "--detect-float")
    assert problem.comparator == "float" and report["notes"][FLOAT_NOTE] == 1


def test_geeksforgeeks_rows_without_fn_name_are_dropped_and_counted(tmp_path):
    display = {"inputs": [f"N = {n}\nA[] = {{{', '.join(map(str, range(n)))}}}" for n in range(1, 9)]}
    display["outputs"] = [str(sum(range(n))) for n in range(1, 9)]
    rows = [taco_raw_row("gfg", display, source="geeksforgeeks"), taco_raw_row("cf", sum_tests(8))]
    problems, report = _prepare(tmp_path, "taco-raw", write_jsonl(tmp_path / "raw.jsonl", rows))
    assert [p.id for p in problems] == ["cf"]
    assert report["dropped"] == {GFG_DISPLAY_TEXT: 1}


def test_taco_1492b_card_row_loads_as_stdin(tmp_path):
    _, report = _prepare(tmp_path, "taco-raw", REAL / "taco_card_1492B.jsonl")
    assert report["dropped"] == {"fewer than 8 tests": 1}  # the card row has 4 tests (and a cut question)
    rules = Cleaning.taco(min_alnum=0, min_tests=2)
    [problem] = load_taco_raw(str(REAL / "taco_card_1492B.jsonl"), rules=rules)
    tests = json.loads(_real_row("taco_card_1492B.jsonl")["input_output"])
    assert problem.fn_name is None and problem.comparator is None
    assert sorted(problem.all_tests.outputs) == sorted(tests["outputs"])  # a leading blank line is kept
