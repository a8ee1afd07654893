"""Training time of the issue-13 baselines per nucleus (SPEC §10: < 15 min on 2 cores).

λ-SOAP + LODE (``lode``) and Δ-learning on the point-charge prior (``delta``),
fitted on the training sites of the frozen ``random`` split of a registered
data set (default pcm-v2: point-charge labels, not DFT; the timings do not
depend on the labels) with fixed hyperparameters (the quick ones: cutoff 5 Å,
σ 0.4 Å, n_max 5, l_max 4, ζ 2, LODE σ 0.6 Å / radius 2 Å) and ``n_active``
active environments. Phases: λ-SOAP descriptors, the long-range part (LODE
coefficients, or the prior's three Ewald fields per structure), the fit.

Run the pytest-benchmark suite (2,000 ⁷Li training sites per model) with::

    python -m pytest benchmarks/bench_beyond.py --benchmark-enable -s

and the full-size figures (one nucleus, the whole training set: Li 10,496,
Ti 13,120, O 31,488 sites; one at a time, each in a fresh process) with::

    python benchmarks/bench_beyond.py --model lode --nucleus O [--n-active 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_baselines import _cpu_s  # noqa: E402

import ltoefg  # noqa: E402
from baselines.engine.features import compute_descriptors  # noqa: E402
from baselines.models.delta import DeltaDescriptors, FieldCache  # noqa: E402
from baselines.models.lode import LodeDescriptors, lode_coefficients  # noqa: E402
from baselines.runs import beyond  # noqa: E402
from baselines.runs import pipeline as P  # noqa: E402


def run_training(
    model: str,
    nucleus: str,
    n_train: int | None = None,
    n_active: int = 1000,
    dataset: str = "pcm-v2",
) -> dict:
    """Fit ``model`` on ``n_train`` (None: all) random-split training sites; timings in s."""
    ds = ltoefg.load(dataset)
    frames = ds.structures()
    ids = P.subsample(ds.split("random", nucleus).train, n_train, salt=7)
    data = P.nucleus_data(ds, ids, nucleus)
    hypers = dataclasses.replace(P.QUICK_HYPERS, n_active=n_active)
    lode = beyond.QUICK_LODE
    cpu0 = _cpu_s()
    t0 = time.perf_counter()
    base = vars(compute_descriptors(frames, data.centres, hypers.soap()))
    t1 = time.perf_counter()
    if model == "lode":
        desc = LodeDescriptors(**base, lode=lode_coefficients(frames, data.centres, lode))
    else:
        desc = DeltaDescriptors(**base, fields=FieldCache(frames).get(data.centres))
    t2 = time.perf_counter()
    fitted = beyond.make_model(model, hypers, lode).fit_descriptors(desc, data.efg)
    t3 = time.perf_counter()
    pred = fitted.predict_descriptors(desc.subset(np.arange(min(500, len(ids)))))
    return {
        "model": model,
        "nucleus": nucleus,
        "dataset": dataset,
        "n_train": int(ids.size),
        "n_active": n_active,
        "soap_descriptors_s": round(t1 - t0, 1),
        "long_range_s": round(t2 - t1, 1),
        "fit_s": round(t3 - t2, 1),
        "train_total_s": round(t3 - t0, 1),
        "train_cpu_s": round(_cpu_s() - cpu0, 1),
        "train_rmse_first_500": float(np.sqrt(np.mean((pred - data.efg[:500]) ** 2))),
    }


# --------------------------------------------------------------------------- pytest-benchmark


@pytest.mark.parametrize("model", beyond.KEYS)
def test_train_2000_li(benchmark, model: str) -> None:
    """Descriptors + long-range part + fit, 2,000 ⁷Li sites, 1,000 active environments."""
    result = benchmark.pedantic(run_training, args=(model, "Li", 2000), rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    assert result["n_train"] == 2000


# --------------------------------------------------------------------------- stand-alone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=beyond.KEYS, required=True)
    parser.add_argument("--nucleus", choices=("Li", "Ti", "O"), required=True)
    parser.add_argument("--n-train", type=int, default=None, help="default: all training sites")
    parser.add_argument("--n-active", type=int, default=1000)
    parser.add_argument("--dataset", default="pcm-v2")
    args = parser.parse_args(argv)
    result = run_training(args.model, args.nucleus, args.n_train, args.n_active, args.dataset)
    result["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)
    result["load_average_1min"] = os.getloadavg()[0]
    result["cores"] = os.cpu_count()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
