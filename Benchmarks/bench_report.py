#!/usr/bin/env python3
"""Combines the rows scripts/bench-peers.sh collected (shm-bench's JSON
arrays and the peer harnesses' JSON lines, one schema) into medians over
rounds with ratios to the floor, prints them as a table, Markdown or JSON,
and draws the plots with gnuplot."""
import argparse, glob, json, math, os, statistics, subprocess, sys

KEYS = ["mechanism", "dimension", "size_bytes", "subscribers", "p50_ns", "p99_ns", "p999_ns",
        "msgs_per_s", "gb_per_s", "idle_cpu_s", "wakeups_per_s", "rss_sender_kb", "rss_receiver_kb", "settings"]
FIGURES = [k for k in KEYS if k.endswith(("_ns", "_s", "_kb"))]
FLOOR = "c-ring/spin"
NOT_MEASURED = [
    ("cpp-ipc", "not packaged in Debian"),
    ("iceoryx2", "not packaged in Debian (Rust, crates only)"),
]


def load(work):
    rows = []
    for path in sorted(glob.glob(os.path.join(work, "*.json*"))):
        text = open(path).read().strip()
        if not text:
            continue
        found = json.loads(text) if text.startswith("[") else [json.loads(l) for l in text.splitlines() if l.strip()]
        rows.extend(found)
    return rows


def medians(rows):
    groups = {}
    for row in rows:
        for key in KEYS:
            if key not in row:
                raise SystemExit(f"bench_report: a row lacks {key}: {row}")
        key = (row["mechanism"], row["dimension"], row["size_bytes"], row["subscribers"])
        groups.setdefault(key, []).append(row)
    result = []
    for key, group in groups.items():
        row = dict(group[0])
        for figure in FIGURES:
            values = [r[figure] for r in group if r[figure] is not None]
            row[figure] = statistics.median(values) if values else None
        row["rounds"] = len(group)
        result.append(row)
    return result


ORDER = ["c-ring/spin", "swift-shm/", "c-ring/", "pipe", "unix-socket", "iceoryx/", "boost-mq/", "cyclonedds/"]


def order(row):
    """The floor first, then ours, the C baselines, the peers; sizes and subscribers ascending."""
    rank = next((i for i, prefix in enumerate(ORDER) if row["mechanism"].startswith(prefix)), len(ORDER))
    if row["mechanism"] == "c-ring/spin" or row["mechanism"] == "c-ring/spin/copy":
        rank = -1
    return (rank, row["mechanism"], row["size_bytes"] or 0, row["subscribers"] or 0)


def ratio(value, base):
    return value / base if value is not None and base else None


def add_ratios(rows):
    floor = next((r for r in rows if r["mechanism"] == FLOOR and r["dimension"] == "headline"), None)
    size_floor = {r["size_bytes"]: r for r in rows if r["mechanism"] == FLOOR + "/copy" and r["dimension"] == "size"}
    for row in rows:
        base = floor if row["dimension"] == "headline" else size_floor.get(row["size_bytes"]) if row["dimension"] == "size" else None
        row["p50_vs_floor"] = ratio(row["p50_ns"], base and base["p50_ns"])
        row["msgs_vs_floor"] = ratio(row["msgs_per_s"], base and base["msgs_per_s"]) if row["dimension"] == "headline" else None
        row["gb_vs_floor"] = ratio(row["gb_per_s"], base and base["gb_per_s"]) if row["dimension"] == "headline" else None


def fmt(value, pattern, scale=1.0):
    return "-" if value is None else pattern % (value * scale)


def size_label(size):
    for unit, factor in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} B"


