"""The runs of the baselines: tune, fit, predict, score and record on a data-set version.

:mod:`~baselines.runs.setup` (run options, training sites, CV folds),
:mod:`~baselines.runs.pipeline` (the paper's baselines, through
``ltoefg.evaluate`` to a leaderboard entry), :mod:`~baselines.runs.beyond`
(the models beyond the paper), :mod:`~baselines.runs.cv_spread` (spread over the
CV folds), :mod:`~baselines.runs.learning_curve`, :mod:`~baselines.runs.transfer`
(point-charge → DFT), :mod:`~baselines.runs.application` (the paper's
application) and :mod:`~baselines.runs.commands` (``quick``, ``train``,
``learning-curve``).
"""
