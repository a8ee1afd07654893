"""Reading and writing files that ltoefg does not trust or must not damage.

:mod:`~ltoefg.io.h5inspect` inspects an untrusted HDF5 file without following
links out of it; :mod:`~ltoefg.io.json_safe` parses JSON within bounds (size,
depth, numbers); :mod:`~ltoefg.io.outputs` checks output targets and writes
files atomically, with the user's umask.
"""
