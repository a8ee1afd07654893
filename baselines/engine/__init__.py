"""The engine of the baselines: descriptors, kernels, sparse GPR and the hyperparameter search.

:mod:`~baselines.engine.features` (featomic SOAP and λ-SOAP descriptors),
:mod:`~baselines.engine.kernels` (k₀ = (x·x')^ζ and K₂ = P Pᵀ · k₀^(ζ−1)),
:mod:`~baselines.engine.sparse_gpr` (farthest-point sampling, projected-process
sparse GPR) and :mod:`~baselines.engine.doe` (Box-Behnken search with a
quadratic response surface). Nothing here knows a data set or a model.
"""
