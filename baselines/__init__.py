"""Reference baselines of ltoefg, run from a checkout with ``python -m baselines``.

Three floors, each importing only the ones below it:

* :mod:`baselines.engine` — descriptors (featomic SOAP and λ-SOAP), kernels,
  sparse GPR and the Box-Behnken hyperparameter search;
* :mod:`baselines.models` — the models (scalar SOAP GPR and λ-SOAP SA-GPR,
  LODE, Δ point-charge prior, pair-feature ridge);
* :mod:`baselines.runs` — quick runs, tuning, learning curves, transfer, CV
  spread and the application, each ending in predictions and a leaderboard entry.

:mod:`baselines.cli` is the sub-command registry of ``python -m baselines``; it
imports the command modules of :mod:`baselines.runs` by name when it builds its
parser. This package imports featomic and metatensor lazily (inside the feature
computation); the ``ltoefg`` package itself never imports them.
"""
