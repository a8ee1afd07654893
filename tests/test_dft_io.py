"""DFT package without ABINIT: protocol, input writer ↔ parser, output parser, results,
selection, PAW radii vs the dataset files, release assembly, CLI errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

import ltoefg
from ltoefg.constants import EFG_AU_IN_V_PER_A2
from ltoefg.dft import compare, inputs, outputs, protocol, results, selection
from ltoefg.dft.errors import AbinitOutputError, DftError, DftInputError
from ltoefg.dft.paw import PAW_RADII_BOHR

PSP = Path("/usr/share/abinit/psp")
P = protocol.PRODUCTION


@pytest.fixture(scope="module")
def pcm():
    return ltoefg.load("pcm-v2")


def test_protocol_is_frozen_and_named():
    with pytest.raises(AttributeError):
        P.ecut_ha = 20.0  # type: ignore[misc]
    with pytest.raises(DftInputError):
        P.replace(P.name, ecut_ha=20.0)
    v = P.replace("test-e20", ecut_ha=20.0, pawecutdg_ha=40.0)
    assert v.ecut_ha == 20.0 and P.ecut_ha == 15.0
    assert protocol.Protocol.from_dict(json.loads(json.dumps(v.to_dict()))) == v
    assert protocol.get_protocol(P.name) is P
    with pytest.raises(DftInputError, match="unknown DFT protocol"):
        protocol.get_protocol("nope")
    # band rule: LTO has 8·3 + 10·12 + 24·6 = 288 valence electrons -> 144 occupied
    assert P.nband(["Li"] * 8 + ["Ti"] * 10 + ["O"] * 24) == 144 + 8
    assert P.dataset("Li").filename == "li.PBE.atompaw.paw" and P.usexcnhat == 0


def test_input_round_trip_keeps_site_order(pcm):
    atoms = pcm.atoms(7)
    perm = np.random.default_rng(0).permutation(len(atoms))
    atoms = atoms[perm]  # mixed species order: typat must follow it
    text = inputs.write_input(atoms, P, "/psp", restart_density="/x/a_DEN")
    s = inputs.parse_structure(text)
    assert s.symbols == tuple(atoms.get_chemical_symbols())
    assert np.abs(s.cell - atoms.cell.array).max() < 1e-12
    back = s.to_atoms()
    assert np.abs(back.positions - atoms.positions).max() < 1e-10
    for needle in ("prtefg 3", "usexcnhat 0", "ngkpt 3 3 1", 'getden_filepath "/x/a_DEN"'):
        assert needle in text
    assert re.search(r"^chkexit 1$", text, re.M) and "prtwf -1" in text
    both = inputs.write_input(atoms, P, "/psp", "/x/a_DEN", restart_wavefunctions="/x/a_WFK")
    assert 'getwfk_filepath "/x/a_WFK"' in both and "getden_filepath" not in both
    assert re.search(r"^ptcharge 1 4 -2$", text, re.M)  # types in protocol order Li, Ti, O
    assert 'pseudos "li.PBE.atompaw.paw, ti.hpc.paw, Pseudodojo_paw_pbe_standard/O.xml"' in text


def test_input_writer_refuses_bad_structures(pcm):
    atoms = pcm.atoms(0)
    bad = atoms.copy()
    bad.positions[1] = bad.positions[0] + [0.5, 0, 0]  # Li on top of Li: PAW spheres overlap
    with pytest.raises(DftInputError, match="overlap"):
        inputs.write_input(bad, P, "/psp")
    with pytest.raises(DftInputError, match="no PAW dataset for Na"):
        inputs.write_input(Atoms("Na", cell=[3, 3, 3], pbc=True), P, "/psp")
    with pytest.raises(DftInputError, match="periodic"):
        inputs.write_input(Atoms("Li", cell=[3, 3, 3], pbc=False), P, "/psp")


def _fake_abo(efg_au: np.ndarray, pc_au: np.ndarray, typat, znucl, xred, converged=True) -> str:
    """Text in the layout of ABINIT 9.6's .abo (EFG section, SCF lines, final echo)."""
    n = len(typat)
    lines = [
        ".Version 9.6.2 of ABINIT",
        "     iter   Etot(hartree)      deltaE(h)  residm     nres2",
    ]
    lines += [f" ETOT {k:2d}  -100.{k:011d}    -1.0E-03 1.0E-04 {10.0**-k:.3E}" for k in (1, 2)]
    if converged:
        lines.append(" At SCF step    2       nres2   =  1.00E-10 < tolvrs=  1.00E-09 =>converged.")
    lines.append(" Electric Field Gradient Calculation ")
    for i in range(n):
        lines += ["", f" Atom {i + 1:3d}, typat {typat[i]:3d}: Cq =     1.0 MHz     eta =  0.1", ""]
        lines += ["      total efg : " + "  ".join(f"{x:12.6f}" for x in row) for row in efg_au[i]]
        lines += ["", f" Atom {i + 1:3d}, typat {typat[i]:3d}: Point charge Cq =   0.5 MHz", ""]
        lines += [
            "      point charge efg : " + "  ".join(f"{x:12.6f}" for x in row) for row in pc_au[i]
        ]
    lines += [" -outvars: echo values of variables after computation  --------"]
    lines += [f"            natom {n:11d}", f"           ntypat {len(znucl):11d}"]
    lines += ["            typat " + "  ".join(str(t) for t in typat)]
    lines += [f"             xred  {xred[0][0]: .10E} {xred[0][1]: .10E} {xred[0][2]: .10E}"]
    lines += [f"                   {x: .10E} {y: .10E} {z: .10E}" for x, y, z in xred[1:]]
    lines += ["            znucl " + "  ".join(f"{z:.5f}" for z in znucl)]
    lines += ["+Overall time at end (sec) : cpu=         31.7  wall=         63.3"]
    return "\n".join(lines) + "\n"


