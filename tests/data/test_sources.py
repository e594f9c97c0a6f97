"""APPS, CodeContests, MBPP, HumanEval and Cobalt's own schema, on samples of the real files."""

from __future__ import annotations

import json
import tarfile

import pytest
from data_testkit import FIXTURES, write_jsonl

from cobalt.data import Cleaning, LoadReport, load_apps, load_codecontests, load_funcall, load_problems
from cobalt.data.apps import call_arguments
from cobalt.data.cleaning import Dropped
from cobalt.jsonl import InputError
from cobalt.records import Problem, Tests


def test_apps_sample_stdin_and_call_based(executor):
    report = LoadReport(source="apps")
    problems = {p.id: p for p in load_apps(str(FIXTURES / "apps_sample.jsonl"), report=report)}
    assert sorted(problems) == ["1604", "1617", "2096", "3554", "4724"]
    assert report.dropped == {"call arguments cannot be split by line": 1}  # 1613: a string spans lines
    labyrinth = problems["1604"]
    assert labyrinth.fn_name is None and labyrinth.public_tests.inputs[0] == "1 1\n.\n"
    dice = problems["3554"]
    assert dice.fn_name == "get_score" and dice.meta["starter_code"].strip() == "def get_score(dice):"
    assert dice.public_tests.inputs[0] == "[3, 3, 3, 3]"  # statement examples first, then shortest
    drop_cap = problems["4724"]
    assert drop_cap.public_tests.inputs[0] == '"apple of banana"'  # a raw string argument became JSON text
    assert len(problems["1617"].all_tests.inputs[0].split("\n")) == 1  # defaulted parameters may be left out
    solution = "def drop_cap(s):\n    return ' '.join(w.capitalize() if len(w) > 2 else w for w in s.split(' '))\n"
    assert executor.run(solution, drop_cap.all_tests).all_passed  # the recovered call tests are runnable


def test_call_arguments_keep_a_string_position_a_string():
    assert call_arguments(["abc\n1", "123\n2"], 2, 2) == ['"abc"\n1', '"123"\n2']
    assert call_arguments(["[1, 'a']\nTrue"], 2, 2) == ['[1, "a"]\ntrue']
    with pytest.raises(Dropped):
        call_arguments(["a\nb\nc"], 2, 2)


def test_code_contests_json_rows():
    report = LoadReport(source="codecontests")
    rules = Cleaning(detect_float=True)
    problems = list(load_codecontests(str(FIXTURES / "code_contests_sample.json"), rules=rules, report=report))
    assert report.dropped == {"fewer than 2 tests": 1}
    first = problems[0]
    assert first.id == "code_contests_sample-1"
    assert first.comparator == "float"  # outputs such as 3.162277660, and the user asked for it
    assert "Time Limit" not in first.statement
    assert first.meta["time_limit_s"] == 5.0 and first.meta["memory_limit_bytes"] == 512_000_000
    for problem in problems:
        assert len(problem.public_tests) <= len(problem.hidden_tests)


def test_codecontests_tarball_and_directory_agree(tmp_path):
    archive = FIXTURES / "codecontests300_sample.tar.gz"
    from_tar = list(load_codecontests(str(archive)))
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path, filter="data")
    from_dir = list(load_codecontests(str(tmp_path)))
    assert from_tar == from_dir
    party = next(p for p in from_tar if p.id == "116_c_party_7303")
    assert party.difficulty == "9" and party.meta["tags"] and party.meta["reference_solution"]
    assert len(party.public_tests) == 4 and len(party.hidden_tests) == 6
    assert party.statement.startswith("A company has n employees")


def test_codecontests_verify_drops_problems_whose_accepted_solution_fails(sandbox_config):
    report = LoadReport(source="codecontests")
    archive = str(FIXTURES / "codecontests300_sample.tar.gz")
    kept = [p.id for p in load_codecontests(archive, verify=True, sandbox=sandbox_config, report=report)]
    assert sorted(kept) == ["1000_e_we_need_more_bosses_8440", "116_c_party_7303"]
    assert report.dropped == {"no provided solution passes all tests": 1}  # constructive: many right answers


