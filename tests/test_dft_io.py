"""DFT package without Elk: protocol, species files, elk.in writer ↔ reader, EFG.OUT and
INFO.OUT parsers (order, sign, units, untrusted files), results, selection, release, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from ase import Atoms

import ltoefg
from ltoefg.constants import EFG_AU_IN_V_PER_A2
from ltoefg.dft import compare, inputs, outputs, protocol, results, selection
from ltoefg.dft.errors import DftError, DftInputError, DftOutputError, ElkNotFoundError

P = protocol.PRODUCTION


@pytest.fixture(scope="module")
def pcm():
    return ltoefg.load("pcm-v2")


def _interleaved() -> Atoms:
    return Atoms(
        "OLiOTiLi",
        cell=np.diag([4.0, 5.0, 6.0]),
        scaled_positions=[[0, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5], [0.5, 0.5, 0.5]],
        pbc=True,
    )


def test_protocol_is_frozen_named_and_rendered():
    with pytest.raises(AttributeError):
        P.rgkmax = 7.0  # type: ignore[misc]
    with pytest.raises(DftInputError):
        P.replace(P.name, rgkmax=7.0)
    v = P.replace("test-r7", rgkmax=7.0, ngridk=(3, 3, 1))
    assert v.rgkmax == 7.0 and P.rgkmax == 6.0
    assert protocol.Protocol.from_dict(json.loads(json.dumps(v.to_dict()))) == v
    assert protocol.Protocol.from_dict(json.loads(json.dumps(P.to_dict()))) == P
    assert protocol.get_protocol("elk-pbe-v1") is P
    with pytest.raises(DftInputError, match="unknown DFT protocol"):
        protocol.get_protocol("nope")
    assert protocol.get_protocol(protocol.register_protocol(v).name) is v
    protocol.register_protocol(P.replace("test-r7", rgkmax=7.0, ngridk=(3, 3, 1)))  # same
    with pytest.raises(DftInputError, match="other settings"):
        protocol.register_protocol(P.replace("test-r7", rgkmax=8.0))
    del protocol.PROTOCOLS["test-r7"]
    with pytest.raises(DftInputError, match="lmaxi"):
        P.replace("x", lmaxi=1)
    blocks = P.elk_blocks()
    for needle in (
        "xctype\n  20\n",
        "lmaxi\n  2\n",
        "rgkmax\n  6.0\n",
        "ngridk\n  2  2  1\n",
        "vkloff\n  0.0  0.0  0.0\n",
        "stype\n  3\n",
        "swidth\n  0.005\n",
        "mixtype\n  3\n",
        "broydpm\n  0.1  0.05\n",
        "mixsdb\n  8\n",
        "nempty\n  4.0\n",
        "lmaxapw\n  8\n",
        "gmaxvr\n  12.0\n",
        "epspot\n  1e-06\n",
        "epsengy\n  1000000000.0\n",
        "maxscl\n  80\n",
        "nwrite\n  1\n",
    ):
        assert needle in blocks
    assert P.efg_stop.window == 3 and P.efg_stop.consecutive == 2
    assert P.efg_stop.tol("Li") == 0.02 and P.efg_stop.tol("Ti") == P.efg_stop.tol("O") == 0.5
    assert protocol.VALIDATION.efg_stop is None


def test_species_files_are_shipped_with_their_hashes(tmp_path):
    from ltoefg.dft.provenance import species_files

    files = species_files(P)
    assert [f["element"] for f in files] == ["Li", "Ti", "O", "Si", "N"]
    assert all(f["path"].startswith(str(protocol.SPECIES_DIR)) for f in files)
    for f in ("Li.in", "Ti.in", "O.in"):  # Elk's own species files, named inside
        assert (protocol.SPECIES_DIR / f).read_text().split()[0] == f"'{f[:-3]}'"
    changed = tmp_path / "species"
    changed.mkdir()
    for f in files:
        (changed / f["file"]).write_bytes((protocol.SPECIES_DIR / f["file"]).read_bytes())
    (changed / "Ti.in").write_text((changed / "Ti.in").read_text() + "\n")
    assert len(species_files(P, ["Li", "O"], changed)) == 2
    with pytest.raises(ElkNotFoundError, match="Ti.in: SHA-256"):
        species_files(P, None, changed)


def test_elk_in_round_trip_with_interleaved_species(pcm):
    atoms = _interleaved()
    text = inputs.write_elk_in(atoms, P, tasks=(0, 115), title="a test")
    sp = text.split("sppath\n")[1].splitlines()[0].strip()
    assert sp == f"'{protocol.SPECIES_DIR}/'"
    geom = inputs.parse_geometry(text)
    assert geom.symbols == ("O", "O", "Li", "Li", "Ti")  # species by first appearance
    order = inputs.elk_order(atoms.get_chemical_symbols())
    assert order.tolist() == [0, 2, 1, 4, 3]
    np.testing.assert_allclose(geom.cell, atoms.cell.array, atol=1e-12)
    np.testing.assert_allclose(geom.scaled_positions, atoms.get_scaled_positions()[order])
    assert "tasks\n  0\n  115\n" in text and "! a test" in text
    assert inputs.with_tasks(text, (1,)).count("tasks\n  1\n\n") == 1
    # a 42-atom LTO structure in mixed order
    lto = pcm.atoms(7)
    lto = lto[np.random.default_rng(0).permutation(len(lto))]
    g = inputs.parse_geometry(inputs.write_elk_in(lto, P))
    inputs.check_geometry(g, lto, "lto")
    # the read-back check catches a wrong order, a moved atom, another cell
    swapped = inputs.ElkGeometry(g.cell, g.symbols, g.scaled_positions[::-1])
    with pytest.raises(DftOutputError, match="positions differ"):
        inputs.check_geometry(swapped, lto, "x")
    # Elk's GEOMETRY.OUT may move the origin (findsymcrys): one rigid shift is accepted
    # there, and only there
    shifted = inputs.ElkGeometry(g.cell, g.symbols, g.scaled_positions + [0.3, -0.1, 0.7])
    inputs.check_geometry(shifted, lto, "x", allow_shift=True)
    with pytest.raises(DftOutputError, match="positions differ"):
        inputs.check_geometry(shifted, lto, "x")
    with pytest.raises(DftOutputError, match="positions differ"):
        inputs.check_geometry(swapped, lto, "x", allow_shift=True)
    with pytest.raises(DftOutputError, match="cell differs"):
        inputs.check_geometry(
            inputs.ElkGeometry(g.cell * 1.01, g.symbols, g.scaled_positions), lto, "x"
        )
    with pytest.raises(DftOutputError, match="atom order"):
        inputs.check_geometry(
            inputs.ElkGeometry(g.cell, g.symbols[::-1], g.scaled_positions), lto, "x"
        )


def test_elk_in_writer_refuses_bad_structures():
    with pytest.raises(DftInputError, match="no Elk species file for Na"):
        inputs.write_elk_in(Atoms("Na", cell=[3, 3, 3], pbc=True), P)
    with pytest.raises(DftInputError, match="periodic"):
        inputs.write_elk_in(Atoms("Li", cell=[3, 3, 3], pbc=False), P)
    with pytest.raises(DftInputError, match="no atoms"):
        inputs.write_elk_in(Atoms(cell=[3, 3, 3], pbc=True), P)


def _efg_out(tensors_elk_order: np.ndarray, species: list[str]) -> str:
    """Text in the layout of Elk 8.4's EFG.OUT (atoms grouped by species, atomic units)."""
    lines = ["", "(electric field gradient tensor is in Cartesian coordinates)", ""]
    count: dict[str, int] = {}
    for t, sp in zip(tensors_elk_order, species, strict=True):
        count[sp] = count.get(sp, 0) + 1
        is_ = list(dict.fromkeys(species)).index(sp) + 1
        lines += ["", f"Species :    {is_} ({sp}), atom :    {count[sp]}", "", " EFG tensor :"]
        lines += [" ".join(f"{v: .10E}" for v in row) for row in t]
        lines += [" trace :   0.0", " eigenvalues :", " 0 0 0", ""]
    return "\n".join(lines) + "\n"


