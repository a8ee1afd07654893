"""The LTO-EFG data set: registry, fetch, file format, loader, splits, generators, import."""

from ltoefg.data.loader import Dataset, load
from ltoefg.data.splits import Split

__all__ = ["Dataset", "Split", "load"]
