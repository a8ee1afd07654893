"""The installed version of ltoefg, for files and reports that record their creator."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("ltoefg")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
