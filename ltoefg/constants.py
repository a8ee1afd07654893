"""Names shared by the data files, the evaluator, the report and the leaderboard.

Every key that appears in a file, a report or a table is spelled here once, so
the writer and the reader of a name cannot drift apart.
"""

from __future__ import annotations

#: Nuclei of the LTO-EFG data set, in the order used everywhere.
NUCLEI: tuple[str, ...] = ("Li", "Ti", "O")

#: Unit of stored EFG tensors.
EFG_UNIT = "V/Angstrom^2"

#: One atomic unit of electric-field gradient in V/Å² (E_h / (e a0^2)); CASTEP
#: ``.magres`` files store EFGs in this unit.
EFG_AU_IN_V_PER_A2 = 97.1736242

#: Default eigenvalue-reassignment tolerance τ (fraction of |Vzz_ref|).
DEFAULT_TAU = 0.1

#: SAE-NMR experimental resolution used for the ωQ success fraction, kHz.
OMEGA_Q_THRESHOLD_KHZ = 10.0

# --- data set / splits ------------------------------------------------------
DEFAULT_DATASET = "pcm-v2"
SPLITS: tuple[str, ...] = ("random", "structure", "ordering")
N_FOLDS = 5
TEST_FRACTION = 0.2

# --- site table columns (``Dataset.sites``) ---------------------------------
COL_SITE_ID = "site_id"
COL_STRUCTURE = "structure"
COL_ATOM_INDEX = "atom_index"
COL_SPECIES = "species"
COL_WYCKOFF = "wyckoff"
SITE_COLUMNS: tuple[str, ...] = (
    COL_SITE_ID,
    COL_STRUCTURE,
    COL_ATOM_INDEX,
    COL_SPECIES,
    COL_WYCKOFF,
)

# --- observables (columns of ``ltoefg.nmr.observables``) --------------------
OBS_VZZ = "vzz"
OBS_ETA = "eta"
OBS_CQ_KHZ = "cq_khz"
OBS_CQ_TILDE = "cq_tilde"
OBS_ETA_TILDE = "eta_tilde"
OBS_THETA = "theta"
OBS_PHI = "phi"
OBS_OMEGA_Q_KHZ = "omega_q_khz"
OBS_QUATERNION: tuple[str, ...] = ("q_w", "q_x", "q_y", "q_z")
OBSERVABLE_COLUMNS: tuple[str, ...] = (
    OBS_VZZ,
    OBS_ETA,
    OBS_CQ_KHZ,
    OBS_CQ_TILDE,
    OBS_ETA_TILDE,
    OBS_THETA,
    OBS_PHI,
    OBS_OMEGA_Q_KHZ,
    *OBS_QUATERNION,
)

# --- predictions.h5 (SPEC §6.1) ---------------------------------------------
ATTR_DATASET = "dataset"
ATTR_SPLIT = "split"
ATTR_MODEL = "model"
ATTR_KIND = "kind"
KIND_TENSOR = "tensor"
KIND_OBSERVABLES = "observables"
KINDS: tuple[str, ...] = (KIND_TENSOR, KIND_OBSERVABLES)
PRED_SITE_ID = "site_id"
PRED_EFG = "efg"
#: Datasets an observables submission must hold per nucleus.
PRED_OBSERVABLES_REQUIRED: tuple[str, ...] = (OBS_CQ_TILDE, OBS_ETA_TILDE, OBS_THETA, OBS_PHI)
#: Optional per-site sign of Vzz (±1) in an observables submission (v2): ωQ derived
#: from C̃Q, η̃, θ, φ needs it; without it Vzz > 0 is assumed.
PRED_SIGN_VZZ = "sign_vzz"
#: Datasets an observables submission may hold per nucleus.
PRED_OBSERVABLES_OPTIONAL: tuple[str, ...] = (OBS_OMEGA_Q_KHZ, PRED_SIGN_VZZ)

# --- report keys (SPEC §6.3) -------------------------------------------------
R_N = "n"
R_MAE_CQ_TILDE = "mae_cq_tilde"
R_MAE_ETA_TILDE = "mae_eta_tilde"
R_MAE_THETA_DEG = "mae_theta_deg"
R_MAE_PHI_DEG = "mae_phi_deg"
R_MAE_THETA_DEG_REASSIGNED = "mae_theta_deg_reassigned"
R_MAE_PHI_DEG_REASSIGNED = "mae_phi_deg_reassigned"
R_FRAC_REASSIGNED = "frac_reassigned"
R_MEAN_XI = "mean_xi"
R_MAE_XI = "mae_xi"
R_MEAN_XI_REASSIGNED = "mean_xi_reassigned"
R_MEDIAN_MISORIENTATION_DEG = "median_misorientation_deg"
R_MAE_OMEGA_Q_KHZ = "mae_omega_q_khz"
R_FRAC_OMEGA_Q_WITHIN = "frac_omega_q_within_10khz"
R_MAE_VIJ = "mae_vij"
R_RMSE_VIJ = "rmse_vij"
R_R_CQ_TILDE = "r_cq_tilde"
R_R_ETA_TILDE = "r_eta_tilde"
R_R_THETA = "r_theta"
R_R_PHI = "r_phi"
R_R_OMEGA_Q = "r_omega_q"
R_W1_CQ_TILDE = "w1_cq_tilde"
R_W1_ETA_TILDE = "w1_eta_tilde"
R_W1_THETA_DEG = "w1_theta_deg"
R_W1_PHI_DEG = "w1_phi_deg"
R_W1_OMEGA_Q_KHZ = "w1_omega_q_khz"
R_MAX_ASYMMETRY = "max_asymmetry"
R_MAX_ABS_TRACE = "max_abs_trace"
R_SCORE = "score"

