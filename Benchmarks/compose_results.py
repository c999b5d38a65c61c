#!/usr/bin/env python3
"""Writes the benchmark results file, and the README's table of the latest numbers.

    compose_results.py --work DIR --out RESULTS.md [--readme README.md]

DIR holds what scripts/bench gathered: machine.md, inprocess.md (ordo-one/benchmark's markdown),
dst.txt (rfgen-dst's summary line), process.md and process.json (process_benchmarks.py).
The README's table goes between its `<!-- bench:begin -->` and `<!-- bench:end -->` lines.
"""

import argparse
import json
import os
import re

SCALES = {"K": 1e3, "M": 1e6, "G": 1e9}
TO_MICROSECONDS = {"ns": 1e-3, "μs": 1, "us": 1, "ms": 1e3, "s": 1e6}


def parse_inprocess(text):
    """{benchmark: {metric: {"p50": value, "p99": value, "unit": unit}}} from ordo-one's markdown,
    with its (K)/(M) scales applied."""
    results, current = {}, None
    for line in text.splitlines():
        if line.startswith("### "):
            current = results.setdefault(line[4:].strip(), {})
            continue
        if current is None or not line.startswith("| ") or line.startswith("| Metric"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) < 9:
            continue
        # e.g. "Time (wall clock) (μs) *", "Malloc (total) *", "ramp (ms) (K) *": the scale and
        # a time unit come off the name; other parentheses stay part of it.
        name, scale, unit = cells[0].rstrip(" *"), 1.0, ""
        while True:
            match = re.search(r" \(([^()]*)\)$", name)
            if not match or (match.group(1) not in SCALES and match.group(1) not in TO_MICROSECONDS):
                break
            if match.group(1) in SCALES:
                scale = SCALES[match.group(1)]
            else:
                unit = match.group(1)
            name = name[: match.start()]
        try:
            p50, p99 = float(cells[3]) * scale, float(cells[6]) * scale
        except ValueError:
            continue
        current[name] = {"p50": p50, "p99": p99, "unit": unit}
    return results


def microseconds(entry):
    factor = TO_MICROSECONDS.get(entry["unit"], 1)
    return entry["p50"] * factor, entry["p99"] * factor


def figure(value, digits=0):
    return f"{value:,.{digits}f}"