def test_output_parser_units_order_and_scf():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 3, 3))
    efg_au = np.round((a + a.transpose(0, 2, 1)) / 2, 6)
    pc_au = np.round(efg_au[::-1] * 0.5, 6)
    xred = rng.random((3, 3))
    s = inputs.AbinitStructure(np.eye(3) * 4, ("Li", "O", "Li"), np.round(xred, 10))
    text = _fake_abo(efg_au, pc_au, [1, 2, 1], [3, 8], xred)
    out = outputs.parse_output(text, s)
    assert out.version == "9.6.2" and out.converged and out.completed
    assert out.scf_steps == 2 and out.final_residual == pytest.approx(1e-2)
    assert out.symbols == ("Li", "O", "Li")
    np.testing.assert_allclose(out.efg, efg_au * EFG_AU_IN_V_PER_A2, atol=1e-9)
    np.testing.assert_allclose(out.efg_pointcharge, pc_au * EFG_AU_IN_V_PER_A2, atol=1e-9)
    # atoms swapped in the output -> refused
    swapped = inputs.AbinitStructure(s.cell, ("Li", "Li", "O"), s.scaled_positions)
    with pytest.raises(AbinitOutputError, match="order"):
        outputs.parse_output(text, swapped)
    moved = inputs.AbinitStructure(s.cell, s.symbols, s.scaled_positions[[2, 1, 0]])
    with pytest.raises(AbinitOutputError, match="position"):
        outputs.parse_output(text, moved)
    # a truncated EFG block is an error, an unconverged run is reported as such
    cut = text.replace(text.splitlines()[-12] + "\n", "")
    with pytest.raises(AbinitOutputError):
        outputs.parse_output(cut.replace("point charge efg", "total efg", 1))
    assert not outputs.parse_output(
        _fake_abo(efg_au, pc_au, [1, 2, 1], [3, 8], xred, False)
    ).converged


def test_result_files_atomic_and_validated(tmp_path):
    obj = {"schema": results.RESULT_SCHEMA, "status": "failed", "reason": "x", "key": {}}
    path = results.write_json_atomic(tmp_path / "r.json", obj)
    assert results.read_result(path) == obj
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary left
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(AbinitOutputError, match="bad.json"):
        results.read_result(tmp_path / "bad.json")
    with pytest.raises(DftError, match="not writable|cannot write"):
        results.write_json_atomic(tmp_path / "missing" / "r.json", obj)


def test_selection_is_frozen_and_stratified(pcm):
    table = pcm.structure_table
    ids = selection.stratified_selection(table, 8)
    assert tuple(ids) == selection.DFT_PBE_V1_IDS
    sel = table.iloc[list(ids)]
    assert (sel["ordering"].value_counts() == 8).all() and sel["ordering"].nunique() == 6
    # every ordering covers low and high rattle amplitudes
    amp = sel.groupby("ordering")["rattle_amplitude"]
    assert (amp.min() < 0.06).all() and (amp.max() > 0.24).all()
    assert selection.parse_ids("3,1-2,3", 10) == [3, 1, 2]
    with pytest.raises(DftInputError, match="does not exist"):
        selection.parse_ids("12", 10)
    with pytest.raises(DftInputError, match="bad structure id"):
        selection.parse_ids("a-b", 10)