#: Report schema version written by this code (top-level key ``report_version``).
#: 1: ωQ and Vij errors with the per-site s = sign(Vzz) flip, no reassigned ξ (a
#: report without ``report_version`` is version 1). 2: SPEC v2 signs, plain Eq. 6
#: Vij errors, ``mean_xi_reassigned``, correlations null where undefined.
REPORT_VERSION = 2
#: Report versions the leaderboard can render.
REPORT_VERSIONS: tuple[int, ...] = (1, 2)

#: Per-nucleus report keys, in the order of SPEC §6.3 (and of printed tables).
NUCLEUS_REPORT_KEYS: tuple[str, ...] = (
    R_N,
    R_MAE_CQ_TILDE,
    R_MAE_ETA_TILDE,
    R_MAE_THETA_DEG,
    R_MAE_PHI_DEG,
    R_MAE_THETA_DEG_REASSIGNED,
    R_MAE_PHI_DEG_REASSIGNED,
    R_FRAC_REASSIGNED,
    R_MEAN_XI,
    R_MAE_XI,
    R_MEAN_XI_REASSIGNED,
    R_MEDIAN_MISORIENTATION_DEG,
    R_MAE_OMEGA_Q_KHZ,
    R_FRAC_OMEGA_Q_WITHIN,
    R_MAE_VIJ,
    R_RMSE_VIJ,
    R_R_CQ_TILDE,
    R_R_ETA_TILDE,
    R_R_THETA,
    R_R_PHI,
    R_R_OMEGA_Q,
    R_W1_CQ_TILDE,
    R_W1_ETA_TILDE,
    R_W1_THETA_DEG,
    R_W1_PHI_DEG,
    R_W1_OMEGA_Q_KHZ,
    R_MAX_ASYMMETRY,
    R_MAX_ABS_TRACE,
    R_SCORE,
)

#: Per-nucleus keys of a version-1 report (no ``mean_xi_reassigned``).
NUCLEUS_REPORT_KEYS_V1: tuple[str, ...] = tuple(
    k for k in NUCLEUS_REPORT_KEYS if k != R_MEAN_XI_REASSIGNED
)


def nucleus_report_keys(version: int) -> tuple[str, ...]:
    """Per-nucleus report keys of report schema ``version`` (1 or 2)."""
    return NUCLEUS_REPORT_KEYS_V1 if version == 1 else NUCLEUS_REPORT_KEYS


#: Keys that need the full predicted tensor; null (never zero) for observables-only
#: submissions.
TENSOR_ONLY_KEYS: tuple[str, ...] = (
    R_MAE_THETA_DEG_REASSIGNED,
    R_MAE_PHI_DEG_REASSIGNED,
    R_FRAC_REASSIGNED,
    R_MEAN_XI,
    R_MAE_XI,
    R_MEAN_XI_REASSIGNED,
    R_MEDIAN_MISORIENTATION_DEG,
    R_MAE_VIJ,
    R_RMSE_VIJ,
    R_MAX_ASYMMETRY,
    R_MAX_ABS_TRACE,
    R_SCORE,
)

# top-level report keys
RT_DATASET = "dataset"
RT_SPLIT = "split"
RT_MODEL = "model"
RT_KIND = "kind"
RT_VERSION = "ltoefg_version"
#: Report schema version (:data:`REPORT_VERSION`); absent in version-1 reports.
RT_REPORT_VERSION = "report_version"
RT_TAU = "tau"
RT_NUCLEI = "nuclei"
RT_SCORE = "score"
RT_LABEL_METHOD = "label_method"

