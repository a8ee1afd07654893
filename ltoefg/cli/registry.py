"""The sub-command registry of the ``ltoefg`` command line.

A command-group module (:mod:`ltoefg.cli.data`, ...) decorates its
registration functions with :func:`command`; :func:`ltoefg.cli.build_parser`
imports the groups and calls every registered function. The registry imports
nothing of the groups, so the groups never import the parser back.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

Handler = Callable[[argparse.Namespace], int]
Register = Callable[[argparse._SubParsersAction], None]
COMMANDS: list[Register] = []


def command(register: Register) -> Register:
    """Decorator: add a sub-command registration function to the CLI."""
    COMMANDS.append(register)
    return register
