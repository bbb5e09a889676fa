"""Reference numbers for the tsne package tests (run by hand at build time;
the Go tests never run Python).

    python3 make_reference.py   # numpy 2.4.6, scipy 1.17.1, scikit-learn 1.9.1

Writes clusters.csv (the input set, 5 Gaussian clusters in 5-D, seed 7),
sklearn_exact.csv (scikit-learn's exact t-SNE layout of it) and
reference.json (trustworthiness and exact KL divergences computed by
scikit-learn for that layout and for scikit-learn's Barnes-Hut layout).
"""
import json

import numpy as np
from sklearn.manifold import TSNE, trustworthiness
from sklearn.manifold._t_sne import _joint_probabilities, _kl_divergence
from sklearn.metrics import pairwise_distances

rng = np.random.default_rng(7)
k, per, dim = 5, 80, 5
centres = rng.normal(0, 8, size=(k, dim))
X = np.vstack([c + rng.normal(0, 1, size=(per, dim)) for c in centres])
labels = np.repeat(np.arange(k), per)

with open("clusters.csv", "w") as f:
    f.write(",".join(f"x{j}" for j in range(dim)) + ",label\n")
    for row, lab in zip(X, labels):
        f.write(",".join(repr(float(v)) for v in row) + f",{lab}\n")


def exact_kl(X, Y, perplexity):
    D = pairwise_distances(X, squared=True)
    P = _joint_probabilities(D, perplexity, 0)
    kl, _ = _kl_divergence(Y.ravel(), P, 1, X.shape[0], 2, compute_error=True)
    return float(kl)


ref = {}
ex = TSNE(n_components=2, perplexity=30, method="exact", init="pca",
          learning_rate="auto", max_iter=1000, random_state=0).fit(X)
Yex = ex.embedding_
with open("sklearn_exact.csv", "w") as f:
    f.write("y0,y1\n")
    for row in Yex:
        f.write(f"{float(row[0])!r},{float(row[1])!r}\n")
ref["sklearn_exact"] = {
    "trustworthiness_k10": float(trustworthiness(X, Yex, n_neighbors=10)),
    "exact_kl_perplexity30": exact_kl(X, Yex, 30),
    "exact_kl_perplexity10": exact_kl(X, Yex, 10),
    "sklearn_reported_kl": float(ex.kl_divergence_),
}
bh = TSNE(n_components=2, perplexity=30, method="barnes_hut", angle=0.5,
          init="pca", learning_rate="auto", max_iter=1000, random_state=0).fit(X)
Ybh = bh.embedding_
ref["sklearn_barnes_hut"] = {
    "trustworthiness_k10": float(trustworthiness(X, Ybh, n_neighbors=10)),
    "exact_kl_perplexity30": exact_kl(X, Ybh, 30),
}
with open("reference.json", "w") as f:
    json.dump(ref, f, indent=2)
    f.write("\n")
print(json.dumps(ref, indent=2))
