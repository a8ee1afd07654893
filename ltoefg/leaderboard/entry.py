"""A validated leaderboard entry: the record that validation, rendering and display share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ltoefg import constants as C
from ltoefg.errors import LtoefgError


class EntryError(LtoefgError):
    """A leaderboard entry or reference file does not follow its schema."""


@dataclass(frozen=True)
class Entry:
    """A validated leaderboard entry.

    Attributes
    ----------
    path : pathlib.Path
    data : dict
        The entry as in the file.
    """

    path: Path
    data: dict[str, Any]

    @property
    def report(self) -> dict[str, Any]:
        """The evaluator report."""
        return self.data[C.LB_REPORT]

    @property
    def key(self) -> tuple[str, str, str]:
        """(dataset, split, model)."""
        r = self.report
        return r[C.RT_DATASET], r[C.RT_SPLIT], r[C.RT_MODEL]
