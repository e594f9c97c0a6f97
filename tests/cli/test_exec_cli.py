"""The `cobalt exec` contract that scripts depend on, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

REQUIRED_KEYS = {"tier", "passing", "verdicts", "pass_rate", "feedback", "per_test"}


def cobalt(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cobalt.cli.main", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "solution.py"
    path.write_text("a, b = map(int, input().split())\nprint(a + b)\n")
    return path


def write_tests(path, tests) -> str:
    path.write_text(tests if isinstance(tests, str) else json.dumps(tests))
    return str(path)


def test_single_run_prints_the_result_object(program, tmp_path):
    tests = write_tests(tmp_path / "tests.json", {"inputs": ["1 2\n", "2 2\n"], "outputs": ["3\n", "5\n"]})
    done = cobalt("exec", str(program), tests, "--timeout", "2")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result.keys() >= REQUIRED_KEYS
    assert result["verdicts"] == ["AC", "WA"] and result["passing"] == [True, False]
    assert result["pass_rate"] == 0.5 and result["tier"] == "bwrap"
    assert {"verdict", "cpu_s", "wall_s"} <= result["per_test"][0].keys()
    assert "Expected Output:\n5" in result["feedback"]


def test_tests_stored_as_a_json_string_are_accepted(program, tmp_path):
    inner = json.dumps({"inputs": ["1 1\n"], "outputs": ["2\n"]})
    tests = write_tests(tmp_path / "tests.json", json.dumps(inner))
    done = cobalt("exec", str(program), tests)
    assert done.returncode == 0 and json.loads(done.stdout)["verdicts"] == ["AC"]


@pytest.mark.parametrize(
    ("tests", "message"),
    [
        ('{"inputs": ["1"],\n "outputs": [}', "line 2, column 14: invalid JSON"),
        ({"inputs": ["1", "2"], "outputs": ["1"]}, "tests have 2 inputs but 1 outputs"),
        ({"inputs": ["1"]}, "lack the field 'outputs'"),
    ],
)
def test_bad_tests_file_is_one_clear_error(program, tmp_path, tests, message):
    path = write_tests(tmp_path / "tests.json", tests)
    done = cobalt("exec", str(program), path)
    assert done.returncode == 2
    assert path in done.stderr and message in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_missing_program_is_one_clear_error(tmp_path):
    tests = write_tests(tmp_path / "tests.json", {"inputs": [], "outputs": []})
    done = cobalt("exec", str(tmp_path / "nope.py"), tests)
    assert done.returncode == 2 and "nope.py: no such file" in done.stderr


def batch_line(i: int, ok: bool = True) -> str:
    code = "print(int(input()) + 1)\n" if ok else "print(0)\n"
    return json.dumps({"id": f"p{i}", "code": code + f"# {i}\n", "tests": {"inputs": ["1\n"], "outputs": ["2\n"]}})


def test_batch_writes_one_result_per_request(tmp_path):
    requests = tmp_path / "requests.jsonl"
    requests.write_text("\n".join(batch_line(i, ok=i % 2 == 0) for i in range(6)) + "\n")
    out = tmp_path / "results.jsonl"
    done = cobalt("exec", "--batch", str(requests), "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = {row["id"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert set(rows) == {f"p{i}" for i in range(6)}
    assert all(rows[f"p{i}"]["passing"] == [i % 2 == 0] for i in range(6))
    assert rows["p0"].keys() >= REQUIRED_KEYS


def test_batch_resumes_without_duplicates_after_a_crash(tmp_path):
    requests = tmp_path / "requests.jsonl"
    requests.write_text("\n".join(batch_line(i) for i in range(5)) + "\n")
    out = tmp_path / "results.jsonl"
    assert cobalt("exec", "--batch", str(requests), "--out", str(out)).returncode == 0
    kept = out.read_text().splitlines()[:2]
    out.write_text("\n".join(kept) + "\n" + kept[0][:25])  # two finished lines and a torn one
    done = cobalt("exec", "--batch", str(requests), "--out", str(out))
    assert done.returncode == 0, done.stderr
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert sorted(ids) == [f"p{i}" for i in range(5)]
    assert ids[:2] == [json.loads(line)["id"] for line in kept]


def test_batch_bad_line_names_line_and_field(tmp_path):
    requests = tmp_path / "requests.jsonl"
    bad = json.dumps({"id": "x", "code": 5, "tests": {"inputs": [], "outputs": []}})
    requests.write_text(batch_line(0) + "\n" + bad + "\n")
    done = cobalt("exec", "--batch", str(requests), "--out", str(tmp_path / "out.jsonl"))
    assert done.returncode == 2
    assert f"{requests}, line 2: field 'code'" in done.stderr


def test_batch_duplicate_ids_are_refused(tmp_path):
    requests = tmp_path / "requests.jsonl"
    requests.write_text(batch_line(0) + "\n" + batch_line(0) + "\n")
    done = cobalt("exec", "--batch", str(requests), "--out", str(tmp_path / "out.jsonl"))
    assert done.returncode == 2 and "duplicate id 'p0' (first on line 1)" in done.stderr


# --- comparators and problem records in the TESTS file -------------------------------------------

THIRD = "print(1 / 3)\n"  # prints 0.3333333333333333
FLOAT_TESTS = {"inputs": ["\n", "\n"], "outputs": ["0.333333\n", "0.3333333\n"]}


def problem_row(problem_id: str, comparator: str | None = "float") -> dict:
    return {
        "id": problem_id,
        "statement": "Print one third.",
        "public_tests": {"inputs": ["\n"], "outputs": ["0.333333\n"]},
        "hidden_tests": json.dumps({"inputs": ["\n", "\n"], "outputs": ["0.3333333\n", "0.5\n"]}),
        "comparator": comparator,
    }


def verdicts_of(done: subprocess.CompletedProcess) -> list[str]:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["verdicts"]


def test_tests_file_may_name_its_comparator(tmp_path):
    program = tmp_path / "third.py"
    program.write_text(THIRD)
    plain = write_tests(tmp_path / "plain.json", FLOAT_TESTS)
    with_float = write_tests(tmp_path / "float.json", {**FLOAT_TESTS, "comparator": "float"})
    assert verdicts_of(cobalt("exec", str(program), plain)) == ["WA", "WA"]
    assert verdicts_of(cobalt("exec", str(program), with_float)) == ["AC", "AC"]


def test_comparator_flag_wins_over_the_file(tmp_path):
    program = tmp_path / "third.py"
    program.write_text(THIRD)
    tests = write_tests(tmp_path / "float.json", {**FLOAT_TESTS, "comparator": "float"})
    assert verdicts_of(cobalt("exec", str(program), tests, "--comparator", "exact")) == ["WA", "WA"]


def test_problem_record_runs_public_then_hidden_tests_with_its_comparator(tmp_path):
    program = tmp_path / "third.py"
    program.write_text(THIRD)
    problems = write_tests(tmp_path / "problem.jsonl", json.dumps(problem_row("p1")) + "\n")
    assert verdicts_of(cobalt("exec", str(program), problems)) == ["AC", "AC", "WA"]


def test_problems_file_with_several_rows_needs_problem_id(tmp_path):
    program = tmp_path / "third.py"
    program.write_text(THIRD)
    rows = [problem_row("p1"), problem_row("p2", comparator=None)]
    problems = write_tests(tmp_path / "problems.jsonl", "\n".join(map(json.dumps, rows)) + "\n")
    done = cobalt("exec", str(program), problems)
    assert done.returncode == 2 and "holds 2 problems; choose one with --problem ID" in done.stderr
    assert verdicts_of(cobalt("exec", str(program), problems, "--problem", "p2")) == ["WA", "WA", "WA"]
    missing = cobalt("exec", str(program), problems, "--problem", "p9")
    assert missing.returncode == 2 and "no problem with id 'p9'" in missing.stderr


def test_unknown_comparator_in_the_file_is_one_clear_error(program, tmp_path):
    tests = write_tests(tmp_path / "tests.json", {"inputs": ["1 2\n"], "outputs": ["3\n"], "comparator": "fuzzy"})
    done = cobalt("exec", str(program), tests)
    assert done.returncode == 2
    assert f"{tests}: field 'comparator': unknown comparator 'fuzzy'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_empty_tests_file_is_bad_input(program, tmp_path, content):
    tests = write_tests(tmp_path / "tests.json", content)
    done = cobalt("exec", str(program), tests)
    assert done.returncode == 2 and done.stdout == ""
    assert f"{tests}: holds no records" in done.stderr and "Traceback" not in done.stderr


def test_empty_requests_file_is_bad_input(tmp_path):
    requests = tmp_path / "requests.jsonl"
    requests.write_text("\n")
    out = tmp_path / "out.jsonl"
    done = cobalt("exec", "--batch", str(requests), "--out", str(out))
    assert done.returncode == 2
    assert f"{requests}: holds no records" in done.stderr and "Traceback" not in done.stderr
