"""Command-line options come from the verbs' typed configs: one option per setting, its help the
field's description and default, no default of the command line's own, and a bad value named by
the flag that gave it."""

from __future__ import annotations

import pytest

from cobalt.bandit import BuildConfig
from cobalt.cli.main import build_parser, main
from cobalt.cli.options import leaf_settings, load_settings
from cobalt.data import PrepareConfig
from cobalt.demo import DemoConfig
from cobalt.evaluate import EvaluateConfig
from cobalt.rollout import RolloutConfig
from cobalt.sandbox import SandboxConfig
from cobalt.train.config import TrainConfig
from cobalt.train.verl_export import VerlExportConfig

# verb (with the arguments it requires) -> its config, and settings that have no option of their own
VERBS = {
    ("exec",): (SandboxConfig, set()),
    ("data", "prepare", "--out", "o.jsonl"): (PrepareConfig, {"bundled.num_public", "bundled.num_hidden"}),
    ("rollout", "--problems", "p.jsonl", "--out", "o.jsonl"): (RolloutConfig, set()),
    ("evaluate", "run.jsonl"): (EvaluateConfig, set()),
    ("bandit", "build", "t.jsonl", "--problems", "p", "--out", "o", "--tokenizer", "d"): (BuildConfig, set()),
    ("train",): (TrainConfig, set()),
    ("export", "verl", "bandit.jsonl", "--out", "o"): (VerlExportConfig, set()),
    ("demo",): (DemoConfig, set()),
}


def parse(argv: tuple[str, ...], *more: str):
    return build_parser().parse_args([*argv, *more])


@pytest.mark.parametrize("argv", list(VERBS), ids=lambda argv: argv[0])
def test_every_setting_has_one_option(argv):
    config, unexposed = VERBS[argv]
    settings = parse(argv).settings
    paths = [s.path for s in settings]
    assert len(paths) == len(set(paths))
    expected = {s.path for s in leaf_settings(config)} - unexposed
    if config is PrepareConfig:  # the bundled suite's less common knobs are left to --set bundled.KEY=...
        expected = {p for p in expected if not p.startswith("bundled.")} | {
            p for p in paths if p.startswith("bundled.")
        }
    assert set(paths) == expected


@pytest.mark.parametrize("argv", list(VERBS), ids=lambda argv: argv[0])
def test_without_options_the_settings_are_the_configs_defaults(argv):
    config, _ = VERBS[argv]
    args = parse(argv, "--source", "bundled") if config is PrepareConfig else parse(argv)
    if config is TrainConfig:  # train starts from the paper-8b preset unless told otherwise
        assert load_settings(args, TrainConfig, args.settings) == TrainConfig.load("paper-8b")
    elif config is PrepareConfig:
        assert load_settings(args, config, args.settings) == PrepareConfig(source="bundled")
    else:
        assert load_settings(args, config, args.settings) == config()


def test_help_shows_each_settings_description_and_default(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for setting in leaf_settings(TrainConfig):
        option = "--" + setting.path.replace("_", "-").replace(".", "-")  # lora.r is --lora-r
        assert option in text
        first_words = " ".join(setting.field.description.split()[:4]).rstrip(".")
        assert first_words in text, setting.path
    assert "--learning-rate X Peak learning rate of the optimizer; default: 1e-06." in text


def test_a_flag_overrides_the_preset_and_the_file(tmp_path):
    file = tmp_path / "run.yaml"
    file.write_text("learning_rate: 3.0e-6\nseed: 5\n")
    args = parse(("train",), "--config", str(file), "--preset", "tiny-cpu", "--seed", "9", "--no-use-cpu")
    config = load_settings(args, TrainConfig, args.settings)
    assert (config.learning_rate, config.seed, config.use_cpu) == (3e-6, 9, False)
    assert config.num_generations == TrainConfig.load("tiny-cpu").num_generations


def test_a_bad_flag_value_is_named_by_the_flag(capsys):
    assert main(["train", "--num-generations", "1", "--print-config"]) == 2
    assert "command line: field '--num-generations'" in capsys.readouterr().err


def test_renamed_options_keep_the_names_users_type():
    args = parse(("rollout", "--problems", "p", "--out", "o"), "--timeout", "2", "--no-hidden", "--batch-wait", "0")
    config = load_settings(args, RolloutConfig, args.settings)
    assert (config.sandbox.cpu_s, config.score_hidden, config.batch_wait_s) == (2.0, False, 0.0)
    demo = parse(("demo",), "--seeds", "3", "4", "--warmup-epochs", "1", "--seed", "2")
    config = load_settings(demo, DemoConfig, demo.settings)
    assert (config.train_seeds, config.warmup.epochs, config.seed, config.warmup.seed) == ((3, 4), 1.0, 2, 0)
