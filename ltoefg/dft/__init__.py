"""Real DFT EFG labels with Elk (all-electron FP-LAPW, PBE): inputs, runs, parsing, provenance.

Importing this package needs neither Elk nor dask; the runners look for
``elk-lapw`` and ``dask.distributed`` only when called.
"""
