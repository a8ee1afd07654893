"""Hypothesis: random HDF5 submissions (link types, storage layouts, dtypes, declared shapes).

Each example builds a tensor submission from scratch, drawing per member
(``site_id`` and ``efg`` of each nucleus) how it is linked, how it is stored,
its dtype and its declared shape. Whatever is drawn, the evaluator must

* score it or refuse it with one sentence that starts with the file name;
* refuse it whenever any member is not self-contained or is oversized;
* score it whenever every member is safe and well-formed;
* never open the FIFO that stands in for "a file outside the submission"
  (:class:`hostile.Tripwire`), nor any other file of the example's folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hostile import Tripwire, make_fifo, python_opens
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_evaluate import build_dataset_file, perfect

import ltoefg
from ltoefg import constants as C
from ltoefg.errors import SubmissionError

# repeated entries weight the draws towards well-formed members, so both outcomes occur
LINKS = ("hard",) * 6 + ("soft-out", "soft-dangling", "external-fifo", "external-reference")
LAYOUTS = ("contiguous", "chunked", "gzip", "compact") * 2 + (
    "external-fifo",
    "virtual-fifo",
    "virtual-ref",
)
DTYPES = ("native",) * 5 + ("float32", "int32", "complex64", "bool", "bytes", "compound")
SHAPES = ("exact",) * 6 + ("fewer", "more", "flat", "huge")
SAFE_LINKS = {"hard"}
SAFE_LAYOUTS = {"contiguous", "chunked", "gzip", "compact"}


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> ltoefg.Dataset:
    path = build_dataset_file(tmp_path_factory.mktemp("hostile") / "ref.h5", n_structures=12)
    return ltoefg.load(path)


def _values(base: np.ndarray, name: str, dtype: str, shape: str) -> np.ndarray:
    a = base
    if shape == "fewer":
        a = a[:-2]
    elif shape == "more":
        a = np.concatenate([a, a[:3]])
    elif shape == "flat":
        a = a.reshape(a.shape[0], -1) if a.ndim > 1 else a[:, None]
    if dtype == "float32":
        return a.astype(np.float32)
    if dtype == "int32":
        return a.astype(np.int32)
    if dtype == "complex64":
        return a.astype(np.complex64)
    if dtype == "bool":
        return a != 0
    if dtype == "bytes":
        return a.astype("S24")
    if dtype == "compound":
        out = np.zeros(a.shape, dtype=[("v", a.dtype)])
        out["v"] = a
        return out
    return a


def _store(g: h5py.Group, name: str, a: np.ndarray, layout: str, shape: str, ref: Path) -> None:
    folder = Path(g.file.filename).parent
    if shape == "huge":  # declared, never stored
        g.create_dataset(name, shape=(10_000_000, *a.shape[1:]), dtype=a.dtype, chunks=True)
        return
    if layout == "chunked":
        g.create_dataset(name, data=a, chunks=True)
    elif layout == "gzip":
        g.create_dataset(name, data=a, compression="gzip", shuffle=True)
    elif layout == "compact" and a.nbytes < 60_000 and a.size:
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        tid = h5py.h5t.py_create(a.dtype, logical=True)
        dset = h5py.h5d.create(g.id, name.encode(), tid, h5py.h5s.create_simple(a.shape), dcpl=dcpl)
        dset.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(a))
    elif layout == "external-fifo":
        fifo = make_fifo(folder)
        g.create_dataset(
            name, shape=a.shape, dtype=a.dtype, external=[(str(fifo), 0, max(a.nbytes, 1))]
        )
    elif layout in ("virtual-fifo", "virtual-ref"):
        src_file, src_name = (
            (str(make_fifo(folder)), "x") if layout == "virtual-fifo" else (str(ref), "sites/efg")
        )
        layout_ = h5py.VirtualLayout(shape=a.shape, dtype=a.dtype)
        layout_[:] = h5py.VirtualSource(src_file, src_name, shape=a.shape)
        g.create_virtual_dataset(name, layout_)
    else:
        g.create_dataset(name, data=a)


def _member_is_safe(link: str, layout: str, dtype: str, shape: str, name: str) -> bool:
    ok_dtype = dtype == "native" or (dtype == "float32" and name == C.PRED_EFG)
    return link in SAFE_LINKS and layout in SAFE_LAYOUTS and ok_dtype and shape == "exact"


def _unsafe(link: str, layout: str, shape: str) -> bool:
    """Members that must be refused whatever else holds (outside reads, huge declarations)."""
    return link not in SAFE_LINKS or layout not in SAFE_LAYOUTS or shape == "huge"


member_choice = st.tuples(
    st.sampled_from(LINKS),
    st.sampled_from(LAYOUTS),
    st.sampled_from(DTYPES),
    st.sampled_from(SHAPES),
)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    choices=st.dictionaries(
        st.tuples(st.sampled_from(C.NUCLEI), st.sampled_from((C.PRED_SITE_ID, C.PRED_EFG))),
        member_choice,
        max_size=3,
    ),
    external_group=st.sampled_from((None,) * 9 + C.NUCLEI),
)
def test_random_hdf5_submissions_score_or_refuse_without_outside_reads(
    ds: ltoefg.Dataset,
    choices: dict[tuple[str, str], tuple[str, str, str, str]],
    external_group: str | None,
) -> None:
    sub = perfect(ds)
    default = ("hard", "contiguous", "native", "exact")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "sub.h5"
        expect_refusal = external_group is not None
        all_safe = external_group is None
        with h5py.File(path, "w") as f:
            for attr in ("dataset", "split", "model", "kind"):
                f.attrs[attr] = np.bytes_(sub[attr].encode())
            for nucleus in C.NUCLEI:
                if nucleus == external_group:
                    f[nucleus] = h5py.ExternalLink(str(make_fifo(folder)), f"/{nucleus}")
                    continue
                g = f.create_group(nucleus)
                for name in (C.PRED_SITE_ID, C.PRED_EFG):
                    link, layout, dtype, shape = choices.get((nucleus, name), default)
                    a = _values(sub[nucleus][name], name, dtype, shape)
                    expect_refusal |= _unsafe(link, layout, shape)
                    all_safe &= _member_is_safe(link, layout, dtype, shape, name)
                    if link == "hard":
                        _store(g, name, a, layout, shape, ds.path)
                    elif link == "soft-out":
                        other = "Ti" if nucleus != "Ti" else "O"
                        g[name] = h5py.SoftLink(f"/{other}/{name}")
                    elif link == "soft-dangling":
                        g[name] = h5py.SoftLink(f"/{nucleus}/nothing-here")
                    elif link == "external-fifo":
                        g[name] = h5py.ExternalLink(str(make_fifo(folder)), "/x")
                    else:
                        g[name] = h5py.ExternalLink(str(ds.path), "/sites/efg")
        fifo = make_fifo(folder)
        with Tripwire([fifo]) as wire, python_opens() as opened:
            try:
                rep = ltoefg.evaluate(path, dataset=ds)
            except SubmissionError as exc:
                message = str(exc)
                assert "\n" not in message and message.startswith(str(path)), message
                assert not all_safe, message
                rep = None
        event("scored" if rep is not None else "refused")
        event(f"expected refusal: {expect_refusal}, all safe: {all_safe}")
        assert not wire.touched
        assert {o for o in opened if o.startswith(str(folder.resolve()))} <= {str(path.resolve())}
        if expect_refusal:
            assert rep is None
        if all_safe:
            assert rep is not None and rep[C.RT_SCORE] == pytest.approx(0.0, abs=1e-5)
