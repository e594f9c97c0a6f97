"""LiveCodeBench rows: private-test decoding without running payload code, statement cut, filters."""

from __future__ import annotations

import base64
import json
import os
import pickle
import zlib
from datetime import date

import pytest
from data_testkit import encode_private, lcb_row, write_jsonl

from cobalt.data import LoadReport, RefusedPickle, decode_private_tests, load_livecodebench, plain_loads, release_files
from cobalt.jsonl import InputError


class _RunsCode:
    """Unpickling this with the stock unpickler would call os.system(command)."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_plain_data_round_trips():
    value = {"a": [1, 2.5, "x", b"y", None, True], "b": {"c": []}}
    assert plain_loads(pickle.dumps(value)) == value


def test_a_payload_that_would_run_code_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_RunsCode(f"touch {marker}"))
    assert b"system" in payload  # the payload really names os.system
    with pytest.raises(RefusedPickle, match="system"):
        plain_loads(payload)
    assert not marker.exists()


def test_refusal_inside_a_lcb_row_names_the_field(tmp_path):
    marker = tmp_path / "pwned"
    evil = base64.b64encode(zlib.compress(pickle.dumps(_RunsCode(f"touch {marker}")))).decode()
    path = write_jsonl(tmp_path / "test6.jsonl", [lcb_row("q1", private_test_cases=evil)])
    with pytest.raises(InputError) as caught:
        list(load_livecodebench(str(path)))
    assert caught.value.line == 1 and caught.value.field == "private_test_cases"
    assert "only plain data" in caught.value.message
    assert not marker.exists()


@pytest.mark.parametrize("value", [(1, 2), {1, 2}, frozenset([1]), bytearray(b"x"), [1, (2,)]])
def test_containers_other_than_list_and_dict_are_refused(value):
    with pytest.raises(RefusedPickle):
        plain_loads(pickle.dumps(value))


def test_decompression_is_bounded():
    blob = base64.b64encode(zlib.compress(pickle.dumps("x" * 100_000))).decode()
    with pytest.raises(RefusedPickle, match="more than"):
        decode_private_tests(blob, limit=10_000)


def test_private_tests_decode_from_both_published_forms():
    tests = [{"input": "1\n", "output": "2\n", "testtype": "stdin"}]
    assert decode_private_tests(encode_private(tests)) == tests
    assert decode_private_tests(json.dumps(tests)) == tests


def test_stdin_row_becomes_a_problem_with_the_statement_cut(tmp_path):
    report = LoadReport(source="lcb")
    path = write_jsonl(tmp_path / "test6.jsonl", [lcb_row("abc_a")])
    problem = next(load_livecodebench(str(path), report=report))
    assert problem.statement == "Print A+B.\n\nInput\n\nA B"
    assert problem.public_tests.inputs == ["3 4\n"]
    assert len(problem.hidden_tests) == 6 and problem.hidden_tests.outputs[5] == "10\n"
    assert problem.fn_name is None and problem.meta["platform"] == "atcoder"
    assert report.notes["statement cut before examples"] == 1


def test_functional_row_called_by_name_keeps_the_starter_code_in_meta(tmp_path):
    path = write_jsonl(tmp_path / "test6.jsonl", [lcb_row("3100", functional=True)])
    problem = next(load_livecodebench(str(path), functional="call"))
    assert problem.fn_name == "largestSum"
    assert problem.public_tests.inputs == ["[1, 2, 3]\n2"] and problem.public_tests.outputs == ["5"]
    assert problem.statement == "Given nums and k, return the sum of the k largest elements."
    assert problem.meta["starter_code"].startswith("class Solution:")


def test_functional_row_without_func_name_is_an_error_only_when_called_by_name(tmp_path):
    path = write_jsonl(tmp_path / "test6.jsonl", [lcb_row("3100", functional=True, metadata="{}")])
    with pytest.raises(InputError) as caught:
        list(load_livecodebench(str(path), functional="call"))
    assert caught.value.field == "metadata"
    problem = next(load_livecodebench(str(path)))  # a stdin program needs no function name
    assert problem.fn_name is None and "lcb_func_name" not in problem.meta


def test_contest_date_window_is_inclusive_and_counted(tmp_path):
    rows = [lcb_row(f"q{m}", date=f"2025-0{m}-15T00:00:00") for m in range(1, 6)]
    report = LoadReport(source="lcb")
    path = write_jsonl(tmp_path / "test6.jsonl", rows)
    kept = load_livecodebench(str(path), start_date=date(2025, 2, 15), end_date=date(2025, 4, 15), report=report)
    assert [p.id for p in kept] == ["q2", "q3", "q4"]
    assert report.dropped == {"contest date before 2025-02-15": 1, "contest date after 2025-04-15": 1}


def test_release_versions_map_to_files():
    assert release_files("release_v2") == ["test.jsonl", "test2.jsonl"]
    assert release_files("v6") == ["test6.jsonl"]
    assert release_files("v5_v6") == ["test5.jsonl", "test6.jsonl"]
    with pytest.raises(ValueError):
        release_files("6")


def test_release_filter_on_a_directory_reads_only_its_files(tmp_path):
    write_jsonl(tmp_path / "test.jsonl", [lcb_row("old")])
    write_jsonl(tmp_path / "test6.jsonl", [lcb_row("new")])
    assert [p.id for p in load_livecodebench(str(tmp_path), release="v6")] == ["new"]
    assert [p.id for p in load_livecodebench(str(tmp_path), release="release_v1")] == ["old"]
    with pytest.raises(InputError, match=r"test2\.jsonl"):
        list(load_livecodebench(str(tmp_path), release="release_v2"))


def test_a_file_outside_the_requested_release_is_refused(tmp_path):
    path = write_jsonl(tmp_path / "test.jsonl", [lcb_row("old")])
    with pytest.raises(InputError, match="not part of release v6"):
        list(load_livecodebench(str(path), release="v6"))


def test_functional_rows_read_as_stdin_by_default(tmp_path):
    path = write_jsonl(tmp_path / "test6.jsonl", [lcb_row("3100", functional=True)])
    problem = next(load_livecodebench(str(path)))
    assert problem.fn_name is None and problem.hidden_tests.fn_name is None
    assert problem.hidden_tests.inputs[0] == "[1, 2]\n1" and problem.hidden_tests.outputs[0] == "2"


def test_an_unknown_functional_mode_is_refused(tmp_path):
    path = write_jsonl(tmp_path / "test6.jsonl", [lcb_row("3100", functional=True)])
    with pytest.raises(InputError, match="stdin, call"):
        list(load_livecodebench(str(path), functional="print"))


def test_private_tests_may_be_a_parsed_list(tmp_path):
    private = [{"input": "1 1\n", "output": "2\n", "testtype": "stdin"}]
    path = write_jsonl(tmp_path / "test6.jsonl", [lcb_row("p", private_test_cases=private)])
    assert next(load_livecodebench(str(path))).hidden_tests.outputs == ["2\n"]