def summary(inprocess, dst_line, process):
    rows = []
    lateness = {(run["hz"], run["loaded"]): run for run in process["lateness"]}
    for (hz, loaded), run in sorted(lateness.items()):
        floor = run["cyclictest"]
        rows.append((
            f"Control-tick lateness, {hz} Hz, {'CPU load' if loaded else 'idle'} (p50 / p99 / p99.9 / max)",
            f"{run['p50']} / {run['p99']} / {run['p999']} / {run['max']} µs",
            f"cyclictest: {floor['p50']} / {floor['p99']} / {floor['p999']} / {floor['max']} µs"))
    subscribers = {run["subscribers"]: run for run in process["subscribers"]}
    for count in sorted(subscribers):
        run = subscribers[count]
        seen = run.get("seen") or {}
        lost = (seen.get("gaps") or 0) + (seen.get("refused") or 0)
        rows.append((
            f"{count} subscriber{'s' if count != 1 else ''}, 100 Hz (lateness p99 / p99.9 / max; daemon CPU)",
            f"{run['p99']} / {run['p999']} / {run['max']} µs; {run['cpu_percent']} %",
            "no event lost" if lost == 0 else f"{lost} gaps or refusals"))
    pty = inprocess.get("Pty: bare frame round trip (telemetry out, RF_OFF back)", {})
    pty_p99 = None
    pty_text = ""
    if "Time (wall clock)" in pty:
        p50, pty_p99 = microseconds(pty["Time (wall clock)"])
        pty_text = f"bare pty round trip: p50 {figure(p50)} µs, p99 {figure(pty_p99)} µs"
    for run in process["reaction"]:
        # Issue 13's target: fault-to-RF-off p99 at most 1.5 times the bare round trip's p99.
        ratio = f"; p99 {run['p99'] / pty_p99:.2f}× the round trip's (target ≤ 1.5×)" if pty_p99 else ""
        rows.append((
            f"Fault-to-RF-off, {run['hz']} Hz tick (p50 / p99 / max, {run['trials']} faults)",
            f"{figure(run['p50'])} / {figure(run['p99'])} / {figure(run['max'])} µs",
            pty_text + ratio))
    for name, label in (("Codec: decode 1000 telemetry frames", "Codec: decode a telemetry frame"),
                        ("Codec: encode 1000 SET_POWER frames", "Codec: encode a SET_POWER frame")):
        bench = inprocess.get(name, {})
        if "Time (wall clock)" not in bench:
            continue
        p50, _ = microseconds(bench["Time (wall clock)"])
        per_frame = p50 / 1000
        allocations = bench.get("Malloc (total)", {}).get("p50", 0) / 1000
        allocated = bench.get("Malloc (bytes total)", {}).get("p50", 0) / 1000
        rows.append((label, f"{figure(per_frame, 2)} µs ({figure(1e6 / per_frame)} frames/s)",
                     f"{figure(allocations, 1)} allocations, {figure(allocated)} bytes a frame"))
    idle = lateness.get((100, False))
    if idle:
        rows.append(("rfgend holding a lesion at 100 Hz, one client (CPU; resident, peak)",
                     f"{idle['cpu_percent']} % of a core; {idle['rss_mib']} MiB, peak {idle['peak_rss_mib']} MiB", ""))
    lesion = inprocess.get("Virtual time: 15-minute bvn lesion (core, link, codec, simulator, invariants)", {})
    if "Time (wall clock)" in lesion:
        p50, _ = microseconds(lesion["Time (wall clock)"])
        rows.append(("A 15-minute lesion in virtual time (core, link, codec, simulator, invariants)",
                     f"{figure(p50 / 1000)} ms", f"over {figure(900e6 / p50)}× real time (counting the hold alone)"))
    dst = inprocess.get("DST: 100 seeds on one core", {})
    if "Time (wall clock)" in dst:
        p50, _ = microseconds(dst["Time (wall clock)"])
        rows.append(("Deterministic simulation, seeds a second", f"{figure(100 / (p50 / 1e6))} on one core",
                     dst_line.strip()))
    for preset in ("normal", "sclerotic", "high-perfusion"):
        bench = inprocess.get(f"Control quality: bvn lesion on {preset} bone", {})
        if not bench:
            continue
        value = {name: entry["p50"] for name, entry in bench.items()}
        rows.append((
            f"Control quality, {preset} bone (overshoot, settling, hold RMS error)",
            f"{value.get('overshoot (mK)', 0) / 1000:.2f} °C, {value.get('settling', 0) / 1000:.0f} s, "
            f"{value.get('hold RMS error (mK)', 0) / 1000:.3f} °C",
            f"ramp {value.get('ramp', 0) / 1000:.0f} s, hold at {value.get('hold power (mW)', 0) / 1000:.2f} W"))
    lines = ["| measurement | result | beside it |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--readme")
    args = parser.parse_args()

    def read(name):
        with open(os.path.join(args.work, name)) as f:
            return f.read()

    machine, inprocess_text = read("machine.md"), read("inprocess.md")
    dst_line, process_text = read("dst.txt"), read("process.md")
    process = json.loads(read("process.json"))
    inprocess = parse_inprocess(inprocess_text)
    table = summary(inprocess, dst_line, process)
    name = os.path.basename(args.out)
    start = inprocess_text.find("## RFGenBenchmarks")
    with open(args.out, "w") as f:
        f.write(f"# Benchmark results: {name[:-3]}\n\nWritten by `scripts/bench`. "
                "Each measurement is described in Benchmarks/README.md.\n\n")
        f.write(machine.strip() + "\n\n## Summary\n\n" + table + "\n\n")
        f.write("## Process benchmarks (rfgend on rfgen-sim)\n\n" + process_text.strip() + "\n\n")
        f.write("## In-process benchmarks (ordo-one/benchmark, release build)\n\n")
        f.write(f"`rfgen-dst` on every core: {dst_line.strip()}\n\n")
        f.write(inprocess_text[start if start >= 0 else 0:].replace("## RFGenBenchmarks\n", "").strip() + "\n")
    if args.readme:
        with open(args.readme) as f:
            readme = f.read()
        begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
        if begin not in readme or end not in readme:
            raise SystemExit(f"compose_results: {args.readme} has no {begin} ... {end} section")
        head, rest = readme.split(begin, 1)
        _, tail = rest.split(end, 1)
        relative = os.path.relpath(args.out, os.path.dirname(os.path.abspath(args.readme)))
        note = (f"Measured by `scripts/bench` on {machine_line(machine)}; "
                f"the whole run, with its machine, is [{relative}]({relative}).")
        with open(args.readme, "w") as f:
            f.write(head + begin + "\n" + note + "\n\n" + table + "\n" + end + tail)


def machine_line(machine):
    """The machine in a few words, from machine.md's `- key: value` lines."""
    fields = dict(line[2:].split(": ", 1) for line in machine.splitlines() if line.startswith("- ") and ": " in line)
    if "cores" in fields:
        fields["cores"] += " cores"
    return ", ".join(fields[key] for key in ("date", "cpu", "cores", "memory", "kernel") if key in fields)


if __name__ == "__main__":
    main()
