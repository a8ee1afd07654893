"""The paper's application (§3, Fig. 6; SPEC §9): from a tensor model to NMR observables.

One concern per module; import them directly (this package imports none of
them, so ``import ltoefg`` stays light):

``large_models``
    1512-atom Li4Ti5O12 models by Metropolis Monte Carlo of the 16d Li/Ti
    disorder on the Ewald energy.
``classify``
    ωQ histogram peak classification (the paper's 5 regions).
``predict``
    Model-agnostic prediction of one nucleus's tensors for a list of
    structures (any object with ``predict(frames, centres) -> (n, 3, 3)``),
    observables with :mod:`ltoefg.nmr`, classification, output files.
``banner``
    Figure titles that name the training labels of the model.
``chemiscope_view``
    A chemiscope input of the predictions (needs the chemiscope package).
``pointcharge_model``
    The Ewald point-charge labeller of ``pcm-v2`` as a model (no featomic).
``trajectory_file``
    The chunked, resumable HDF5 file of trajectory predictions.
``trajectory``
    Lazy, chunked, resumable prediction over a trajectory, distributed with Dask.
``synthetic``
    Synthetic (not MD) trajectories: Ornstein–Uhlenbeck displacements of a structure.
``dynamics``
    Observables of the dynamics: time-averaged (residual) tensors and ωQ,
    autocorrelations and the SAE two-time correlation F₂(t_p, t_m).
``dynamics_outputs``
    Tables and figures of those observables (figures need matplotlib).
``errors``
    :class:`~ltoefg.application.errors.ApplicationError`: one sentence, exit status 2.

Nothing here imports featomic, matplotlib or dask at import time; the λ-SOAP
model and the ``python -m baselines`` commands live in :mod:`baselines.runs.application`.
"""