# --- evaluator report extras (beyond SPEC §6.3) ---------------------------------
RT_LABEL_DESCRIPTION = "label_description"
RT_STRICT = "strict"
RT_SYMMETRY_RTOL = "symmetry_rtol"
#: nucleus -> number of predicted tensors outside the symmetric-traceless tolerance
#: (projected before scoring); None for observables submissions.
RT_N_PROJECTED = "n_projected"
#: nucleus -> where the predicted ωQ came from (one of :data:`OMEGA_Q_SOURCES`).
RT_OMEGA_Q_SOURCE = "omega_q_source"
OMEGA_Q_FROM_TENSOR = "tensor"
OMEGA_Q_SUBMITTED = "submitted"
OMEGA_Q_DERIVED_SIGNED = "derived, sign_vzz given"
OMEGA_Q_DERIVED_ASSUMED = "derived, Vzz > 0 assumed"
OMEGA_Q_SOURCES: tuple[str, ...] = (
    OMEGA_Q_FROM_TENSOR,
    OMEGA_Q_SUBMITTED,
    OMEGA_Q_DERIVED_SIGNED,
    OMEGA_Q_DERIVED_ASSUMED,
)
#: Prefix of every DFT label method (``dft-castep-gipaw``); anything else is not DFT.
LABEL_METHOD_DFT_PREFIX = "dft"

# --- leaderboard entries (SPEC §8) ---------------------------------------------
LB_SCHEMA = "schema"
LB_SCHEMA_VERSION = "ltoefg-leaderboard-entry/1"
LB_MODEL = "model"
LB_CODE_VERSION = "code_version"
LB_HYPERPARAMETERS = "hyperparameters"
LB_N_TRAIN = "n_train"
LB_TRAIN_WALL_TIME_S = "train_wall_time_s"
LB_PREDICT_WALL_TIME_S = "predict_wall_time_s"
LB_MACHINE = "machine"
LB_DATE = "date"
LB_NOTES = "notes"
LB_REPORT = "report"
# optional entry fields (SPEC §8 v2; entries without them stay valid)
#: Where the model's code is: an http(s) URL or a path inside this repository.
LB_CODE_URL = "code_url"
#: The model in words: a paper reference or free text.
LB_DESCRIPTION = "description"
#: Fitted parameters: one integer, or nucleus -> integer.
LB_N_PARAMETERS = "n_parameters"
#: How many times the model was run (CV folds or seeds) for :data:`LB_RUNS`.
LB_N_RUNS = "n_runs"
#: Spread of the headline metrics over those runs (mean, std and per run).
LB_RUNS = "runs"
RUNS_OVER = "over"
RUNS_OVER_FOLDS = "folds"
RUNS_OVER_SEEDS = "seeds"
RUNS_OVER_CHOICES: tuple[str, ...] = (RUNS_OVER_FOLDS, RUNS_OVER_SEEDS)
RUNS_PROTOCOL = "protocol"
RUNS_NUCLEI = "nuclei"
RUNS_MEAN = "mean"
RUNS_STD = "std"
RUNS_PER_RUN = "per_run"
#: Metrics the baselines record per run (report keys; any per-nucleus report key but
#: ``n`` is accepted in an entry).
RUN_HEADLINE_KEYS: tuple[str, ...] = (
    R_SCORE,
    R_MAE_CQ_TILDE,
    R_MAE_ETA_TILDE,
    R_MAE_OMEGA_Q_KHZ,
)
LB_RESULTS_START = "<!-- results:start -->"
LB_RESULTS_END = "<!-- results:end -->"

# --- trajectory predictions (ltoefg.application.trajectory_file) -------------
#: Value of the root attribute :data:`TRAJ_ATTR_FORMAT` of a trajectory-prediction file.
TRAJ_FORMAT = "ltoefg-trajectory-efg"
#: Layout version of that file; a reader refuses any other.
TRAJ_FORMAT_VERSION = 1
#: (frames, sites, 3, 3) float64 EFG tensors in the structures' frame, V/Å².
TRAJ_EFG = "efg"
#: (frames, sites) float64 ωQ/2π in kHz with B0 along :data:`TRAJ_ATTR_B0`.
TRAJ_OMEGA_Q_KHZ = "omega_q_khz"
#: (sites,) int64 atom index of each site in every frame.
TRAJ_ATOM_INDEX = "atom_index"
#: (sites,) Wyckoff label of each site, where the first frame has them.
TRAJ_WYCKOFF = "wyckoff"
#: (chunks,) uint8 done-mask: 1 once a chunk's frames are written and flushed.
TRAJ_CHUNK_DONE = "chunk_done"
TRAJ_ATTR_FORMAT = "format"
TRAJ_ATTR_VERSION = "format_version"
TRAJ_ATTR_NUCLEUS = "nucleus"
#: Unit vector of B0 in the structures' Cartesian frame.
TRAJ_ATTR_B0 = "b0_direction"
#: Frames per chunk (the last chunk may be shorter).
TRAJ_ATTR_CHUNK = "chunk_frames"
#: Time between frames in seconds (NaN where not given).
TRAJ_ATTR_FRAME_INTERVAL = "frame_interval_s"
#: JSON: what makes two runs the same (a run resumes only into a file of the same run).
TRAJ_ATTR_RUN = "run"
#: JSON: model file and training labels, trajectory file, code version, times.
TRAJ_ATTR_PROVENANCE = "provenance"
