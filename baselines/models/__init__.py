"""The baseline models: each fits sites of one nucleus and predicts their EFG tensors.

:mod:`~baselines.models.soap` (scalar SOAP GPR and λ-SOAP SA-GPR, with
``save``/``load``), :mod:`~baselines.models.lode` (λ-SOAP joined with LODE),
:mod:`~baselines.models.delta` (Δ-learning on an Ewald point-charge prior) and
:mod:`~baselines.models.pair_ridge` (pair-feature ridge regression).
"""