def test_efg_out_restores_ase_order_physical_sign_and_units(tmp_path):
    atoms = _interleaved()
    symbols = atoms.get_chemical_symbols()
    rng = np.random.default_rng(11)
    truth = rng.normal(size=(len(atoms), 3, 3))
    truth = 0.5 * (truth + truth.transpose(0, 2, 1))  # V/Å², ase order, physical sign
    order = inputs.elk_order(symbols)
    elk_au = -truth[order] / EFG_AU_IN_V_PER_A2  # what Elk prints, in its order and sign
    text = _efg_out(elk_au, [symbols[i] for i in order])
    (tmp_path / "EFG.OUT").write_text(text)
    np.testing.assert_allclose(outputs.read_efg(tmp_path / "EFG.OUT", symbols), truth, rtol=1e-9)
    # untrusted: wrong count, NaN, a truncated file, a non-number, another species order
    cut = text[: text.rindex("EFG tensor")]
    bad = {
        "count": (cut, "4 EFG tensors for 5 atoms"),
        "nan": (text.replace(text.split("EFG tensor :\n")[1].split()[0], "NaN", 1), "NaN"),
        "trunc": (text[: text.rindex("EFG tensor") + 40], "EFG tensors for 5 atoms"),
        "word": (
            text.replace(text.split("EFG tensor :\n")[1].split()[0], "x1.0", 1),
            "not a number",
        ),
        "order": (text.replace("(O)", "(Q)", 1), "species order"),
    }
    for name, (t, msg) in bad.items():
        (tmp_path / name).write_text(t)
        with pytest.raises(DftOutputError, match=msg) as exc:
            outputs.read_efg(tmp_path / name, symbols)
        assert str(tmp_path / name) in str(exc.value)
    with pytest.raises(DftOutputError, match="cannot read"):
        outputs.read_efg(tmp_path / "missing", symbols)


