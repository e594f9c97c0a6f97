"""The paper's baselines, each a row of :data:`cobalt.train.trainer.METHODS` (docs/train.md, Baselines).

* :mod:`~cobalt.train.baselines.single_turn`: single-turn GRPO, problem-only prompts from the bandit
  dataset, the Cobalt reward without its improvement term;
* :mod:`~cobalt.train.baselines.online`: online multi-turn GRPO and VeRPO, whole trajectories
  sampled from the policy being trained (:mod:`~cobalt.train.baselines.rollout`), rewarded by their
  final program and, for VeRPO, a difficulty-weighted dense per-turn term
  (:mod:`~cobalt.train.baselines.reward`).
"""