def test_deepmind_rows_use_public_tests_as_examples(tmp_path):
    row = {
        "name": "1_a",
        "description": "Add numbers. " * 10,
        "public_tests": {"input": ["1 2\n"], "output": ["3\n"]},
        "private_tests": {"input": ["5 5\n", "100 200\n", "0 0\n"], "output": ["10\n", "300\n", "0\n"]},
        "generated_tests": {"input": ["7 8\n"], "output": ["15\n"]},
        "solutions": {"language": [2, 3], "solution": ["int main(){}", "print(sum(map(int, input().split())))"]},
        "difficulty": 7,
    }
    path = write_jsonl(tmp_path / "cc.jsonl", [row])
    problem = next(load_codecontests(str(path), include_generated=True))
    assert problem.public_tests.inputs[0] == "1 2\n" and len(problem.all_tests) == 5
    assert problem.difficulty == "7"


def test_mbpp_and_humaneval_asserts_become_call_tests(executor):
    report = LoadReport(source="mbpp")
    mbpp = list(load_funcall(str(FIXTURES / "mbpp_sample.jsonl"), report=report))
    assert [p.id for p in mbpp] == ["mbpp/2", "mbpp/3", "mbpp/4", "mbpp/11", "mbpp/17"]
    assert mbpp[0].meta["starter_code"] == "def similar_elements(test_tup1, test_tup2):"
    human = {p.id: p for p in load_funcall(str(FIXTURES / "humaneval_sample.jsonl"))}
    assert human["HumanEval/13"].fn_name == "greatest_common_divisor"
    for problem in [mbpp[1], mbpp[2], human["HumanEval/13"]]:
        assert executor.run(problem.meta["reference_solution"], problem.all_tests).all_passed, problem.id


def test_humaneval_problem_with_no_plain_assertions_is_dropped_and_counted():
    report = LoadReport(source="humaneval")
    kept = [p.id for p in load_funcall(str(FIXTURES / "humaneval_sample.jsonl"), report=report)]
    assert "HumanEval/32" not in kept  # find_zero: its check uses math.fabs(poly(...)) < 1e-4
    assert report.dropped["fewer than 2 tests"] >= 1
    assert report.notes["assertion is not f(literals) == literal (skipped)"] >= 1


# --- Cobalt's own schema ------------------------------------------------------------------------


def _problem(id: str) -> dict:
    tests = Tests(inputs=["1\n", "2\n"], outputs=["1\n", "4\n"])
    return Problem(
        id=id, statement="Square n.", public_tests=tests.select([0]), hidden_tests=tests.select([1])
    ).model_dump(mode="json")


def test_own_schema_round_trips(tmp_path):
    rows = [_problem("a"), _problem("b")]
    problems = list(load_problems(write_jsonl(tmp_path / "p.jsonl", rows)))
    assert [p.model_dump(mode="json") for p in problems] == rows


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"statement": "x", "public_tests": {"inputs": [], "outputs": []}, "hidden_tests": "{}"}, "id"),
        ({**_problem("c"), "public_tests": {"inputs": ["1"], "outputs": "1"}}, "public_tests"),
        ({**_problem("c"), "colour": "blue"}, "colour"),
        ({**_problem("a")}, "id"),  # a repeated id
    ],
)
def test_own_schema_errors_name_line_and_field(tmp_path, row, field):
    path = write_jsonl(tmp_path / "p.jsonl", [_problem("a"), row])
    with pytest.raises(InputError) as caught:
        list(load_problems(path))
    assert caught.value.line == 2 and caught.value.field == field


def test_own_schema_skip_invalid(tmp_path):
    report = LoadReport(source="jsonl")
    path = write_jsonl(tmp_path / "p.jsonl", [_problem("a"), "[1, 2", json.dumps({"id": 3}), _problem("b")])
    assert [p.id for p in load_problems(path, skip_invalid=True, report=report)] == ["a", "b"]
    assert report.dropped == {"invalid row": 2}