INFO = """+----------------------------+
| Elk version 8.4.30 started |
+----------------------------+

+-------------------------------------------------+
| Ground-state run starting from atomic densities |
+-------------------------------------------------+

+--------------------+
| Loop number :    1 |
+--------------------+
 Fermi                       :     0.334771864470E-01
Estimated indirect band gap :   0.2195433795
Wrote STATE.OUT

+--------------------+
| Loop number :    2 |
+--------------------+
 Fermi                       :     0.372323127234E-01
Estimated indirect band gap :   0.2148537817
Wrote STATE.OUT

RMS change in Kohn-Sham potential (target) :    1.372714288     (  0.1000000000E-06)
Absolute change in total energy (target)   :   0.7901668806E-01 (   1000000000.    )

+--------------------+
| Loop number :    3 |
+--------------------+
 Fermi                       :     0.218056119660
Estimated indirect band gap :   0.6973651998E-01
Wrote STATE.OUT

RMS change in Kohn-Sham potential (target) :   0.4223614987E-07 (  0.1000000000E-06)

Convergence targets achieved

+------------------------------+
| Self-consistent loop stopped |
+------------------------------+

Wrote STATE.OUT

+----------------------------+
| Elk version 8.4.30 stopped |
+----------------------------+
"""


def test_info_out_scf_history(tmp_path):
    scf = outputs.parse_info(INFO)
    assert scf.version == "8.4.30" and scf.iterations == 3 and not scf.resumed
    assert scf.rms_dv == [1.372714288, 0.4223614987e-07] and scf.final_rms_dv == 0.4223614987e-07
    assert scf.converged and scf.stopped and scf.finished
    assert scf.fermi_ha == 0.218056119660 and scf.gap_ha == 0.6973651998e-01
    assert scf.gap_ev == pytest.approx(1.8976, abs=1e-4)  # rutile, PBE
    assert outputs.rms_by_loop(INFO) == {2: 1.372714288, 3: 0.4223614987e-07}
    running = INFO[: INFO.index("Convergence targets")]
    s = outputs.parse_info(running)
    assert s.iterations == 3 and not s.converged and not s.finished
    (tmp_path / "INFO.OUT").write_text(INFO.replace("0.218056119660", "NaN"))
    with pytest.raises(DftOutputError, match="INFO.OUT: a value is NaN"):
        outputs.read_info(tmp_path / "INFO.OUT")
    with pytest.raises(DftOutputError, match="not an Elk INFO.OUT"):
        outputs.parse_info("garbage")