def tables(rows, machine, settings, skipped):
    out = [f"Machine: {machine}.", f"Settings: {settings}.", ""]
    out += ["**Headline**: 64 B round trip, 64 B messages/s, 1 MiB GB/s (10^9 B/s); ratios to the floor, `c-ring/spin`.", "",
            "| mechanism | RTT p50 ns | p99 ns | p99.9 ns | 64 B msgs/s | 1 MiB GB/s | p50 vs floor | msgs vs floor | GB/s vs floor |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in [r for r in rows if r["dimension"] == "headline"]:
        out.append(f"| {r['mechanism']} | {fmt(r['p50_ns'], '%.0f')} | {fmt(r['p99_ns'], '%.0f')} | {fmt(r['p999_ns'], '%.0f')} | "
                   f"{fmt(r['msgs_per_s'], '%.2f M', 1e-6)} | {fmt(r['gb_per_s'], '%.1f')} | {fmt(r['p50_vs_floor'], '%.2fx')} | "
                   f"{fmt(r['msgs_vs_floor'], '%.2fx')} | {fmt(r['gb_vs_floor'], '%.2fx')} |")
    sized = [r for r in rows if r["dimension"] == "size"]
    if sized:
        sizes = sorted({r["size_bytes"] for r in sized})
        out += ["", "**Round trip over message sizes**, p50 ns (p99 in brackets); copy: sent and copied out; "
                "loan: written and read in place, one cache line per side.", "",
                "| mechanism | " + " | ".join(size_label(s) for s in sizes) + " |", "|---|" + "---:|" * len(sizes)]
        for mechanism in dict.fromkeys(r["mechanism"] for r in sized):
            by_size = {r["size_bytes"]: r for r in sized if r["mechanism"] == mechanism}
            cells = [f"{fmt(by_size[s]['p50_ns'], '%.0f')} ({fmt(by_size[s]['p99_ns'], '%.0f')})" if s in by_size else "-" for s in sizes]
            out.append(f"| {mechanism} | " + " | ".join(cells) + " |")
    fan = [r for r in rows if r["dimension"] == "fanout"]
    if fan:
        out += ["", "**Publish/subscribe fan-out**, 64 B, lossless: messages published per second (each reaches every subscriber).", "",
                "| mechanism | subscribers | msgs/s | deliveries/s |", "|---|---:|---:|---:|"]
        for r in sorted(fan, key=lambda r: (r["mechanism"], r["subscribers"])):
            out.append(f"| {r['mechanism']} | {r['subscribers']} | {fmt(r['msgs_per_s'], '%.2f M', 1e-6)} | "
                       f"{fmt(r['msgs_per_s'] and r['msgs_per_s'] * r['subscribers'], '%.2f M', 1e-6)} |")
    idle = [r for r in rows if r["dimension"] == "idle"]
    if idle:
        out += ["", "**Idle receiver**, no traffic: CPU seconds over the watch and wake-ups (voluntary context switches, all threads) per second.", "",
                "| mechanism | CPU s | wake-ups/s |", "|---|---:|---:|"]
        for r in idle:
            out.append(f"| {r['mechanism']} | {fmt(r['idle_cpu_s'], '%.3f')} | {fmt(r['wakeups_per_s'], '%.1f')} |")
    rss = [r for r in rows if r["dimension"] == "rss"]
    if rss:
        out += ["", "**Resident memory**, peak (VmHWM) of a sender and a receiver process after 64 B messages.", "",
                "| mechanism | sender MB | receiver MB |", "|---|---:|---:|"]
        for r in rss:
            out.append(f"| {r['mechanism']} | {fmt(r['rss_sender_kb'], '%.1f', 1 / 1024)} | {fmt(r['rss_receiver_kb'], '%.1f', 1 / 1024)} |")
    peers = {}
    for r in rows:
        if r["settings"] and not r["mechanism"].startswith(("swift-shm", "c-ring")):
            peers.setdefault(r["mechanism"].split("/")[0] + "/" + r["mechanism"].split("/")[1].split("+")[0], r["settings"])
    if peers:
        out += ["", "Peer settings:"] + [f"- `{m}`: {s}" for m, s in peers.items()]
    out += ["", "Not measured:"] + [f"- {name}: {why}" for name, why in NOT_MEASURED] + [f"- {line}" for line in skipped]
    return "\n".join(out)


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def plots(rows, directory):
    os.makedirs(directory, exist_ok=True)
    data = os.path.join(directory, "data")
    os.makedirs(data, exist_ok=True)
    term = "set terminal pngcairo size 900,560 font 'Sans,11'\n"
    sized = [r for r in rows if r["dimension"] == "size" and r["p50_ns"]]
    mechanisms = list(dict.fromkeys(r["mechanism"] for r in sized))
    lines = []
    for index, mechanism in enumerate(mechanisms):
        path = os.path.join(data, f"size-{index}.dat")
        with open(path, "w") as f:
            for r in sorted((r for r in sized if r["mechanism"] == mechanism), key=lambda r: r["size_bytes"]):
                f.write(f"{r['size_bytes']} {r['p50_ns'] / 1000}\n")
        lines.append(f"'{path}' using 1:2 with linespoints lw 2 title '{mechanism}'")
    if lines:
        gnuplot(term + f"set output '{directory}/latency-vs-size.png'\n"
                "set title 'Round trip p50 against message size (two processes)'\n"
                "set logscale xy\nset xlabel 'message size (bytes)'\nset ylabel 'round trip p50 (µs)'\n"
                "set xtics ('64 B' 64, '4 KiB' 4096, '64 KiB' 65536, '1 MiB' 1048576, '4 MiB' 4194304)\n"
                "set grid\nset key top left\n"
                "plot " + ", ".join(lines) + "\n")
    head = [r for r in rows if r["dimension"] == "headline" and r["msgs_per_s"]]
    if head:
        path = os.path.join(data, "throughput.dat")
        with open(path, "w") as f:
            for r in head:
                f.write(f"\"{r['mechanism']}\" {r['msgs_per_s'] / 1e6} {r['gb_per_s'] or 0}\n")
        gnuplot(term + f"set output '{directory}/throughput.png'\n"
                "set title 'One-way throughput, lossless, receiver copies out'\n"
                "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
                "set ylabel '64 B: million msgs/s   |   1 MiB: GB/s'\nset xtics rotate by -35 scale 0\nset grid ytics\n"
                "set bmargin 8\nset rmargin 10\nset key top right\n"
                f"plot '{path}' using 2:xtic(1) title '64 B M msgs/s', '' using 3 title '1 MiB GB/s'\n")
    fan = sorted((r for r in rows if r["dimension"] == "fanout" and r["msgs_per_s"]), key=lambda r: r["subscribers"])
    if fan:
        path = os.path.join(data, "fanout.dat")
        with open(path, "w") as f:
            for r in fan:
                f.write(f"{r['subscribers']} {r['msgs_per_s'] / 1e6} {r['msgs_per_s'] * r['subscribers'] / 1e6}\n")
        gnuplot(term + f"set output '{directory}/fanout.png'\n"
                "set title 'Publish/subscribe fan-out, 64 B, lossless (swift-shm)'\n"
                "set xlabel 'subscribers'\nset ylabel 'million per second'\nset logscale x 2\nset grid\n"
                "set xtics (1, 2, 4, 8, 16, 32)\nset yrange [0:*]\n"
                f"plot '{path}' using 1:2 with linespoints lw 2 title 'messages published', "
                f"'' using 1:3 with linespoints lw 2 title 'deliveries'\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", required=True)
    parser.add_argument("--format", default="table", choices=["table", "markdown", "json"])
    parser.add_argument("--machine", default="")
    parser.add_argument("--settings", default="")
    parser.add_argument("--skipped")
    parser.add_argument("--plots")
    parser.add_argument("--no-gnuplot", action="store_true")
    args = parser.parse_args()
    rows = sorted(medians(load(args.work)), key=order)
    add_ratios(rows)
    skipped = [l for l in open(args.skipped).read().splitlines() if l.strip()] if args.skipped else []
    if args.format == "json":
        print(json.dumps({"machine": args.machine, "settings": args.settings, "rows": rows,
                          "not_measured": [f"{n}: {w}" for n, w in NOT_MEASURED] + skipped}, indent=1))
    else:
        print(tables(rows, args.machine, args.settings, skipped))
    if args.plots:
        if args.no_gnuplot:
            print("bench-peers: no plots: gnuplot is not installed (apt-get install -y gnuplot-nox)", file=sys.stderr)
        else:
            plots(rows, args.plots)


if __name__ == "__main__":
    main()
