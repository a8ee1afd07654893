"""Reference baselines of ltoefg: scalar SOAP GPR and λ-SOAP SA-GPR (run from a checkout).

The engine is split into:

* :mod:`baselines.features` — featomic SOAP (λ = 0) and λ-SOAP (λ = 2) descriptors
  of the centres of one species (:class:`~baselines.features.SoapHypers`,
  :func:`~baselines.features.compute_descriptors`);
* :mod:`baselines.kernels` — k₀ = (x·x')^ζ and K₂ = P Pᵀ · k₀^(ζ−1);
* :mod:`baselines.sparse_gpr` — farthest-point sampling and projected-process
  sparse GPR for scalar and λ = 2 targets;
* :mod:`baselines.models` — :class:`~baselines.models.ScalarSoapModel` and
  :class:`~baselines.models.TensorSoapModel` with ``fit``/``predict``/``save``/``load``.

This package imports featomic and metatensor lazily (inside the feature
computation); the ``ltoefg`` package itself never imports them.
"""
