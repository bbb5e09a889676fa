#!/usr/bin/env python3
"""Reference values for the metrics package, computed independently with numpy/scipy.

Run from the repository root:

    python3 metrics/testdata/gen_reference.py > metrics/testdata/reference.json

Needs numpy and scipy (any recent version; the committed file was made with the
versions recorded in its "generator" field). Go tests only read the JSON; they
never run Python. Every input is drawn from a seeded numpy Generator and stored
in the JSON next to the expected values, so the Go side uses the same numbers.
"""
import json
import sys

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance

rng = np.random.default_rng(20240607)

# Lower edges of the fixed bins of shared/docs/fidelity.md; the last bin of each
# scheme is open to +inf, values below the first edge go to the first bin.
SIZE_LOWER = np.arange(0, 1530, 10, dtype=float)  # 0,10,...,1520: 152 bins + overflow
TIME_LOWER = np.array([0.0] + [10.0 ** (k / 10.0) for k in range(71)])  # us
for k in range(0, 71, 10):  # decade edges exactly
    TIME_LOWER[1 + k] = float(10 ** (k // 10))
BURST_LOWER = np.arange(1, 32, dtype=float)  # 1..30, then 31+
BINS = {"size": SIZE_LOWER, "time": TIME_LOWER, "burst": BURST_LOWER}


def hist(x, lower):
    # np.digitize with right=False gives i such that lower[i-1] <= x < lower[i].
    idx = np.digitize(x, lower, right=False) - 1
    idx = np.clip(idx, 0, len(lower) - 1)  # out-of-range values to the edge bins
    return np.bincount(idx, minlength=len(lower)).astype(float)


def jsd(x, y, lower):
    p = hist(x, lower)
    q = hist(y, lower)
    # scipy returns the Jensen-Shannon *distance*; the divergence is its square.
    return float(distance.jensenshannon(p / p.sum(), q / q.sum(), base=2) ** 2), p, q


def log_time(x):
    return np.log10(np.maximum(x, 1.0))


def acf(x, K):
    x = np.asarray(x, float)
    d = x - x.mean()
    den = np.dot(d, d)
    return np.array([np.dot(d[:-k], d[k:]) / den for k in range(1, K + 1)])


def summary(x):
    q = np.quantile(x, [0, 0.25, 0.5, 0.75, 1.0])  # linear interpolation (numpy default)
    return {
        "n": len(x), "min": q[0], "q1": q[1], "median": q[2], "q3": q[3], "max": q[4],
        "mean": float(np.mean(x)), "std": float(np.std(x, ddof=1)),
    }


def L(a):
    return [float(v) for v in a]


out = {"generator": "gen_reference.py numpy %s scipy %s" % (np.__version__, scipy.__version__)}

# --- two-sample distances -------------------------------------------------
dist_cases = []

def add_dist(name, kind, x, y):
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    j, p, q = jsd(x, y, BINS[kind])
    c = {
        "name": name, "kind": kind, "real": L(x), "syn": L(y),
        "ks": float(stats.ks_2samp(x, y).statistic),
        "w1": float(stats.wasserstein_distance(x, y)),
        "jsd": j, "hist_real": L(p), "hist_syn": L(q),
    }
    if kind == "time":
        c["w1_log"] = float(stats.wasserstein_distance(log_time(x), log_time(y)))
    dist_cases.append(c)

# continuous, no ties, unequal n
add_dist("normal_shift", "size", rng.normal(300, 80, 500), rng.normal(330, 100, 700))
# integer sizes with many ties, some synthetic values out of range (negative, >= 1520)
real_sz = np.concatenate([rng.choice([60, 64, 99, 104, 112], 600), rng.integers(100, 1450, 200)])
syn_sz = np.concatenate([rng.choice([60, 64, 104, 120], 450), rng.integers(-20, 1700, 150)])
add_dist("sizes_ties_out_of_range", "size", real_sz, syn_sz)
# identical values on both sides at the same points (ties across samples)
add_dist("ties_across", "size", rng.integers(0, 5, 300) * 10.0, rng.integers(1, 6, 200) * 10.0)
# times in microseconds: integer us, zeros, sub-microsecond, beyond 10 s
real_t = np.concatenate([np.round(rng.lognormal(9, 2, 900)), [0, 0, 0, 1, 10, 100, 1e7, 3e7]])
syn_t = np.concatenate([rng.lognormal(8.5, 2.5, 600), [0.25, 0.5, 0, -3, 5e7]])
add_dist("times_lognormal", "time", real_t, syn_t)
# burst lengths: geometric with 0 and > 30 values
add_dist("bursts_geometric", "burst", rng.geometric(0.3, 700), np.concatenate([rng.geometric(0.2, 400), [0, 0, 45, 120]]))
out["distances"] = dist_cases

# --- autocorrelation --------------------------------------------------------
def ar1(phi, n, noise):
    e = rng.normal(0, 1, n) if noise == "normal" else rng.exponential(1, n)
    x = np.empty(n)
    x[0] = e[0]
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x

acf_cases = []
for name, a, b in [
    ("ar1_0.7_vs_0.3", ar1(0.7, 600, "normal"), ar1(0.3, 500, "normal")),
    ("ar1_-0.5_vs_iid", ar1(-0.5, 400, "exp"), rng.exponential(1, 450)),
    ("sizes_ints", np.round(ar1(0.8, 300, "normal") * 50 + 300), np.round(ar1(0.6, 300, "normal") * 40 + 280)),
]:
    K = 10
    ra, rb = acf(a, K), acf(b, K)
    acf_cases.append({
        "name": name, "real": L(a), "syn": L(b), "max_lag": K,
        "acf_real": L(ra), "acf_syn": L(rb),
        "acf_error": float(np.sum((ra - rb) ** 2) / np.sum(ra ** 2)),
    })
out["acf"] = acf_cases

# --- Spearman ---------------------------------------------------------------
sp_cases = []
x = rng.normal(0, 1, 300)
sp_cases.append(("continuous", x, x + rng.normal(0, 1, 300)))
xi = rng.integers(1, 8, 400).astype(float)
sp_cases.append(("ties_both", xi, np.round(xi * 0.5 + rng.integers(0, 4, 400))))
xa = rng.geometric(0.3, 250).astype(float)
sp_cases.append(("negative_ties", xa, -xa + rng.normal(0, 2, 250)))
out["spearman"] = [
    {"name": n, "x": L(a), "y": L(b), "rho": float(stats.spearmanr(a, b).statistic),
     "ranks_x": L(stats.rankdata(a, method="average"))}
    for n, a, b in sp_cases
]

# --- quantiles and summaries -------------------------------------------------
ps = [0, 0.01, 0.1, 0.25, 1 / 3, 0.5, 0.75, 0.9, 0.99, 1]
q_cases = []
for name, x in [
    ("normal_401", rng.normal(10, 3, 401)),
    ("ints_ties_250", rng.integers(0, 20, 250).astype(float)),
    ("lognormal_1000", rng.lognormal(5, 2, 1000)),
    ("two_values", np.array([3.0, 7.0])),
]:
    q_cases.append({"name": name, "x": L(x), "p": ps,
                    "quantiles": L(np.quantile(x, ps)), "summary": summary(x)})
out["quantiles"] = q_cases

json.dump(out, sys.stdout, indent=None, separators=(",", ":"))
sys.stdout.write("\n")
