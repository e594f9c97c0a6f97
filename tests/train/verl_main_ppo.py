"""Stands in for `python3 -m verl.trainer.main_ppo ...` when tests run an exported run_verl.sh.

It does what verl's `main_ppo.main` does before any GPU work: composes verl's own `ppo_trainer`
Hydra config with the script's overrides (exactly as the shell passed them), then runs verl's
`validate_config` with verl's own `need_reference_policy` / `need_critic`. It also resolves every
interpolation and builds the typed rollout config verl's rollout workers build when they start, so
a bad key or value fails here as it would on the GPU node. It prints the
settings the tests check as one JSON line and exits 0, or prints verl's error and exits 1.

Run with verl 0.9 (installed without dependencies) on PYTHONPATH; see tests/train/test_verl_export.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if argv[:2] != ["-m", "verl.trainer.main_ppo"]:
        print(f"expected `-m verl.trainer.main_ppo`, got {argv[:2]}", file=sys.stderr)
        return 2
    import verl
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import omega_conf_to_dataclass, validate_config

    config_dir = Path(verl.__file__).parent / "trainer" / "config"
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        config = compose("ppo_trainer", overrides=argv[2:])
    try:
        validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))
        OmegaConf.resolve(config)
        omega_conf_to_dataclass(config.actor_rollout_ref.rollout)
    except Exception as error:
        print(f"verl refused the config: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    trainer, ref, actor = config.trainer, config.actor_rollout_ref.ref, config.actor_rollout_ref.actor
    print(
        json.dumps(
            {
                "n_gpus": trainer.n_gpus_per_node * trainer.nnodes,
                "logger": list(trainer.logger),
                "val_before_train": trainer.val_before_train,
                "test_freq": trainer.test_freq,
                "max_actor_ckpt_to_keep": trainer.max_actor_ckpt_to_keep,
                "optimizer_offload": actor.fsdp_config.optimizer_offload,
                "ref_param_offload": ref.fsdp_config.param_offload,
                "ref_log_prob_micro_batch_size_per_gpu": ref.log_prob_micro_batch_size_per_gpu,
                "train_files": config.data.train_files,
                "val_files": config.data.val_files,
                "reward_path": config.reward.custom_reward_function.path,
                "reward_workers": config.reward.num_workers,
                "model": config.actor_rollout_ref.model.path,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
