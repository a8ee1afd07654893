"""Errors of the DFT package; each carries one sentence that names the thing and what to do."""

from __future__ import annotations

from ltoefg.errors import LtoefgError


class DftError(LtoefgError):
    """Base class of DFT errors (the CLI reports them with exit status 2)."""


class DftInputError(DftError):
    """A structure, protocol or selection cannot be turned into an Elk run."""


class ElkNotFoundError(DftError):
    """``elk-lapw`` is not installed, or a species file is missing or differs from the protocol."""


class DftOutputError(DftError):
    """An Elk output or result file is missing, truncated, or does not match its input."""


class DftInterruptedError(DftError):
    """A run was stopped by a signal; its STATE.OUT is kept for resuming."""
