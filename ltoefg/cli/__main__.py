"""``python -m ltoefg.cli``: the ``ltoefg`` command line."""

import sys

from ltoefg.cli import main

sys.exit(main())
