"""The leaderboard: validated result entries, the rendered tables, the terminal view.

:mod:`~ltoefg.leaderboard.entry` is the validated entry record;
:mod:`~ltoefg.leaderboard.fields` the optional fields of an entry;
:mod:`~ltoefg.leaderboard.entries` validates, reads and writes entry files and
renders the leaderboard files (its names are handed on here);
:mod:`~ltoefg.leaderboard.render` renders the Markdown tables;
:mod:`~ltoefg.leaderboard.show` the ``ltoefg leaderboard show`` view.
"""

from __future__ import annotations

from ltoefg.leaderboard.entries import (
    ENTRIES_DIR,
    LEADERBOARD_README,
    REFERENCE_DIR,
    REFERENCE_SCHEMA_VERSION,
    TOP_README,
    Rendered,
    entry_filename,
    load_entries,
    load_references,
    make_entry,
    render_files,
    render_leaderboard,
    render_results_block,
    replace_between_markers,
    stale_files,
    validate_entry,
    validate_reference,
    validate_report,
    write_entry,
    write_rendered,
)
from ltoefg.leaderboard.entry import Entry, EntryError

__all__ = [
    "ENTRIES_DIR",
    "LEADERBOARD_README",
    "REFERENCE_DIR",
    "REFERENCE_SCHEMA_VERSION",
    "TOP_README",
    "Entry",
    "EntryError",
    "Rendered",
    "entry_filename",
    "load_entries",
    "load_references",
    "make_entry",
    "render_files",
    "render_leaderboard",
    "render_results_block",
    "replace_between_markers",
    "stale_files",
    "validate_entry",
    "validate_reference",
    "validate_report",
    "write_entry",
    "write_rendered",
]
