#!/usr/bin/env python3
"""Time to the previous packet of one side's packets later in a burst, by
size range, in pcaps written by `spatgan bench fidelity --dump DIR`.

    scripts/later-packets.py DIR [NAME ...]     # default names: held-out gan markov

The side is the one that sends more packets in DIR/held-out.pcap (the
client on the Skype calls and pgbench), told by its source port. For each
file: per size range, the 10th, 50th and 90th percentiles of the time since
the previous packet (µs) and the count, the correlation of size and log
time, and the most common sizes of the side's later packets and of its
burst openers. Standard library only.
"""
import math
import struct
import sys

BINS = [0, 90, 100, 104, 108, 115, 130, 400, 800, 2000, 1 << 20]


def read(path):
    """(ns, source port, frame length) per frame of a pcap the writer made."""
    b = open(path, "rb").read()
    nano = struct.unpack("<I", b[:4])[0] == 0xA1B23C4D
    off, out = 24, []
    while off + 16 <= len(b):
        sec, frac, incl, orig = struct.unpack("<IIII", b[off:off + 16])
        off += 16
        fr = b[off:off + incl]
        off += incl
        l4 = 14 + ((fr[14] & 15) * 4 if struct.unpack(">H", fr[12:14])[0] == 0x0800 else 40)
        out.append((sec * 10**9 + (frac if nano else frac * 1000), struct.unpack(">H", fr[l4:l4 + 2])[0], orig))
    return out


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def main():
    d = sys.argv[1]
    names = sys.argv[2:] or ["held-out", "gan", "markov"]
    held = read(f"{d}/held-out.pcap")
    ports = {}
    for _, p, _ in held:
        ports[p] = ports.get(p, 0) + 1
    side = max(ports, key=ports.get)
    for name in names:
        pk = read(f"{d}/{name}.pcap")
        rows = [(pk[i][2], (pk[i][0] - pk[i - 1][0]) / 1e3) for i in range(1, len(pk))
                if pk[i][1] == side and pk[i - 1][1] == side]
        xs, ys = [s for s, _ in rows], [math.log(max(t, 1)) for _, t in rows]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
        corr = cov / math.sqrt(sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys))
        print(f"{name}: {len(rows)} later packets of port {side}, corr(size, log time) {corr:.3f}")
        for what, keep in (("later", True), ("opening", False)):
            n = {}
            for i in range(1, len(pk)):
                if pk[i][1] == side and (pk[i - 1][1] == side) == keep:
                    n[pk[i][2]] = n.get(pk[i][2], 0) + 1
            top = sorted(n.items(), key=lambda kv: -kv[1])[:6]
            print(f"  most common sizes, {what}: " + ", ".join(f"{s} B x{c}" for s, c in top)
                  + f"; smallest size {min(n)} B x{n[min(n)]}")
        for lo, hi in zip(BINS, BINS[1:]):
            t = [dt for s, dt in rows if lo < s <= hi]
            if t:
                print(f"  size ({lo}, {hi}]: time p10 {pct(t, .1):8.0f}  p50 {pct(t, .5):8.0f}  p90 {pct(t, .9):8.0f} us, n {len(t)}")


if __name__ == "__main__":
    main()
