"""Where a DFT label came from: ABINIT version, PAW dataset files with SHA-256, host.

Also finds the executables and the PAW datasets, and refuses a dataset file
whose SHA-256 differs from the protocol's (another file would be another label).
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import socket
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from ltoefg.dft.errors import AbinitNotFoundError
from ltoefg.dft.protocol import Protocol

__all__ = [
    "DEFAULT_PSP_DIR",
    "ENV_PSP_DIR",
    "abinit_version",
    "dataset_files",
    "find_executable",
    "host_info",
    "psp_dir",
    "sha256_file",
]

#: Folder of the PAW datasets of Debian's ``abinit-data`` package.
DEFAULT_PSP_DIR = Path("/usr/share/abinit/psp")
#: Environment variable that overrides :data:`DEFAULT_PSP_DIR`.
ENV_PSP_DIR = "LTOEFG_ABINIT_PSP_DIR"

_INSTALL_HINT = "install it (Debian: apt-get install abinit abinit-data openmpi-bin)"


def find_executable(name: str) -> str:
    """Absolute path of an executable on PATH.

    Raises
    ------
    AbinitNotFoundError
        If it is not found.
    """
    path = shutil.which(name)
    if path is None:
        raise AbinitNotFoundError(f"'{name}' is not on PATH; {_INSTALL_HINT}.")
    return path


def psp_dir(path: str | Path | None = None) -> Path:
    """The PAW dataset folder: ``path``, else ``$LTOEFG_ABINIT_PSP_DIR``, else Debian's.

    Raises
    ------
    AbinitNotFoundError
        If the folder does not exist.
    """
    p = Path(path or os.environ.get(ENV_PSP_DIR) or DEFAULT_PSP_DIR)
    if not p.is_dir():
        raise AbinitNotFoundError(
            f"{p}: the PAW dataset folder does not exist; {_INSTALL_HINT} or set {ENV_PSP_DIR}."
        )
    return p


def sha256_file(path: str | Path) -> str:
    """SHA-256 (hex) of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dataset_files(
    protocol: Protocol, folder: str | Path | None = None, elements: list[str] | None = None
) -> list[dict[str, str]]:
    """The protocol's PAW dataset files, checked against their SHA-256.

    Parameters
    ----------
    protocol : Protocol
    folder : str or pathlib.Path, optional
        PAW dataset folder (see :func:`psp_dir`).
    elements : list of str, optional
        Only these elements (default: all of the protocol).

    Returns
    -------
    list of dict
        ``{"element", "file", "path", "sha256"}`` per dataset.

    Raises
    ------
    AbinitNotFoundError
        If a file is missing or its SHA-256 differs from the protocol's.
    """
    root = psp_dir(folder)
    out = []
    for d in protocol.datasets:
        if elements is not None and d.element not in elements:
            continue
        path = root / d.filename
        if not path.is_file():
            raise AbinitNotFoundError(
                f"{path}: the {d.element} PAW dataset is missing; {_INSTALL_HINT}."
            )
        digest = sha256_file(path)
        if digest != d.sha256:
            raise AbinitNotFoundError(
                f"{path}: SHA-256 {digest[:12]}… differs from protocol {protocol.name!r} "
                f"({d.sha256[:12]}…); install the abinit-data version the protocol was made "
                "with, or define a new protocol for this file."
            )
        out.append({"element": d.element, "file": d.filename, "path": str(path), "sha256": digest})
    return out


@cache
def abinit_version(abinit: str = "abinit") -> str:
    """The version ``abinit --version`` prints (e.g. ``"9.6.2"``).

    Raises
    ------
    AbinitNotFoundError
        If abinit is missing or does not answer.
    """
    exe = find_executable(abinit)
    try:
        res = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AbinitNotFoundError(f"'{exe} --version' failed ({exc}); reinstall abinit.") from None
    lines = res.stdout.strip().splitlines()
    if res.returncode != 0 or not lines:
        raise AbinitNotFoundError(f"'{exe} --version' failed; reinstall abinit.")
    return lines[-1].strip()


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
