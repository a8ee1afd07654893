"""A chemiscope input of the application's predictions (paper Fig. 6b, interactively).

Needs the ``chemiscope`` package (``pip install 'ltoefg[baselines]'``), imported
only when called: :func:`chemiscope_target` checks the name and the package
before any work, :func:`write_chemiscope` writes the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ltoefg import nmr
from ltoefg.application.errors import ApplicationError
from ltoefg.application.predict import SitePredictions

if TYPE_CHECKING:
    import ase

__all__ = [
    "CHEMISCOPE_CUTOFF",
    "CHEMISCOPE_MEDIAN_SEMIAXIS",
    "chemiscope_target",
    "write_chemiscope",
]


#: Ellipsoid size in the chemiscope view: semi-axis (Å) of a site with the median |Vzz|.
CHEMISCOPE_MEDIAN_SEMIAXIS = 0.5
#: Radius of the environment drawn around a site in the chemiscope view, Å.
CHEMISCOPE_CUTOFF = 3.5


def chemiscope_target(path: str | PathLike) -> Path:
    """Check a chemiscope output name and that chemiscope is installed (before any work).

    Raises
    ------
    ApplicationError
        The name does not end with ``.json`` or ``.json.gz``, or chemiscope is missing.
    """
    out = Path(path)
    if not out.name.endswith((".json", ".json.gz")):
        raise ApplicationError(f"chemiscope file {out} must end with .json or .json.gz")
    try:
        import chemiscope  # noqa: F401
    except ImportError:
        raise ApplicationError(
            "writing a chemiscope file needs the chemiscope package: "
            "pip install 'ltoefg[baselines]' (or pip install chemiscope)"
        ) from None
    return out


def write_chemiscope(
    path: str | PathLike,
    frames: Sequence[ase.Atoms],
    pred: SitePredictions,
    nucleus: str = "Li",
    description: str = "",
    ellipsoid_scale: float | None = None,
) -> Path:
    """Write a chemiscope input (``.json`` or ``.json.gz``) to explore the predictions.

    The structures, one environment per predicted site, per-site properties —
    ``omega_q_khz`` (ωQ/2π, kHz), ``region`` (text: the ωQ region of the
    classification, or ``unclassified``), ``cq_khz`` (signed, kHz), ``eta``,
    ``theta``/``phi`` (degrees, B0 in the PAS), the principal values ``vxx``,
    ``vyy``, ``vzz`` (V/Å², |Vxx| ≤ |Vyy| ≤ |Vzz|) and ``wyckoff`` where the input
    has it — and the EFG tensors as ellipsoid shapes named ``efg`` (semi-axes
    ``ellipsoid_scale`` × |principal value| along the principal axes, in the
    structures' Cartesian frame; atoms that were not predicted get none; the
    scale is appended to the description). The
    map shows ωQ against CQ coloured by region and the structure viewer colours
    the sites by region (the paper's Fig. 6b). Written with
    :func:`chemiscope.write_input`; open it at chemiscope.org or with
    ``chemiscope.show_input``.

    Parameters
    ----------
    path : str or path-like
        Ends with ``.json`` or ``.json.gz`` (gzip-compressed).
    frames : sequence of ase.Atoms
        The structures that were predicted (same order), Å.
    pred : SitePredictions
    nucleus : str
        The predicted nucleus (for names and the description).
    description : str
        Text shown in the viewer; say where the model's training labels came from.
    ellipsoid_scale : float, optional
        Å of ellipsoid semi-axis per V/Å²; default: the median |Vzz| of the
        predictions is drawn :data:`CHEMISCOPE_MEDIAN_SEMIAXIS` Å long.

    Returns
    -------
    pathlib.Path
    """
    out = chemiscope_target(path)
    import chemiscope

    tab = pred.table
    pas = nmr.principal_axes(pred.efg)
    if ellipsoid_scale is None:
        median = float(np.median(np.abs(pas.vzz))) if len(tab) else 0.0
        ellipsoid_scale = CHEMISCOPE_MEDIAN_SEMIAXIS / median if median > 0 else 1.0
    scale_text = f"EFG ellipsoids: {ellipsoid_scale:.4g} Å of semi-axis per V/Å² of |Vii|"
    names = [f"{k}: {r.lo:.0f} … {r.hi:.0f} kHz" for k, r in enumerate(pred.classification.regions)]
    region = [names[k] if k >= 0 else "unclassified" for k in tab["region"].to_numpy()]

    def atom(values: Any, units: str, text: str) -> dict[str, Any]:
        return {"target": "atom", "values": values, "units": units, "description": text}

    properties = {
        "omega_q_khz": atom(tab["omega_q_khz"].to_numpy(), "kHz", f"{nucleus} ωQ/2π, signed"),
        "region": atom(region, "", "ωQ region of the histogram classification"),
        "cq_khz": atom(tab["cq_khz"].to_numpy(), "kHz", "CQ, signed"),
        "eta": atom(tab["eta"].to_numpy(), "", "asymmetry parameter η"),
        "theta": atom(np.degrees(tab["theta"].to_numpy()), "deg", "polar angle of B0 in the PAS"),
        "phi": atom(np.degrees(tab["phi"].to_numpy()), "deg", "azimuth of B0 in the PAS"),
        **{
            name: atom(pas.eigenvalues[:, i], "V/Å²", f"EFG principal value {label}")
            for i, (name, label) in enumerate(
                (("vxx", "Vxx"), ("vyy", "Vyy"), ("vzz", "Vzz (|Vxx| ≤ |Vyy| ≤ |Vzz|)"))
            )
        },
    }
    if (tab["wyckoff"] != "").all():
        properties["wyckoff"] = atom(tab["wyckoff"].astype(str).tolist(), "", "Wyckoff site")
    # per-atom ellipsoids over every atom of every structure (chemiscope's layout);
    # V·V has the eigenvectors of V and eigenvalues V_i², so chemiscope's helper
    # (semi-axes √eigenvalue · scale) gives semi-axes |V_i| · scale
    offsets = np.concatenate([[0], np.cumsum([len(f) for f in frames])])
    ellipsoids: list[dict[str, Any]] = [{"semiaxes": [0.0, 0.0, 0.0]}] * int(offsets[-1])
    for (i, j), v in zip(pred.centres, pred.efg, strict=True):
        e = chemiscope.ellipsoid_from_tensor(v @ v, scale=float(ellipsoid_scale))
        ellipsoids[int(offsets[i] + j)] = {k: [float(x) for x in e[k]] for k in e}
    settings = chemiscope.quick_settings(
        x="omega_q_khz",
        y="cq_khz",
        map_color="region",
        structure_color="region",
        target="atom",
        structure_settings={"shape": ["efg"], "environments": {"activated": False}},
    )
    chemiscope.write_input(
        str(out),
        structures=[f.copy() for f in frames],
        metadata={
            "name": f"{nucleus} ωQ of {len(frames)} structures ({len(tab)} sites)",
            "description": f"{description}\n{scale_text}" if description else scale_text,
        },
        properties=properties,
        environments=[(int(i), int(j), CHEMISCOPE_CUTOFF) for i, j in pred.centres],
        shapes={"efg": {"kind": "ellipsoid", "parameters": {"global": {}, "atom": ellipsoids}}},
        settings=settings,
    )
    return out
