"""Real DFT EFG labels with ABINIT (PAW, PBE): inputs, runs, parsing, provenance (SPEC §4.6).

Importing this package needs neither ABINIT nor dask; the runners look for
``abinit``/``mpirun`` and ``dask.distributed`` only when called.
"""
