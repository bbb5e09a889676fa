"""Independent reference numbers for bench's fidelity protocol on skype_eth_5.

Reads ../../../shared/data/skype_eth_5.csv (server 124.123.243.15, client
192.168.1.133), splits it in time at 0.8 of its duration the way the project
defines the split (the training part is the longest prefix of the file whose
timestamps are all before start + int(0.8 * duration), in nanoseconds), and
computes, for the held-out part and the noise floor (training part against
held-out part), with numpy and scipy only:

  - packet counts of both parts, per direction;
  - two-sample KS statistics (scipy.stats.ks_2samp) of size, inter-arrival
    time (same side, negative values dropped) and burst length per direction;
  - the share of each side's training packets smaller than 70 bytes;
  - Spearman correlations (scipy.stats.spearmanr) of the held-out part between
    each burst and the other side's reply to it (reply gap, reply packets,
    reply bytes), per replying side.

Run from bench/testdata:  python3 gen_split_reference.py > split_reference.json
"""
import csv
import json
import datetime as dt
import numpy as np
from scipy import stats

SERVER, CLIENT = "124.123.243.15", "192.168.1.133"
rows = []
with open("../../../shared/data/skype_eth_5.csv") as f:
    for r in csv.DictReader(f):
        if {r["src"], r["dst"]} != {SERVER, CLIENT}:
            continue
        d = dt.datetime.strptime(r["date"] + " " + r["time"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.timezone.utc)
        ts = (int(d.timestamp()) * 1_000_000 + d.microsecond) * 1000  # ns, exact
        side = 0 if r["src"] == SERVER else 1
        rows.append((ts, int(r["size"]), side))

ts = np.array([r[0] for r in rows], dtype=np.int64)
size = np.array([r[1] for r in rows], dtype=np.int64)
side = np.array([r[2] for r in rows], dtype=np.int64)
start, dur = int(ts.min()), int(ts.max() - ts.min())
cut = start + int(0.8 * float(dur))
k = 0
while k < len(ts) and ts[k] < cut:
    k += 1


def part(i, j):
    return ts[i:j], size[i:j], side[i:j]


def iat(t, s, who):
    x = t[s == who]
    d = np.diff(x)
    return d[d >= 0] / 1e3


def bursts(t, z, s):
    out = []  # (side, count, bytes, first_ts, last_ts)
    for i in range(len(t)):
        if i == 0 or s[i] != s[i - 1]:
            out.append([int(s[i]), 0, 0, int(t[i]), int(t[i])])
        b = out[-1]
        b[1] += 1
        b[2] += int(z[i])
        b[4] = int(t[i])
    return out


train, test = part(0, k), part(k, len(ts))
ref = {"train_packets": int(k), "test_packets": int(len(ts) - k), "cut_ns": cut, "sides": {}}
names = {0: "server_to_client", 1: "client_to_server"}
trb, teb = bursts(*train), bursts(*test)
for who in (0, 1):
    a_size, b_size = train[1][train[2] == who], test[1][test[2] == who]
    a_burst = [b[1] for b in trb if b[0] == who]
    b_burst = [b[1] for b in teb if b[0] == who]
    prev = [(teb[i - 1], teb[i]) for i in range(1, len(teb)) if teb[i][0] == who and teb[i - 1][0] != who]
    cnt = [p[1] for p, _ in prev]
    byt = [p[2] for p, _ in prev]
    gap = [b[3] - p[4] for p, b in prev]
    rcnt = [b[1] for _, b in prev]
    rbyt = [b[2] for _, b in prev]
    dep = {
        "n": len(prev),
        "count_gap": stats.spearmanr(cnt, gap).statistic,
        "bytes_gap": stats.spearmanr(byt, gap).statistic,
        "count_count": stats.spearmanr(cnt, rcnt).statistic,
        "bytes_bytes": stats.spearmanr(byt, rbyt).statistic,
    }
    ref["sides"][names[who]] = {
        "train_packets": int(len(a_size)),
        "test_packets": int(len(b_size)),
        "test_bursts": len(b_burst),
        "train_below_70": float(np.mean(a_size < 70)),
        "floor_ks_size": float(stats.ks_2samp(a_size, b_size).statistic),
        "floor_ks_iat": float(stats.ks_2samp(iat(train[0], train[2], who), iat(test[0], test[2], who)).statistic),
        "floor_ks_burst": float(stats.ks_2samp(a_burst, b_burst).statistic),
        "test_dependence": {k2: float(v) if k2 != "n" else v for k2, v in dep.items()},
    }
print(json.dumps(ref, indent=2, sort_keys=True))