@pytest.mark.skipif(not PSP.is_dir(), reason="abinit-data (PAW datasets) not installed")
def test_paw_radii_and_datasets_match_files():
    from ltoefg.dft.provenance import dataset_files

    li = (PSP / "li.PBE.atompaw.paw").read_text()
    ti = (PSP / "ti.hpc.paw").read_text()
    o = (PSP / "Pseudodojo_paw_pbe_standard/O.xml").read_text()
    r_li = float(re.search(r"^\s*(\S+)\s*: r_cut\(PAW\)", li, re.M).group(1))
    r_ti = float(re.search(r"^\s*(\S+)\s*: r_cut\(PAW\)", ti, re.M).group(1))
    r_o = float(re.search(r'<paw_radius rc="\s*([^"]+)"', o).group(1))
    assert PAW_RADII_BOHR == {"Li": r_li, "Ti": r_ti, "O": r_o}
    zion = {
        "Li": float(li.splitlines()[1].split()[1]),
        "Ti": float(ti.splitlines()[1].split()[1]),
        "O": float(re.search(r'valence="([^"]+)"', o).group(1)),
    }
    assert {d.element: d.z_valence for d in P.datasets} == zion
    assert {d.element: d.r_paw_bohr for d in P.datasets} == PAW_RADII_BOHR
    assert len(dataset_files(P, PSP)) == 3  # SHA-256 of every file matches the protocol


def test_compare_metrics_know_their_answers():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(50, 3, 3))
    a = a + a.transpose(0, 2, 1)
    same = compare.tensor_change(a, a, sigma_vzz=1.0)
    assert same["rel_change"] == 0 and same["mae_vij"] == 0
    assert compare.tensor_change(1.1 * a, a)["rel_change"] == pytest.approx(0.1)
    s = compare.pcm_vs_dft(a, 3.0 * a)
    assert s["r_vzz"] == pytest.approx(1) and s["slope"] == pytest.approx(3)
    assert s["median_angle_deg"] == pytest.approx(0, abs=1e-6)
    rot = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]])  # 90° about z
    d = np.diag([1.0, 2.0, -3.0])
    assert compare.vzz_axis_angle_deg([d], [rot @ d @ rot.T])[0] == pytest.approx(0, abs=1e-6)
    d2 = np.diag([-3.0, 1.0, 2.0])
    assert compare.vzz_axis_angle_deg([d], [d2])[0] == pytest.approx(90)


def _fake_ok_result(atoms, efg):
    return {
        "schema": results.RESULT_SCHEMA,
        "status": "ok",
        "key": {"dataset": "pcm-v2", "structure": int(atoms.info["structure"])},
        "structure": results.structure_record(atoms),
        "protocol": P.to_dict(),
        "abinit_version": "9.6.2",
        "datasets": [
            {"element": d.element, "file": d.filename, "sha256": d.sha256} for d in P.datasets
        ],
        "efg": efg.tolist(),
        "efg_pointcharge": np.zeros_like(efg).tolist(),
    }


def test_release_assembly_keeps_pcm_ids(tmp_path, pcm):
    from ltoefg.data import h5format
    from ltoefg.dft.release import DFT_LABEL_METHOD, assemble

    ids = [952, 40]
    (tmp_path / P.name).mkdir()
    for sid in ids:
        atoms = pcm.atoms(sid)
        res = _fake_ok_result(atoms, 2.0 * atoms.arrays["efg"])
        results.write_json_atomic(tmp_path / P.name / results.result_name("pcm-v2", sid), res)
    data = assemble(tmp_path, P, ids, name="dft-test")
    h5format.write(tmp_path / "d.h5", data)
    ds = ltoefg.load(tmp_path / "d.h5")
    assert ds.label_method == DFT_LABEL_METHOD and "ABINIT" in ds.label_description
    assert list(ds.structure_table["structure"]) == [40, 952]
    assert ds.atoms(0).info["structure"] == 40
    np.testing.assert_allclose(ds.efg[:42], 2.0 * pcm.atoms(40).arrays["efg"])
    with pytest.raises(DftError, match="no ok result"):
        assemble(tmp_path, P, [0], name="dft-test")
    path = tmp_path / P.name / results.result_name("pcm-v2", 40)
    res = json.loads(path.read_text())
    res["protocol"]["ecut_ha"] = 20.0  # same name, other settings
    results.write_json_atomic(path, res)
    with pytest.raises(DftError, match="other settings"):
        assemble(tmp_path, P, ids)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from ltoefg.cli import main; sys.exit(main())", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_bad_inputs_one_sentence(tmp_path):
    r = _cli("dft", "run", "--ids", "99999", "--out", str(tmp_path))
    assert r.returncode == 2 and "structure id 99999 does not exist" in r.stderr
    assert "Traceback" not in r.stderr
    r = _cli("dft", "run", "--ids", "0", "--out", "/proc/no/such")
    assert r.returncode == 2 and "not writable" in r.stderr
    env = dict(os.environ, PATH=str(tmp_path))  # no abinit on PATH
    r = _cli(
        "dft", "run", "--ids", "0", "--out", str(tmp_path), "--scratch", str(tmp_path), env=env
    )
    assert r.returncode == 2 and "'abinit' is not on PATH" in r.stderr
    r = _cli("dft", "status", "--ids", "0-3", "--out", str(tmp_path))
    assert r.returncode == 0 and "0 ok, 0 failed, 4 pending" in r.stdout