def test_result_files_atomic_and_validated(tmp_path):
    obj = {"schema": results.RESULT_SCHEMA, "status": "failed", "reason": "x", "key": {}}
    path = results.write_json_atomic(tmp_path / "r.json", obj)
    assert results.read_result(path) == obj
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary left
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(DftOutputError, match="bad.json"):
        results.read_result(tmp_path / "bad.json")
    ok = dict(obj, status="ok", structure={"symbols": ["Li"]}, efg=[[[np.nan] * 3] * 3])
    results.write_json_atomic(tmp_path / "nan.json", ok)
    with pytest.raises(DftOutputError, match="finite"):
        results.read_result(tmp_path / "nan.json")
    results.write_json_atomic(tmp_path / "u.json", dict(obj, status="unconverged"))
    with pytest.raises(DftError, match="'unconverged', not usable"):
        results.result_efg(results.read_result(tmp_path / "u.json"))
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
        "elk_version": "8.4.30",
        "species": [
            {"element": s.element, "file": s.filename, "sha256": s.sha256} for s in P.species
        ],
        "efg": efg.tolist(),
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
    assert ds.label_method == DFT_LABEL_METHOD and "Elk 8.4.30" in ds.label_description
    assert list(ds.structure_table["structure"]) == [40, 952]
    assert ds.atoms(0).info["structure"] == 40
    np.testing.assert_allclose(ds.efg[:42], 2.0 * pcm.atoms(40).arrays["efg"])
    with pytest.raises(DftError, match="no ok result"):
        assemble(tmp_path, P, [0], name="dft-test")
    path = tmp_path / P.name / results.result_name("pcm-v2", 40)
    res = json.loads(path.read_text())
    res["protocol"]["rgkmax"] = 7.0  # same name, other settings
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
    env = dict(os.environ, PATH=str(tmp_path))  # no elk-lapw on PATH
    r = _cli(
        "dft", "run", "--ids", "0", "--out", str(tmp_path), "--scratch", str(tmp_path), env=env
    )
    assert r.returncode == 2 and "'elk-lapw' is not on PATH" in r.stderr
    r = _cli("dft", "status", "--ids", "0-3", "--out", str(tmp_path))
    assert r.returncode == 0 and "0 ok, 0 unconverged, 0 failed, 4 pending" in r.stdout
    r = _cli("dft", "input", "--structure", "5")
    assert r.returncode == 0 and "tasks\n  0\n" in r.stdout and "'Ti.in' : spfname" in r.stdout


def test_pcm_vs_dft_report_on_known_results(tmp_path, pcm):
    from ltoefg.dft.report import pcm_vs_dft_table

    (tmp_path / P.name).mkdir()
    for sid in (40, 952):
        atoms = pcm.atoms(sid)
        res = _fake_ok_result(atoms, 2.0 * atoms.arrays["efg"])  # "DFT" = 2 × PCM
        results.write_json_atomic(tmp_path / P.name / results.result_name("pcm-v2", sid), res)
    table = pcm_vs_dft_table(tmp_path, P.name, "pcm-v2")
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in table.splitlines()[4:9]}
    assert set(rows) == {"Li", "Li 8a", "Li 16d", "Ti", "O"}
    for cells in rows.values():
        r_vzz, slope = float(cells[1]), float(cells[4])
        assert r_vzz == pytest.approx(1.0) and slope == pytest.approx(2.0)
    assert "2 structures" in table


def test_cost_summary_of_known_results():
    from ltoefg.dft.report import cost_summary

    def res(status, steps, wall_s, gap_ha):
        return {
            "status": status,
            "scf_iterations": steps,
            "wall_time_s_total": wall_s,
            "gap_ha": gap_ha,
            "threads": 2,
            "host": {"cpu": "AMD EPYC"},
        }

    assert cost_summary([res("failed", 9, 60.0, 0.0)]) == "no ok results yet"
    line = cost_summary(
        [res("ok", 40, 1200.0, 0.01), res("ok", 60, 3600.0, 0.03), res("unconverged", 1, 1, 0)]
    )
    assert line.startswith("2 ok results: SCF iterations median 50 (range 40–60)")
    assert "wall time per structure median 40.0 min (range 20.0–60.0) on 2 OpenMP threads" in line
    assert "band gap median 0.54 eV (range 0.27–0.82); CPU: AMD EPYC" in line
