"""Where a DFT label came from: Elk executable and package, species files with SHA-256,
the BLAS/LAPACK libraries actually loaded, host.

Also refuses a species file whose SHA-256 differs from the protocol's (another
file would be another label).
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import socket
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from ltoefg.dft.errors import ElkNotFoundError
from ltoefg.dft.protocol import SPECIES_DIR, Protocol

__all__ = [
    "ELK_EXECUTABLE",
    "elk_package_version",
    "find_executable",
    "host_info",
    "linear_algebra",
    "sha256_file",
    "species_files",
]

#: Debian's name of the Elk executable.
ELK_EXECUTABLE = "elk-lapw"

_INSTALL_HINT = "install it (Debian: apt-get install elk-lapw libopenblas0-openmp)"


def find_executable(name: str = ELK_EXECUTABLE) -> str:
    """Absolute path of an executable on PATH.

    Raises
    ------
    ElkNotFoundError
        If it is not found.
    """
    path = shutil.which(name)
    if path is None:
        raise ElkNotFoundError(f"'{name}' is not on PATH; {_INSTALL_HINT}.")
    return path


def sha256_file(path: str | Path) -> str:
    """SHA-256 (hex) of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def species_files(
    protocol: Protocol, elements: list[str] | None = None, folder: str | Path | None = None
) -> list[dict[str, str]]:
    """The protocol's species files, checked against their SHA-256.

    Parameters
    ----------
    protocol : Protocol
    elements : list of str, optional
        Only these elements (default: all of the protocol).
    folder : str or pathlib.Path, optional
        Species folder (default: the package's :data:`SPECIES_DIR`).

    Returns
    -------
    list of dict
        ``{"element", "file", "path", "sha256"}`` per species.

    Raises
    ------
    ElkNotFoundError
        If a file is missing or its SHA-256 differs from the protocol's.
    """
    root = Path(folder) if folder is not None else SPECIES_DIR
    out = []
    for s in protocol.species:
        if elements is not None and s.element not in elements:
            continue
        path = root / s.filename
        if not path.is_file():
            raise ElkNotFoundError(
                f"{path}: the {s.element} species file is missing; reinstall ltoefg."
            )
        digest = sha256_file(path)
        if digest != s.sha256:
            raise ElkNotFoundError(
                f"{path}: SHA-256 {digest[:12]}… differs from protocol {protocol.name!r} "
                f"({s.sha256[:12]}…); restore the file or define a new protocol for it."
            )
        out.append({"element": s.element, "file": s.filename, "path": str(path), "sha256": digest})
    return out


@cache
def elk_package_version(package: str = "elk-lapw") -> str | None:
    """The Debian package version of Elk (``dpkg-query``), or None where there is none."""
    try:
        res = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", package],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (res.stdout.strip() or None) if res.returncode == 0 else None


@cache
def linear_algebra(executable: str) -> dict[str, Any]:
    """The BLAS and LAPACK libraries the Elk executable loads.

    ``ldd`` gives the library each soname resolves to; the real path behind
    Debian's alternatives symlinks tells which implementation it is (e.g.
    ``…/openblas-openmp/libblas.so.3`` against the reference
    ``…/blas/libblas.so.3``, 4–5× slower for Elk).

    Parameters
    ----------
    executable : str
        Path of the Elk executable.

    Returns
    -------
    dict
        ``libblas``, ``liblapack``: real paths (None if not linked or ``ldd``
        is missing); ``other``: real paths of other BLAS-like libraries loaded
        (OpenBLAS, MKL, BLIS).
    """
    out: dict[str, Any] = {"libblas": None, "liblapack": None, "other": []}
    try:
        res = subprocess.run(["ldd", executable], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return out
    for m in re.finditer(r"^\s*(\S+)\s*=>\s*(\S+)", res.stdout, re.M):
        soname, path = m.group(1), m.group(2)
        real = os.path.realpath(path) if os.path.exists(path) else path
        if soname.startswith("libblas.so"):
            out["libblas"] = real
        elif soname.startswith("liblapack.so"):
            out["liblapack"] = real
        elif re.match(r"lib(openblas|mkl|blis)", soname):
            out["other"].append(real)
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def host_info() -> dict[str, Any]:
    """Host name, OS, CPU model and logical CPU count of this machine."""
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
    }