def test_restart_policy(tmp_path):
    from ltoefg.dft.runner import latest_checkpoint

    end = "+Overall time at end (sec) : cpu= 1 wall= 1\n"
    assert latest_checkpoint(tmp_path) is None
    (tmp_path / "attempt-01t_DEN_0000").write_bytes(b"x" * 100)
    (tmp_path / "attempt-01t_DEN_0001").write_bytes(b"x" * 60)  # cut short by a kill
    assert latest_checkpoint(tmp_path).name == "attempt-01t_DEN_0000"
    assert latest_checkpoint(tmp_path, use_density=False) is None  # fresh start
    (tmp_path / "attempt-02.abo").write_text(" ETOT  1  -1.0  -1.0E-03 1.0E-04 1.0E-03\n")
    (tmp_path / "attempt-02o_WFK").write_bytes(b"w")  # killed: its output has no end line
    assert latest_checkpoint(tmp_path).name == "attempt-01t_DEN_0000"
    (tmp_path / "attempt-02.abo").write_text(" ETOT  1  -1.0  -1.0E-03 1.0E-04 1.0E-03\n" + end)
    assert latest_checkpoint(tmp_path).name == "attempt-02o_WFK"
    assert latest_checkpoint(tmp_path, max_nres2=1e-2).name == "attempt-02o_WFK"
    # stopped early (large residual): the wavefunctions are not worth resuming from
    assert latest_checkpoint(tmp_path, max_nres2=1e-4, use_density=False) is None


def test_pcm_vs_dft_report_on_known_results(tmp_path, pcm):
    from ltoefg.data.pointcharge import ewald_efg, formal_charges
    from ltoefg.dft.report import pcm_vs_dft_table

    (tmp_path / P.name).mkdir()
    for sid in (40, 952):
        atoms = pcm.atoms(sid)
        res = _fake_ok_result(atoms, 2.0 * atoms.arrays["efg"])  # "DFT" = 2 × PCM
        res["efg_pointcharge"] = ewald_efg(atoms, formal_charges(atoms)).tolist()
        results.write_json_atomic(tmp_path / P.name / results.result_name("pcm-v2", sid), res)
    table = pcm_vs_dft_table(tmp_path, P.name, "pcm-v2")
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in table.splitlines()[4:9]}
    assert set(rows) == {"Li", "Li 8a", "Li 16d", "Ti", "O"}
    for cells in rows.values():
        r_vzz, slope = float(cells[1]), float(cells[4])
        assert r_vzz == pytest.approx(1.0) and slope == pytest.approx(2.0)
    assert "2 structures" in table and "largest difference 0.0e+00" in table


def test_cost_summary_of_known_results():
    from ltoefg.dft.report import cost_summary

    def res(status, steps, wall_s, cpu_s):
        run, host = {"nproc": 2}, {"cpu": "AMD EPYC"}
        return {
            "status": status,
            "scf_steps_total": steps,
            "wall_time_s_total": wall_s,
            "cpu_time_s": cpu_s,
            "run": run,
            "host": host,
        }

    assert cost_summary([res("failed", 9, 60.0, 1.0)]) == "no ok results yet"
    line = cost_summary(
        [res("ok", 40, 1200.0, 1800.0), res("ok", 60, 3600.0, 5400.0), res("failed", 1, 1.0, 1.0)]
    )
    assert line.startswith("2 ok results: SCF steps median 50 (range 40–60)")
    assert "wall time per structure median 40 min (range 20–60) on 2 MPI ranks" in line
    assert "last attempt median 1.00 h; CPU: AMD EPYC" in line
