#!/usr/bin/env python3
"""Independent reference statistics for the sampler baselines.

Reads skype_eth_5.csv (CRAWDAD iitkgp/apptraffic, as converted by the SPATGAN
authors) with the csv module and numpy, builds bursts, burst rows and packet
rows by the definitions in features/replay.go (formerly trace/features.go) (written out again here, not
imported), and prints per-side mean / std (n-1) / min / max of:
  size   frame sizes of the side's packet rows
  dt_us  in-burst times (packet rows that are not first in their burst)
  count  burst lengths of the side's burst rows
  gap_us reply gaps of the side's burst rows
Server = 124.123.243.15, client = 192.168.1.133.

Usage: python3 make_reference.py ../../../shared/data/skype_eth_5.csv > skype5_stats.csv
"""
import csv
import sys
from datetime import datetime, timezone

import numpy as np

SERVER = "124.123.243.15"


def parse_ts_us(date, clock):
    if "." not in clock:
        clock += ".000000"
    hms, frac = clock.split(".")
    frac = (frac + "000000")[:6]
    dt = datetime.strptime(date + " " + hms, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * 1_000_000 + int(frac)


def main(path):
    pk = []  # (ts_us, size, side) side 0 server, 1 client
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            side = 0 if row["src"] == SERVER else 1
            pk.append((parse_ts_us(row["date"], row["time"]), int(row["size"]), side))
    bursts = []  # (side, start, end, clocksteps)
    i = 0
    while i < len(pk):
        j = i
        steps = 0
        while j < len(pk) and pk[j][2] == pk[i][2]:
            if j > i and pk[j][0] < pk[j - 1][0]:
                steps += 1
            j += 1
        bursts.append((pk[i][2], i, j, steps))
        i = j
    out = {}
    for side in (0, 1):
        sizes, dts, counts, gaps = [], [], [], []
        for k in range(1, len(bursts)):
            s, a, b, _ = bursts[k]
            os_, oa, ob, osteps = bursts[k - 1]
            if s != side or osteps > 0:
                continue
            gap = pk[a][0] - pk[ob - 1][0]
            if gap >= 0:
                counts.append(b - a)
                gaps.append(gap)
            for p in range(a, b):
                d = pk[p][0] - pk[p - 1][0]
                if d < 0:
                    continue
                sizes.append(pk[p][1])
                if p != a:
                    dts.append(d)
        for name, v in (("size", sizes), ("dt_us", dts), ("count", counts), ("gap_us", gaps)):
            v = np.asarray(v, dtype=float)
            out[(side, name)] = (len(v), v.mean(), v.std(ddof=1), v.min(), v.max())
    print("side,feature,n,mean,std,min,max")
    for (side, name), (n, mean, std, lo, hi) in out.items():
        print(f"{'server' if side == 0 else 'client'},{name},{n},{mean:.10g},{std:.10g},{lo:.10g},{hi:.10g}")


if __name__ == "__main__":
    main(sys.argv[1])
