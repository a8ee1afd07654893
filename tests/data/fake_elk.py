#!/usr/bin/env python3
"""A stand-in for ``elk-lapw`` that writes Elk's files in Elk's layout, for runner tests.

Ground state (tasks 0 or 1): one SCF iteration every ``FAKE_ELK_DT`` seconds
(default 0.3): STATE.OUT (fixed size, holds the iteration number), INFO.OUT
("Loop number", "Wrote STATE.OUT", RMS change 10·2⁻ⁿ), the STOP file (Elk's
checkstop), convergence when the RMS change is below ``epspot``, ``maxscl``.
Task 115: EFG.OUT from STATE.OUT's iteration n, in Elk's order and sign:
tensor of atom k (ase order) = (k + 1) · diag(1, 1, −2) · (1 + 2⁻ⁿ) V/Å².
``FAKE_ELK_ERROR=1``: print an Elk error and exit 0, as Elk does.
"""

import os
import re
import sys
import time
from pathlib import Path

AU = 97.1736242


def blocks(text):
    out, lines = {}, text.splitlines()
    for i, ln in enumerate(lines):
        if re.fullmatch(r"[a-z0-9]+", ln.strip()):
            out.setdefault(ln.strip(), i)
    return out, lines


def main():
    text = Path("elk.in").read_text()
    b, lines = blocks(text)
    tasks = [int(x) for x in lines[b["tasks"] + 1 :][:1][0].split()]
    print("Elk code version 8.4.30 started", flush=True)
    if os.environ.get("FAKE_ELK_ERROR"):
        print("\nError(readinput): fake error\n", flush=True)
        return
    # atoms block: species in Elk order; ase index = order of appearance in the geometry
    j = b["atoms"]
    nsp = int(lines[j + 1].split()[0])
    k, species = j + 2, []
    for _ in range(nsp):
        sp = re.match(r"\s*'([^']+)\.in'", lines[k]).group(1)
        n = int(lines[k + 1].split()[0])
        species += [sp] * n
        k += 2 + n
    ase_index = [int(i) for i in os.environ.get("FAKE_ELK_ORDER", "").split(",") if i] or list(
        range(len(species))
    )
    if tasks[0] == 115:
        n = int(Path("STATE.OUT").read_text().split()[0])
        out = ["", "(electric field gradient tensor is in Cartesian coordinates)", ""]
        for e, sp in enumerate(species):
            f = (ase_index[e] + 1) * (1 + 0.5**n)
            t = [[f, 0, 0], [0, f, 0], [0, 0, -2 * f]]
            out += ["", f"Species :    1 ({sp}), atom :    {e + 1}", "", " EFG tensor :"]
            out += [" ".join(f"{-v / AU: .10E}" for v in row) for row in t]
            out += [" trace :   0.0", " eigenvalues :", " 0 0 0", ""]
        Path("EFG.OUT").write_text("\n".join(out) + "\n")
        print("Info(writeefg): electric field gradient written to EFG.OUT")
        print("\nElk code stopped", flush=True)
        return
    Path("GEOMETRY.OUT").write_text("\n".join(lines[b["avec"] :]) + "\n")
    epspot = float(lines[b["epspot"] + 1].split()[0])
    maxscl = int(lines[b["maxscl"] + 1].split()[0])
    start = int(Path("STATE.OUT").read_text().split()[0]) if tasks[0] == 1 else 0
    dt = float(os.environ.get("FAKE_ELK_DT", "0.3"))
    head = "resuming from STATE.OUT" if tasks[0] == 1 else "starting from atomic densities"
    info = open("INFO.OUT", "w")
    info.write(f"| Elk version 8.4.30 started |\n\n| Ground-state run {head} |\n")
    converged = False
    for i in range(1, maxscl + 1):
        time.sleep(dt)
        n = start + i
        rms = 10 * 0.5**n
        info.write(f"\n+---+\n| Loop number : {i:4d} |\n+---+\n\nEnergies :\n")
        info.write(f" Fermi                       :    0.1{n:04d}\n")
        info.write(f"\nEstimated indirect band gap :   0.0{n:04d}\n")
        Path("STATE.OUT").write_text(f"{n:10d}\n" + "x" * 989)
        info.write("\nWrote STATE.OUT\n\n")
        info.write(f"RMS change in Kohn-Sham potential (target) :   {rms:.10E} ({epspot:.3E})\n")
        info.flush()
        if rms < epspot:
            info.write("\nConvergence targets achieved\n")
            converged = True
        if os.path.exists("STOP"):
            os.remove("STOP")
            print("Info(checkstop): STOP file exists", flush=True)
            break
        if converged:
            break
    info.write("\n| Self-consistent loop stopped |\n\nWrote STATE.OUT\n\n")
    info.write("| Elk version 8.4.30 stopped |\n")
    info.close()
    print("\nElk code stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
