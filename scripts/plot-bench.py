#!/usr/bin/python3
"""Turns sotto-bench JSON (and optionally bench-peers.sh JSON) into a PNG.

  scripts/plot-bench.py RESULTS.json [MORE.json ...] [--peers PEERS.json] -o docs/bench.png

Several sotto-bench files (one per scenario run) are merged; a later file's
scenario of the same name wins.

Left: durable writes per second (ingest vs the same-run RocksDB ceiling and,
with --peers, Redis and PostgreSQL), depth, drain. Right: latencies (ms).
Metrics a run does not have are left out.
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def scenarios(doc):
    return {s["scenario"]: s for s in doc.get("scenarios", [])}


def metric(s, name):
    v = s.get("metrics", {}).get(name) if s else None
    return v if isinstance(v, (int, float)) else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="+")
    ap.add_argument("--peers")
    ap.add_argument("-o", "--output", default="bench.png")
    args = ap.parse_args()
    peers = None
    if args.peers:
        with open(args.peers) as f:
            peers = json.load(f)
    doc, sc = {}, {}
    for path in args.results:
        with open(path) as f:
            d = json.load(f)
        if d.get("tool") == "bench-peers":  # A peers file given as results.
            peers, d = d, d["sotto"]
        doc = doc or d
        sc.update(scenarios(d))

    rates = []
    ing = sc.get("ingest")
    if metric(ing, "ceiling_per_s"):
        rates.append(("RocksDB synced\nceiling", metric(ing, "ceiling_per_s"), "#999999"))
    if metric(ing, "msgs_per_s"):
        label = "sotto ingest"
        if metric(ing, "ceiling_ratio"):
            label += "\n(%.2f x ceiling)" % metric(ing, "ceiling_ratio")
        rates.append((label, metric(ing, "msgs_per_s"), "#3366cc"))
    if peers:
        names = {"redis_xadd_appendfsync_always": "Redis XADD\nappendfsync always",
                 "postgres15_insert_synchronous_commit": "PostgreSQL 15\nINSERT sync"}
        for p in peers.get("peers", []):
            if isinstance(p.get("per_s"), (int, float)):
                rates.append((names.get(p["name"], p["name"]), p["per_s"], "#cc6633"))
    dep = sc.get("depth")
    if metric(dep, "msgs_per_s_empty"):
        rates.append(("depth:\nempty store", metric(dep, "msgs_per_s_empty"), "#6699cc"))
    if metric(dep, "msgs_per_s_queued"):
        rates.append(("depth:\n{:,} queued".format(dep["params"].get("queued", 0)),
                      metric(dep, "msgs_per_s_queued"), "#6699cc"))
    if metric(sc.get("drain"), "envelopes_per_s"):
        rates.append(("drain\n(fetch+ack)", metric(sc["drain"], "envelopes_per_s"), "#339966"))

    lats = []
    for name, label in (("send_p50_ms", "Send p50"), ("send_p99_ms", "Send p99"),
                        ("send_p999_ms", "Send p99.9")):
        if metric(ing, name) is not None:
            lats.append(("ingest " + label, metric(ing, name)))
    dl = sc.get("delivery")
    for name, label in (("delivery_p50_ms", "p50"), ("delivery_p99_ms", "p99")):
        if metric(dl, name) is not None:
            lats.append(("delivery %s\n@%g/s" % (label, dl["params"].get("rate", 0)),
                         metric(dl, name)))

    if not rates and not lats:
        sys.exit("plot-bench: nothing to plot in %s" % ", ".join(args.results))
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 2]})
    ax = axes[0]
    ax.bar([r[0] for r in rates], [r[1] for r in rates], color=[r[2] for r in rates])
    for i, r in enumerate(rates):
        ax.text(i, r[1], "{:,.0f}".format(r[1]), ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")  # Drain is orders of magnitude above durable ingest.
    ax.set_ylabel("per second (log scale)")
    ax.set_title("Throughput, %s-byte envelopes" % (ing or {}).get("params", {}).get("size", "?"))
    ax.tick_params(axis="x", labelsize=7)
    ax = axes[1]
    ax.bar([l[0] for l in lats], [l[1] for l in lats], color="#3366cc")
    for i, l in enumerate(lats):
        ax.text(i, l[1], "%.2f" % l[1], ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("ms")
    ax.set_title("Latency (loopback)")
    ax.tick_params(axis="x", labelsize=7)
    host = doc.get("host", {})
    fig.suptitle("sotto-bench, %s cores, %s" % (host.get("cores", "?"), host.get("kernel", "")),
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print("plot-bench: wrote %s" % args.output)


if __name__ == "__main__":
    main()
