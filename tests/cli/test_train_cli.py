"""`cobalt train` on the command line: bad settings exit 2 with one message naming the file and
field, --print-config shows settings that load back, and --help names every preset."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cobalt.cli.main import main
from cobalt.config import preset_names
from cobalt.train.config import TrainConfig


def cobalt(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_unknown_setting_in_a_config_file_exits_2_naming_the_file_and_field(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("model: m\ndataset: d.jsonl\nlearning_rat: 1.0e-6\n")  # typo: learning_rate
    # in a process of its own, as a user runs it
    done = subprocess.run(
        [sys.executable, "-m", "cobalt.cli.main", "train", "--config", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.startswith("cobalt train: error: ")
    assert str(path) in done.stderr and "learning_rat" in done.stderr
    assert "Traceback" not in done.stderr


def test_invalid_value_in_a_config_file_exits_2_naming_the_file_and_field(tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text("model: m\ndataset: d.jsonl\nmethod: ppo\n")
    code, out, err = cobalt(capsys, "train", "--config", str(path))
    assert code == 2 and out == ""
    assert str(path) in err and "field 'method'" in err


def test_invalid_yaml_exits_2_naming_the_line(tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text("model: m\ndataset: [d.jsonl\n")
    code, _, err = cobalt(capsys, "train", "--config", str(path))
    assert code == 2 and f"{path}, line 3" in err and "invalid YAML" in err


def test_a_bad_set_option_exits_2(capsys):
    code, _, err = cobalt(capsys, "train", "--config", "tiny-cpu", "--set", "num_generation=4")
    assert code == 2 and "--set" in err and "num_generation=4" in err


def test_an_unknown_preset_exits_2_listing_the_presets(capsys):
    code, _, err = cobalt(capsys, "train", "--config", "tiny-gpu")
    assert code == 2 and "tiny-gpu" in err
    for name in preset_names("train"):
        assert name in err


@pytest.mark.parametrize("missing", ["model", "dataset"])
def test_a_run_without_model_or_dataset_exits_2_before_loading_anything(tmp_path, capsys, missing):
    path = tmp_path / "run.yaml"
    path.write_text("model: m\ndataset: d.jsonl\n")
    code, _, err = cobalt(capsys, "train", "--config", str(path), "--set", f"{missing}=''")
    assert code == 2 and f"field '{missing}'" in err and f"--set {missing}=" in err


def test_print_config_shows_the_resolved_settings_which_load_back(tmp_path, capsys):
    code, out, err = cobalt(capsys, "train", "--config", "tiny-cpu", "--set", "seed=7", "--print-config")
    assert code == 0 and err == ""
    expected = TrainConfig.load("tiny-cpu", ["seed=7"])
    saved = tmp_path / "resolved.yaml"
    saved.write_text(out)
    assert TrainConfig.load(str(saved)) == expected  # a printed config is a valid --config file


def test_help_names_every_preset(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["train", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "--config" in text and "--set" in text and "--print-config" in text
    for name in preset_names("train"):
        assert name in text
