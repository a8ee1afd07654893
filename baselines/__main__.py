"""``python -m baselines``: see :mod:`baselines.cli`."""

from __future__ import annotations

import sys

from baselines.cli import main

if __name__ == "__main__":
    sys.exit(main())
