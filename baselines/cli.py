"""``python -m baselines COMMAND ...``: a small registry of sub-commands.

A module adds a sub-command by decorating its run function::

    from baselines.cli import command

    def _arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--n-train", type=int, default=2000)

    @command("quick", help="fixed-hyperparameter quick baselines", arguments=_arguments)
    def _run_quick(args: argparse.Namespace) -> int:
        ...
        return 0

and by listing its module name in :data:`COMMAND_MODULES` (one line), so that
:func:`build_parser` imports it. Command modules should import heavy
dependencies (featomic, matplotlib) inside their run functions, so that
``python -m baselines --help`` stays fast.

Errors: a run function that raises :class:`ltoefg.errors.LtoefgError` (or
:class:`CommandError`) gets one sentence on stderr and exit status 2, no
traceback; ``KeyboardInterrupt`` gives status 130. Anything else is a bug and
propagates with its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ltoefg.errors import LtoefgError

__all__ = [
    "COMMAND_MODULES",
    "Command",
    "CommandError",
    "build_parser",
    "command",
    "commands",
    "main",
    "register",
]

#: Modules imported by :func:`build_parser`; each registers its sub-commands on import.
COMMAND_MODULES: list[str] = [
    "baselines.runs.application",
    "baselines.runs.commands",
    "baselines.runs.transfer",
]

Runner = Callable[[argparse.Namespace], int]
ArgumentAdder = Callable[[argparse.ArgumentParser], None]


class CommandError(LtoefgError):
    """A user error in a baselines sub-command (bad file, incompatible model, ...)."""


@dataclass(frozen=True)
class Command:
    """One registered sub-command.

    Attributes
    ----------
    name : str
        The sub-command word (``python -m baselines NAME``).
    help : str
        One-line description for ``--help``.
    arguments : callable
        ``arguments(parser)`` adds the command's options.
    run : callable
        ``run(args) -> int`` executes it and returns the exit status.
    module : str
        Module that registered it.
    """

    name: str
    help: str
    arguments: ArgumentAdder
    run: Runner
    module: str


_REGISTRY: dict[str, Command] = {}


def register(
    name: str, help: str, arguments: ArgumentAdder, run: Runner, module: str | None = None
) -> Command:
    """Register a sub-command; registering the same name twice from two modules is an error.

    Re-registration from the same module (a module re-import) replaces the entry.
    """
    mod = module if module is not None else getattr(run, "__module__", "?")
    old = _REGISTRY.get(name)
    if old is not None and old.module != mod:
        raise ValueError(f"sub-command {name!r} already registered by {old.module}")
    cmd = Command(name=name, help=help, arguments=arguments, run=run, module=mod)
    _REGISTRY[name] = cmd
    return cmd


def command(
    name: str, help: str, arguments: ArgumentAdder | None = None
) -> Callable[[Runner], Runner]:
    """Decorator form of :func:`register` for a run function."""

    def deco(run: Runner) -> Runner:
        register(name, help, arguments or (lambda p: None), run)
        return run

    return deco


def commands() -> dict[str, Command]:
    """All registered sub-commands after importing :data:`COMMAND_MODULES`, by name."""
    for mod in COMMAND_MODULES:
        importlib.import_module(mod)
    return dict(sorted(_REGISTRY.items()))


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m baselines`` parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="python -m baselines",
        description="ltoefg reference baselines (SOAP GPR, λ-SOAP SA-GPR) and applications.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in commands().values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.arguments(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the sub-command, return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Runner | None = getattr(args, "_run", None)
    if run is None:
        parser.print_help()
        return 0
    try:
        return int(run(args) or 0)
    except LtoefgError as exc:
        print(f"baselines {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"baselines {args.command}: interrupted", file=sys.stderr)
        return 130
