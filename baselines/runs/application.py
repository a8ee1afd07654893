"""The λ-SOAP side of the application, and its ``python -m baselines`` commands.

Everything that does not need the λ-SOAP model lives in :mod:`ltoefg.application`
(large models, prediction with any tensor model, classification, trajectories
and dynamics); this module keeps what does — loading and checking a saved
:class:`baselines.models.soap.TensorSoapModel` (:func:`load_tensor_model`) and
fitting one (:func:`fit_tensor_model`) — and the command-line glue of
``python -m baselines lto-models | fit-tensor-model | predict | trajectory |
dynamics | synthetic-trajectory`` (docs/application.md).

Model compatibility
-------------------
The model file stores its format version; :func:`baselines.models.soap.load_model`
refuses any other version, and this module turns that (and a model that is not
a λ-SOAP tensor model, or was not trained on the nucleus) into a one-sentence
error with exit status 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from baselines.cli import CommandError, command
from ltoefg import constants as C
from ltoefg.application.banner import figure_title
from ltoefg.application.chemiscope_view import chemiscope_target, write_chemiscope
from ltoefg.application.classify import (
    DEFAULT_BIN_WIDTH_KHZ,
    DEFAULT_MIN_COUNT,
    DEFAULT_N_REGIONS,
)
from ltoefg.application.dynamics import DEFAULT_TP_US, parse_time_s
from ltoefg.application.pointcharge_model import POINT_CHARGE_MODEL, PointChargeModel
from ltoefg.application.predict import (
    TensorModel,
    predict_structures,
    read_structures,
    write_outputs,
)

if TYPE_CHECKING:
    from baselines.models.soap import TensorSoapModel

__all__ = [
    "fit_tensor_model",
    "load_tensor_model",
]


def load_tensor_model(path: str | PathLike, nucleus: str = "Li") -> TensorSoapModel:
    """Load a λ-SOAP tensor model for ``nucleus``; refuse anything else in one sentence.

    Raises
    ------
    CommandError
        Missing/unreadable file, another model format version, not a
        :class:`~baselines.models.soap.TensorSoapModel`, or not trained on
        ``nucleus`` centres.
    """
    from ase.data import atomic_numbers

    from baselines.models.soap import TensorSoapModel, load_model

    p = Path(path)
    if not p.is_file():
        raise CommandError(f"model file {p} does not exist")
    try:
        model = load_model(p)
    except ValueError as exc:  # format version, not a model file, unknown kind
        raise CommandError(str(exc)) from None
    except (OSError, KeyError) as exc:
        raise CommandError(f"cannot read model file {p}: {exc}") from None
    if not isinstance(model, TensorSoapModel):
        raise CommandError(
            f"{p} holds a {type(model).__name__}; prediction of full EFG tensors needs a "
            "TensorSoapModel (λ-SOAP SA-GPR)"
        )
    z = atomic_numbers[nucleus]
    trained = model.centre_species_
    if trained is not None and trained.size and z not in trained.tolist():
        raise CommandError(
            f"{p} was trained on centres of atomic numbers {trained.tolist()}, not on {nucleus}"
        )
    return model


# --- sub-commands -------------------------------------------------------------


def _model_and_field_arguments(p: argparse.ArgumentParser) -> None:
    """``--model``, ``--nucleus`` and ``--b0``: shared by predict and trajectory."""
    p.add_argument(
        "--model",
        required=True,
        help=f"TensorSoapModel .npz file (model.save), or {POINT_CHARGE_MODEL!r} for the "
        "pcm-v2 point-charge labeller (no featomic; not DFT)",
    )
    p.add_argument("--nucleus", default="Li", choices=["Li", "Ti", "O"])
    p.add_argument(
        "--b0",
        nargs=3,
        type=float,
        default=[0.0, 0.0, 1.0],
        metavar=("X", "Y", "Z"),
        help="direction of B0 in the Cartesian frame (default: z)",
    )


def _model(name: str, nucleus: str) -> tuple[TensorModel, str, dict[str, Any]]:
    """(model, identity for resuming, provenance) of ``--model``."""
    if name == POINT_CHARGE_MODEL:
        return PointChargeModel(), POINT_CHARGE_MODEL, {"model": POINT_CHARGE_MODEL}
    model = load_tensor_model(name, nucleus)
    digest = hashlib.sha256(Path(name).read_bytes()).hexdigest() if Path(name).is_file() else name
    return model, f"sha256:{digest}", {"model": str(name), "model_sha256": digest}


def _predict_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("structures", help="any ase-readable structure file (all frames are used)")
    _model_and_field_arguments(p)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--index", default=":", help="ase frame selection, e.g. ':' or '::10'")
    p.add_argument(
        "--bin-width", type=float, default=DEFAULT_BIN_WIDTH_KHZ, help="histogram bin width, kHz"
    )
    p.add_argument("--regions", type=int, default=DEFAULT_N_REGIONS, help="number of ωQ regions")
    p.add_argument(
        "--min-count",
        type=int,
        default=DEFAULT_MIN_COUNT,
        help="regions grow down to this many sites per bin",
    )
    p.add_argument("--batch", type=int, default=10, help="structures per feature batch")
    p.add_argument("--title", default=None, help="histogram title (name the training labels)")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG")
    p.add_argument(
        "--chemiscope",
        metavar="FILE",
        default=None,
        help="also write a chemiscope input (.json or .json.gz): structures, per-site ωQ, "
        "region and EFG ellipsoids",
    )


@command(
    "predict",
    help="predict EFG tensors, ωQ and ωQ regions of every site of structures",
    arguments=_predict_arguments,
)
def _run_predict(args: argparse.Namespace) -> int:
    if args.chemiscope:
        chemiscope_target(args.chemiscope)
    model, _, _ = _model(args.model, args.nucleus)
    frames = read_structures(args.structures, args.index)
    pred = predict_structures(
        frames,
        model,
        args.nucleus,
        args.b0,
        args.bin_width,
        args.regions,
        args.min_count,
        args.batch,
        progress=True,
    )
    title = figure_title(model, args.nucleus, Path(args.model).name, args.title)
    paths = write_outputs(
        frames,
        pred,
        args.out,
        title=title,
        plot=not args.no_plot,
        metadata={"model": str(args.model), "structures": str(args.structures)},
    )
    if args.chemiscope:
        paths["chemiscope"] = write_chemiscope(
            args.chemiscope, frames, pred, args.nucleus, description=title
        )
    t = pred.timings
    print(
        f"{int(t['n_sites'])} {args.nucleus} sites in {int(t['n_structures'])} structures: "
        f"{t['features_and_prediction']:.1f} s features + prediction, "
        f"{len(pred.classification.regions)} regions, "
        f"{100 * pred.classification.fraction_classified:.1f} % classified"
    )
    for p in paths.values():
        print(f"wrote {p}")
    return 0


def _lto_models_arguments(p: argparse.ArgumentParser) -> None:
    from ltoefg.application.large_models import DEFAULT_MC_SEED, AnnealSchedule

    d = AnnealSchedule()
    p.add_argument("--n", type=int, default=20, help="number of structures to keep")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--seed", type=int, default=DEFAULT_MC_SEED)
    p.add_argument("--chains", type=int, default=d.n_chains, help="independent MC chains")
    p.add_argument("--anneal-sweeps", type=int, default=d.n_anneal_sweeps)
    p.add_argument("--sample-sweeps", type=int, default=d.n_sample_sweeps)
    p.add_argument("--kt-start", type=float, default=d.kt_start_ev, help="effective kT, eV")
    p.add_argument("--kt-sample", type=float, default=d.kt_sample_ev, help="effective kT, eV")
    p.add_argument(
        "--max-per-chain", type=int, default=1, help="kept structures per chain (0 = no limit)"
    )
    p.add_argument("--jobs", type=int, default=2, help="parallel processes")
    p.add_argument(
        "--rattle",
        type=float,
        default=0.0,
        help="Gaussian displacement of the kept structures, Å (default 0: ideal)",
    )


@command(
    "lto-models",
    help="Monte-Carlo 1512-atom Li4Ti5O12 models (lowest Ewald energies)",
    arguments=_lto_models_arguments,
)
def _run_lto_models(args: argparse.Namespace) -> int:
    from ltoefg.application.large_models import AnnealSchedule, generate_lto_models, write_models

    schedule = AnnealSchedule(
        kt_start_ev=args.kt_start,
        kt_sample_ev=args.kt_sample,
        n_anneal_sweeps=args.anneal_sweeps,
        n_sample_sweeps=args.sample_sweeps,
        n_chains=args.chains,
    )
    t0 = time.perf_counter()
    try:
        models = generate_lto_models(
            n_keep=args.n,
            schedule=schedule,
            seed=args.seed,
            max_per_chain=args.max_per_chain or None,
            n_jobs=args.jobs,
            progress=True,
            rattle_angstrom=args.rattle,
        )
    except (RuntimeError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    paths = write_models(models, args.out)
    e = models.energies_ev
    print(
        f"{len(models.structures)} structures, Ewald energy {e[0]:.3f} … {e[-1]:.3f} eV "
        f"({time.perf_counter() - t0:.0f} s)"
    )
    for p in paths:
        print(f"wrote {p}")
    return 0


def fit_tensor_model(
    dataset: str = C.DEFAULT_DATASET,
    nucleus: str = "Li",
    n_train: int = 3000,
    n_test: int = 2000,
    hypers: Any = None,
    seed: int = 20250906,
) -> tuple[TensorSoapModel, dict[str, Any]]:
    """Fit a λ-SOAP model on a seeded subset of the ``random`` split's training sites.

    Parameters
    ----------
    dataset : str
        Data-set version or path (:func:`ltoefg.load`).
    nucleus : str
        Centre species.
    n_train : int
        Training sites, drawn without replacement from the split's train ids.
    n_test : int
        Test sites (from the split's test ids) scored with :func:`ltoefg.metrics.report`.
    hypers : baselines.models.soap.Hypers, optional
        Default ``Hypers()`` (cutoff 5 Å, σ 0.4 Å, n_max 5, l_max 4, ζ 2,
        regularisation 1e-4, 1000 FPS active environments).
    seed : int
        Seed of the subset draws.

    Returns
    -------
    model : TensorSoapModel
    info : dict
        ``dataset``, ``label_method``, ``n_train``, ``n_test``, ``hypers``,
        ``fit_seconds`` and the test ``report`` (SPEC §6.3 keys).
    """
    import ltoefg
    from baselines.models.soap import Hypers, TensorSoapModel
    from ltoefg import metrics

    ds = ltoefg.load(dataset)
    train, test, _ = ds.split("random", nucleus)
    rng = np.random.default_rng(seed)
    tr = np.sort(rng.choice(train, size=min(n_train, len(train)), replace=False))
    te = np.sort(rng.choice(test, size=min(n_test, len(test)), replace=False))
    sites = ds.sites.set_index("site_id")
    frames = ds.structures()

    def centres(ids: NDArray[np.int64]) -> NDArray[np.int64]:
        return sites.loc[ids, ["structure", "atom_index"]].to_numpy().astype(np.int64)

    model = TensorSoapModel(hypers if hypers is not None else Hypers())
    t0 = time.perf_counter()
    model.fit(frames, centres(tr), ds.efg[tr])
    fit_s = time.perf_counter() - t0
    pred = model.predict(frames, centres(te))
    mu, sigma = ds.stats(nucleus)
    report = metrics.report(ds.efg[te], pred, nucleus, mu=mu, sigma=sigma)
    info = {
        "dataset": str(dataset),
        "label_method": getattr(ds, "label_method", None),
        "nucleus": nucleus,
        "n_train": int(len(tr)),
        "n_test": int(len(te)),
        "hypers": model.hypers.to_dict(),
        "fit_seconds": fit_s,
        "report": report,
    }
    model.training_data = {k: info[k] for k in ("dataset", "label_method", "nucleus", "n_train")}
    return model, info


def _fit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="model file to write (.npz)")
    p.add_argument("--dataset", default=C.DEFAULT_DATASET)
    p.add_argument("--nucleus", default="Li", choices=["Li", "Ti", "O"])
    p.add_argument("--n-train", type=int, default=3000)
    p.add_argument("--n-test", type=int, default=2000)
    p.add_argument("--n-active", type=int, default=1000)
    p.add_argument("--seed", type=int, default=20250906)


@command(
    "fit-tensor-model",
    help="fit a λ-SOAP EFG model on a subset of a data set's training sites and save it",
    arguments=_fit_arguments,
)
def _run_fit(args: argparse.Namespace) -> int:
    from baselines.models.soap import Hypers

    model, info = fit_tensor_model(
        args.dataset,
        args.nucleus,
        args.n_train,
        args.n_test,
        Hypers(n_active=args.n_active),
        args.seed,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    side = out.with_suffix(".json")
    side.write_text(json.dumps(info, indent=2, default=float) + "\n")
    rep = info["report"]
    print(
        f"{args.nucleus} model on {info['n_train']} {args.dataset} sites "
        f"({info['fit_seconds']:.0f} s); test ({info['n_test']} sites): "
        f"MAE ωQ {rep['mae_omega_q_khz']:.2f} kHz, "
        f"{100 * rep['frac_omega_q_within_10khz']:.1f} % within 10 kHz, score {rep['score']:.4f}"
    )
    print(f"wrote {out} and {side}")
    return 0


def _trajectory_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "trajectory",
        help="any ase-readable trajectory (extxyz, ase .traj, ...), read lazily; the atoms "
        "of the nucleus must keep their indices in every frame",
    )
    _model_and_field_arguments(p)
    p.add_argument(
        "--out", required=True, help="HDF5 file (.h5); a killed run resumes into it when rerun"
    )
    p.add_argument("--chunk", type=int, default=10, help="frames per task (default 10)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="address of a running Dask scheduler (tcp://host:8786); default: a LocalCluster",
    )
    p.add_argument(
        "--workers", type=int, default=None, help="LocalCluster worker processes (default: CPUs)"
    )
    p.add_argument("--serial", action="store_true", help="predict in this process, without Dask")
    p.add_argument(
        "--dt", default=None, help="time between frames, e.g. '1 ps' (recorded for dynamics)"
    )
    p.add_argument("--format", default=None, help="ase format name (default: from the file)")


@command(
    "trajectory",
    help="EFG tensors and ωQ of every site in every frame of a trajectory (Dask, resumable)",
    arguments=_trajectory_arguments,
)
def _run_trajectory(args: argparse.Namespace) -> int:
    from ltoefg.application.trajectory import predict_trajectory
    from ltoefg.application.trajectory_file import check_output

    check_output(args.out)
    if args.chunk < 1 or (args.workers is not None and args.workers < 1):
        raise CommandError("--chunk and --workers must be at least 1")
    if args.serial and args.scheduler:
        raise CommandError("--serial and --scheduler exclude each other")
    dt = parse_time_s(args.dt) if args.dt else None
    model, model_id, provenance = _model(args.model, args.nucleus)
    run = predict_trajectory(
        args.trajectory,
        model,
        args.out,
        nucleus=args.nucleus,
        b0_direction=args.b0,
        chunk=args.chunk,
        scheduler=args.scheduler,
        n_workers=args.workers,
        serial=args.serial,
        model_id=model_id,
        provenance=provenance,
        frame_interval_s=dt,
        fmt=args.format,
    )
    where = "in this process" if args.serial else f"on {args.scheduler or 'a LocalCluster'}"
    print(
        f"{run.n_frames} frames × {run.n_sites} {args.nucleus} sites: {run.chunks_computed} of "
        f"{run.n_chunks} chunks computed {where} ({run.chunks_done_before} already done) in "
        f"{run.seconds:.1f} s, {run.frames_per_second:.3g} frames/s"
    )
    print(f"wrote {run.out}")
    return 0


def _dynamics_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "files", nargs="+", help="files of the trajectory command (.h5); several are replicas"
    )
    p.add_argument("--out", default=None, help="folder for the tables (CSV, JSON)")
    p.add_argument("--plots", default=None, help="folder for the figures (PNG)")
    p.add_argument(
        "--tp-us",
        nargs="+",
        type=float,
        default=list(DEFAULT_TP_US),
        help="SAE evolution times t_p in µs (default: 2 5 10 20)",
    )
    p.add_argument(
        "--block", type=int, default=1, help="average ωQ over blocks of this many frames first"
    )
    p.add_argument("--max-lag", type=int, default=None, help="largest t_m in (block) frames")
    p.add_argument("--dt", default=None, help="time between frames, e.g. '1 ps' (overrides file)")


@command(
    "dynamics",
    help="residual ωQ, ωQ autocorrelation and SAE F2(tp, tm) from trajectory predictions",
    arguments=_dynamics_arguments,
)
def _run_dynamics(args: argparse.Namespace) -> int:
    from ltoefg.application.dynamics import analyse_files
    from ltoefg.application.dynamics_outputs import write_dynamics
    from ltoefg.io.outputs import check_dir_target

    if args.out is None and args.plots is None:
        raise CommandError("give --out DIR (tables) or --plots DIR (figures), or both")
    for folder, what in ((args.out, "tables"), (args.plots, "figures")):
        if folder is not None:
            check_dir_target(folder, what)
    dt = parse_time_s(args.dt) if args.dt else None
    report = analyse_files(args.files, args.tp_us, args.block, args.max_lag, dt)
    paths = write_dynamics(report, args.out, args.plots)
    av, cor = report.averages, report.correlations
    print(
        f"{len(report.atom_index)} {report.nucleus} sites in {len(report.files)} file(s): "
        f"median |residual ωQ/2π| {np.median(np.abs(av.residual_omega_q_khz)):.1f} kHz "
        f"(static {np.median(np.abs(report.static_omega_q_khz)):.1f} kHz); F2 at "
        f"t_p = {cor.tp_us[0]:g} µs from {cor.f2[0, 0]:.3f} to {cor.f2[0, -1]:.3f}"
    )
    for p in paths:
        print(f"wrote {p}")
    return 0


def _synthetic_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("structures", help="any ase-readable structure file (one trajectory per frame)")
    p.add_argument("--out", required=True, help="output folder (synthetic_NNN.extxyz)")
    p.add_argument("--frames", type=int, default=200, help="frames per trajectory")
    p.add_argument("--sigma", type=float, default=0.05, help="rms displacement per component, Å")
    p.add_argument("--tau", type=float, default=5.0, help="correlation time, frames")
    p.add_argument("--seed", type=int, default=20251127)
    p.add_argument("--index", default=":", help="ase frame selection of the structures")


@command(
    "synthetic-trajectory",
    help="synthetic (not MD) trajectories: Ornstein-Uhlenbeck displacements of structures",
    arguments=_synthetic_arguments,
)
def _run_synthetic(args: argparse.Namespace) -> int:
    from ltoefg.application.synthetic import write_ou_trajectory
    from ltoefg.io.outputs import check_dir_target

    if args.frames < 1 or args.tau <= 0 or args.sigma < 0:
        raise CommandError("need --frames ≥ 1, --tau > 0 and --sigma ≥ 0")
    out = check_dir_target(args.out, "synthetic trajectories")
    frames = read_structures(args.structures, args.index)
    out.mkdir(exist_ok=True)
    seeds = np.random.SeedSequence(args.seed).spawn(len(frames))
    for i, (atoms, seed) in enumerate(zip(frames, seeds, strict=True)):
        path = write_ou_trajectory(
            atoms, out / f"synthetic_{i:03d}.extxyz", args.frames, args.sigma, args.tau, seed
        )
        print(f"wrote {path}")
    print(
        f"{len(frames)} synthetic trajectories × {args.frames} frames (Ornstein-Uhlenbeck, "
        f"σ = {args.sigma} Å, τ = {args.tau} frames; not MD)"
    )
    return 0
