"""The one error type of the application: one sentence, exit status 2 in the CLIs."""

from __future__ import annotations

from ltoefg.errors import LtoefgError

__all__ = ["ApplicationError"]


class ApplicationError(LtoefgError):
    """Bad input to the application (structures, trajectory, output file, model output)."""
