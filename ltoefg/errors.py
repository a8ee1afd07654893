"""User-facing errors: each carries one sentence that names the file and says what to do."""

from __future__ import annotations


class LtoefgError(Exception):
    """Base class of errors the CLI reports as one sentence with exit status 2."""


class DataError(LtoefgError):
    """A data file is missing, corrupt, of an unknown version, or cannot be fetched."""


class SubmissionError(LtoefgError):
    """A predictions file does not follow the submission format (SPEC §6.1)."""
