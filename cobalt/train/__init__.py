"""``cobalt.train``: train a policy with Cobalt or one of the paper's baselines, or export to verl.

* :func:`cobalt.train.trainer.train` (and :func:`~cobalt.train.trainer.build_trainer`): GRPO
  through TRL for every method; the method is chosen from the table
  :data:`cobalt.train.trainer.METHODS`.
* :mod:`cobalt.train.cobalt`: the Cobalt method (bandit dataset rows, the reward TRL calls).
* :mod:`cobalt.train.baselines`: single-turn GRPO, online multi-turn GRPO and VeRPO.
* :class:`cobalt.train.config.TrainConfig`: every setting; presets ``paper-8b``, ``paper-8b-8gpu``,
  ``paper-single-turn``, ``one-gpu-8b-lora``, ``one-gpu`` and ``tiny-cpu`` in ``cobalt/presets/train/``.
* :mod:`cobalt.train.memory`: a run's memory per GPU, worked out from its config
  (``cobalt train --estimate-memory``).
* :mod:`cobalt.train.validation`: validation during training, on the reference's schedule.
* :mod:`cobalt.train.kl` (the paper's k2 KL for TRL) and :mod:`cobalt.train.prefix` (each group's
  prompt scored once): mixins composed into TRL's trainer by the builder.
* :mod:`cobalt.train.verl_export`: parquet, reward module and launch script for verl.

Nothing here imports torch, transformers or TRL until a function that needs them runs.
"""
