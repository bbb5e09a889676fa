"""PCA reference numbers for visualize's tests (run by hand at build time;
the Go tests never run Python).

    python3 make_pca_reference.py ../../../shared/data/skype_eth_5.csv > pca_reference.json

(numpy 2.4.6). It reads the CSV directly (not through the Go trace
package), builds the rows (cumulative time [s], size [B], merged delta
[us], first delta 0; and the variant with log10 of the delta, deltas below
1 us as 0), standardises them with the population standard deviation
(scikit-learn's StandardScaler), and takes the principal components from
numpy's SVD of the centred, scaled rows: variances s^2/(n-1), ratios
var/sum(var), each component's sign fixed so its largest-magnitude loading
is positive. It also projects a few rows on the first two components.
"""
import csv
import datetime
import json
import sys

import numpy as np

path = sys.argv[1]
ts, size = [], []
with open(path) as f:
    for row in csv.DictReader(f):
        t = row["time"]
        if "." not in t:
            t += ".000000"
        d = datetime.datetime.strptime(row["date"] + " " + t, "%Y-%m-%d %H:%M:%S.%f")
        # integer microseconds since the epoch, exact
        us = (d - datetime.datetime(1970, 1, 1)) // datetime.timedelta(microseconds=1)
        ts.append(us)
        size.append(int(row["size"]))
ts = np.array(ts, dtype=np.int64)
size = np.array(size, dtype=np.float64)
cum = (ts - ts[0]) / 1e6
delta = np.concatenate([[0.0], np.diff(ts).astype(np.float64)])


def reference(X):
    mean = X.mean(axis=0)
    scale = X.std(axis=0)  # ddof=0
    Z = (X - mean) / scale
    zc = Z - Z.mean(axis=0)
    _, s, vt = np.linalg.svd(zc, full_matrices=False)
    vecs = vt.T
    for c in range(vecs.shape[1]):
        if vecs[np.argmax(np.abs(vecs[:, c])), c] < 0:
            vecs[:, c] = -vecs[:, c]
    var = s**2 / (len(Z) - 1)
    rows = [0, 1, 2, 1000, len(Z) - 1]
    proj = (Z[rows] - Z.mean(axis=0)) @ vecs[:, :2]
    return {
        "n": len(Z),
        "scaler_mean": mean.tolist(),
        "scaler_scale": scale.tolist(),
        "vectors": vecs.tolist(),  # columns are components
        "vars": var.tolist(),
        "ratio": (var / var.sum()).tolist(),
        "projected_rows": rows,
        "projected": proj.tolist(),
    }


logd = np.where(delta < 1, 0.0, np.log10(np.maximum(delta, 1)))
out = {
    "source": "skype_eth_5.csv, every packet in file order",
    "raw_delta": reference(np.column_stack([cum, size, delta])),
    "log_delta": reference(np.column_stack([cum, size, logd])),
}
json.dump(out, sys.stdout, indent=1)
print()
