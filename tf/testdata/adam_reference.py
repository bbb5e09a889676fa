#!/usr/bin/env python3
"""Independent float64 reference for tf/adam_test.go.

Problem: least squares with a fixed batch,
    loss(W, b) = mean((x @ W + b - t) ** 2)    (mean over all 4x2 elements)
whose gradient is worked out here by hand (not by TensorFlow):
    r = x @ W + b - t
    dloss/dW = 2/(N*K) * x.T @ r,   dloss/db = 2/(N*K) * r.sum(axis=0)
Each step applies the ResourceApplyAdam update documented in tf/adam.go:
    m <- b1*m + (1-b1)*g;  v <- b2*v + (1-b2)*g^2
    var <- var - lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps)
starting from m = v = 0 and t = 1, 2, ...

Usage (writes the JSON to stdout):
    python3 tf/testdata/adam_reference.py > tf/testdata/adam_reference.json
"""
import json
import sys

import numpy as np

X = np.array([[0.5, -1.0, 2.0],
              [1.5, 0.25, -0.5],
              [-2.0, 1.0, 0.75],
              [0.1, -0.3, 1.2]])
T = np.array([[1.0, -0.5],
              [0.0, 2.0],
              [-1.5, 0.5],
              [0.25, 1.0]])
W0 = np.array([[0.3, -0.2],
               [0.1, 0.4],
               [-0.5, 0.25]])
B0 = np.array([0.05, -0.1])

CONFIGS = [
    # Keras' defaults.
    dict(name="keras_defaults", lr=0.01, beta1=0.9, beta2=0.999, epsilon=1e-7),
    # The WGAN-GP paper's betas with a large step, so that the path is long.
    dict(name="wgan_gp", lr=0.05, beta1=0.5, beta2=0.9, epsilon=1e-7),
]
STEPS = 10


def loss_and_grad(w, b):
    r = X @ w + b - T
    scale = 2.0 / r.size
    return float(np.mean(r ** 2)), scale * X.T @ r, scale * r.sum(axis=0)


def run(cfg):
    w, b = W0.copy(), B0.copy()
    mw, vw = np.zeros_like(w), np.zeros_like(w)
    mb, vb = np.zeros_like(b), np.zeros_like(b)
    b1, b2, lr, eps = cfg["beta1"], cfg["beta2"], cfg["lr"], cfg["epsilon"]
    steps = []
    for t in range(1, STEPS + 1):
        loss, gw, gb = loss_and_grad(w, b)
        lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        mw = b1 * mw + (1 - b1) * gw
        vw = b2 * vw + (1 - b2) * gw ** 2
        w = w - lr_t * mw / (np.sqrt(vw) + eps)
        mb = b1 * mb + (1 - b1) * gb
        vb = b2 * vb + (1 - b2) * gb ** 2
        b = b - lr_t * mb / (np.sqrt(vb) + eps)
        steps.append(dict(
            step=t,
            loss_before=loss,
            W=w.ravel().tolist(), b=b.tolist(),
            mW=mw.ravel().tolist(), vW=vw.ravel().tolist(),
            mb=mb.tolist(), vb=vb.tolist(),
        ))
    return dict(config=cfg, steps=steps)


def main():
    out = dict(
        generator="tf/testdata/adam_reference.py (numpy %s, float64)" % np.__version__,
        x=X.ravel().tolist(), x_shape=list(X.shape),
        t=T.ravel().tolist(), t_shape=list(T.shape),
        W0=W0.ravel().tolist(), W_shape=list(W0.shape),
        b0=B0.tolist(),
        runs=[run(c) for c in CONFIGS],
    )
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
