#!/usr/bin/env python3
"""The process-level benchmarks of issue 6: the real rfgend on the real rfgen-sim, on a pty.

    process_benchmarks.py --bin DIR [--seconds N] [--trials N] --json OUT.json

Writes one markdown table a measurement to standard output, and the figures the README quotes
to OUT.json. Run by scripts/bench, which builds the release binaries and writes the results file.

- Control-tick lateness at 100 Hz and 1 kHz, idle and under CPU load (one busy process a core),
  each beside cyclictest at the same interval and priority under the same load: the floor the
  operating system itself gives.
- The same with 64 and 256 clients subscribed to every stream, which also checks that none of
  them lost an event.
- Fault-to-RF-off: rfgen-sim's `measure` times, on the generator's side of the line, from writing
  the first telemetry frame that shows an over-temperature reading to reading the daemon's RF_OFF.
- The daemon's CPU share and peak resident memory while it controls a lesion.

Python's standard library only. Every wait is bounded; a failure says what did not happen.
"""

import argparse
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

# Every bound of this script, in one place.
READY_TIMEOUT_S = 30  # for the daemon's link to come up with fresh telemetry
START_TIMEOUT_S = 10  # for a start to be accepted and RF to come on
REACTION_TIMEOUT_S = 5  # for one fault's RF_OFF (rfgen-sim counts it missed after 2 s)
SUBSCRIBER_TIMEOUT_S = 30  # for every subscriber to connect and be subscribed
CYCLICTEST_BUCKETS = 10000  # histogram buckets, µs; later samples count as overflow
TRIALS_PER_RIG = 5  # faults timed before the daemon and simulator are restarted (see reaction_run)
FIFO_PRIORITY = 80
SIMULATOR_PRIORITY = 70  # SCHED_FIFO, as root (see Rig)  # the daemon's default SCHED_FIFO priority, and cyclictest's here


def fail(message):
    raise SystemExit(f"process_benchmarks: {message}")


class Api:
    """One connection to rfgend's JSON API (protocol/API.md)."""

    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buffer = b""
        self.next_id = 1
        self.banner = self.line()
        if self.banner.get("type") != "banner":
            fail(f"refused by rfgend: {self.banner}")

    def line(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                fail("rfgend closed the connection")
            self.buffer += chunk
        text, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(text)

    def call(self, method, params=None):
        request = {"id": self.next_id, "method": method}
        if params is not None:
            request["params"] = params
        self.next_id += 1
        self.sock.sendall((json.dumps(request) + "\n").encode())
        while True:
            reply = self.line()
            if reply.get("type") == "reply" and reply.get("id") == request["id"]:
                return reply

    def close(self):
        self.sock.close()


def control(path, line):
    """One line to rfgen-sim's control socket; its one-line answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(path)
        sock.sendall((line + "\n").encode())
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer.decode().strip()


def wait_for(what, timeout, probe, interval=0.05):
    """Polls probe() until it returns something true. The processes under test run in real time
    and offer nothing else to wait on from here."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    fail(f"timed out after {timeout} s waiting for {what}")


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat(5); the split starts at field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class Rig:
    """rfgen-sim on a pty and rfgend on it, in a directory of their own."""

    def __init__(self, bin_dir, hz, extra=()):
        self.dir = tempfile.mkdtemp(prefix="rfgen-bench-")
        self.sim_socket = os.path.join(self.dir, "sim.sock")
        self.api_socket = os.path.join(self.dir, "api.sock")
        # The simulator stands for the generator's firmware, which no load on the host can delay:
        # as root it runs SCHED_FIFO just under the daemon's threads. Starved at normal priority
        # under the CPU load, it would let set points lapse on its own clock while the daemon's
        # refreshes sat unread in the pty.
        realtime = ["chrt", "-f", str(SIMULATOR_PRIORITY)] if os.geteuid() == 0 and shutil.which("chrt") else []
        self.sim = subprocess.Popen(
            realtime + [os.path.join(bin_dir, "rfgen-sim"), "--link", os.path.join(self.dir, "gen"),
             "--control", self.sim_socket, "--no-stdin"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.sim.stdout.readline()  # the device path: the pty exists
        self.log = open(os.path.join(self.dir, "rfgend.log"), "w")
        self.daemon = subprocess.Popen(
            [os.path.join(bin_dir, "rfgend"), "--device", os.path.join(self.dir, "gen"),
             "--socket", self.api_socket, "--tick-rate", str(hz), *extra],
            stderr=self.log)
        self.api = wait_for("rfgend's socket", READY_TIMEOUT_S, self._connect)
        wait_for("the link with fresh telemetry", READY_TIMEOUT_S, self._ready)

    def _connect(self):
        try:
            return Api(self.api_socket)
        except OSError:
            return None

    def _ready(self):
        status = self.api.call("status")["result"]
        return status["link"] == "up" and (status.get("telemetry_age_ms") or 1e9) < 50

    def status(self):
        return self.api.call("status")["result"]

    def start_lesion(self):
        """Takes the lease and starts a bvn lesion; returns once the generator has RF on."""
        if not self.api.call("lease.acquire")["ok"]:
            fail("no control lease")
        wait_for("an accepted start", START_TIMEOUT_S,
                 lambda: self.api.call("start", {"level": "L4"})["ok"], interval=0.1)
        wait_for("RF on at the generator", START_TIMEOUT_S,
                 lambda: "rf=on" in control(self.sim_socket, "status")
                 and "power=0.0W" not in control(self.sim_socket, "status"))

    def close(self):
        for process in (self.daemon, self.sim):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Load:
    """One busy process a core, at normal priority: what a loaded console PC throws at us."""

    def __init__(self, enabled):
        self.processes = []
        if enabled:
            for _ in range(os.cpu_count() or 1):
                self.processes.append(subprocess.Popen(
                    [sys.executable, "-c", "while True: pass"]))

    def stop(self):
        for process in self.processes:
            process.kill()
            process.wait()


def percentile_from_histogram(counts, fraction):
    total = sum(counts.values())
    running = 0
    for value in sorted(counts):
        running += counts[value]
        if running >= total * fraction:
            return value
    return None


def cyclictest(interval_us, seconds, priority):
    """cyclictest at the interval, as root at the same SCHED_FIFO priority as the daemon (and
    memory locked, its usual form); its p50/p99/p99.9 from the histogram, and its max."""
    command = ["cyclictest", "-i", str(interval_us), "-l", str(int(seconds * 1e6 / interval_us)),
               "-q", "-m", "-h", str(CYCLICTEST_BUCKETS)]
    if priority:
        command[1:1] = ["-p", str(priority)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    counts, worst = {}, None
    for line in output.splitlines():
        if line.startswith("# Max Latencies"):
            worst = int(line.split()[-1])
        if line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) >= 2 and parts[0].isdigit() and int(parts[1]) > 0:
            counts[int(parts[0])] = int(parts[1])
    if not counts:
        fail("cyclictest printed no histogram")
    return {"p50": percentile_from_histogram(counts, 0.5), "p99": percentile_from_histogram(counts, 0.99),
            "p999": percentile_from_histogram(counts, 0.999), "max": worst}


SUBSCRIBER_CODE = r"""
import json, selectors, socket, sys, time
path, count, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
selector = selectors.DefaultSelector()
clients = []
late = []
for _ in range(count):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b'{"id":1,"method":"subscribe","params":{"streams":["telemetry","events","alarms"]}}\n')
    s.setblocking(False)
    state = {"buffer": b"", "events": 0, "gaps": 0, "refused": 0, "telemetry": 0}
    clients.append(state)
    selector.register(s, selectors.EVENT_READ, state)
print("subscribed", flush=True)
end = time.monotonic() + seconds
while time.monotonic() < end:
    for key, _ in selector.select(timeout=0.1):
        state = key.data
        try:
            chunk = key.fileobj.recv(1 << 20)
        except BlockingIOError:
            continue
        if not chunk:
            selector.unregister(key.fileobj)
            state["refused"] += 1
            continue
        lines = (state["buffer"] + chunk).split(b"\n")
        state["buffer"] = lines.pop()
        for line in lines:
            if b'"type":"event"' in line:
                state["events"] += 1
                if b'"kind":"telemetry"' in line:
                    state["telemetry"] += 1
                    # The first client reads every tick's own lateness: the window's exact figures.
                    if state is clients[0]:
                        late.append(json.loads(line)["data"]["late_us"])
            elif b'"type":"gap"' in line:
                state["gaps"] += 1
            elif b'"ok":false' in line:
                state["refused"] += 1
late.sort()
def at(fraction):
    return late[min(len(late) - 1, int(fraction * len(late)))] if late else None
print(json.dumps({"clients": count,
                  "telemetry_min": min(c["telemetry"] for c in clients),
                  "telemetry_max": max(c["telemetry"] for c in clients),
                  "gaps": sum(c["gaps"] for c in clients),
                  "refused": sum(c["refused"] for c in clients),
                  "late": {"ticks": len(late), "p50": at(0.5), "p99": at(0.99), "p999": at(0.999),
                           "max": late[-1] if late else None}}), flush=True)
"""


def lesion_run(bin_dir, hz, seconds, loaded, subscribers=1):
    """One run: a daemon controlling a lesion for `seconds` under the given load, with `subscribers`
    clients reading every stream (at least one: the console, whose telemetry carries each tick's
    lateness, so the figures cover exactly the window); its CPU share and peak memory, and what
    the subscribers saw."""
    extra = ["--max-clients", str(subscribers + 8)] if subscribers > 120 else []
    rig = Rig(bin_dir, hz, extra)
    load = None
    readers = None
    try:
        rig.start_lesion()
        readers = subprocess.Popen([sys.executable, "-c", SUBSCRIBER_CODE, rig.api_socket,
                                    str(subscribers), str(seconds)],
                                   stdout=subprocess.PIPE, text=True)
        if readers.stdout.readline().strip() != "subscribed":
            fail("the subscribers did not connect")
        load = Load(loaded)
        cpu_before, wall_before = proc_cpu_seconds(rig.daemon.pid), time.monotonic()
        seen = json.loads(readers.stdout.readline())  # after `seconds`: the measurement window
        cpu = (proc_cpu_seconds(rig.daemon.pid) - cpu_before) / (time.monotonic() - wall_before)
        readers.wait(timeout=SUBSCRIBER_TIMEOUT_S)
        status = rig.status()
        if status["state"] not in ("impedance_check", "ramp", "hold"):
            fail(f"the lesion ended during the run: {status['state']} {status['alarms']}")
        late = seen["late"]
        return {"hz": hz, "loaded": loaded, "subscribers": subscribers,
                "p50": late["p50"], "p99": late["p99"], "p999": late["p999"],
                "max": late["max"], "overruns": status["loop"]["overruns"],
                "ticks": late["ticks"], "state": status["state"],
                "cpu_percent": round(cpu * 100, 2),
                "peak_rss_mib": round(proc_status_kib(rig.daemon.pid, "VmHWM") / 1024, 1),
                "rss_mib": round(proc_status_kib(rig.daemon.pid, "VmRSS") / 1024, 1),
                "seen": seen}
    finally:
        if load:
            load.stop()
        if readers and readers.poll() is None:
            readers.kill()
        rig.close()


def reaction_run(bin_dir, hz, trials):
    """`trials` over-temperature faults mid-lesion; each one's RF_OFF timed by the simulator. The
    generator's telemetry and the daemon's tick keep a fixed phase for a daemon's life, and that
    phase decides most of the figure: a new pair of processes every TRIALS_PER_RIG faults samples
    it."""
    values = []
    for first in range(0, trials, TRIALS_PER_RIG):
        rig = Rig(bin_dir, hz)
        try:
            for _ in range(min(TRIALS_PER_RIG, trials - first)):
                rig.start_lesion()
                if control(rig.sim_socket, "measure tc offset 60 0") != "ok":
                    fail("rfgen-sim refused measure")
                wait_for("the daemon's RF_OFF", REACTION_TIMEOUT_S,
                         lambda: "pending=0" in control(rig.sim_socket, "reactions"), interval=0.01)
                control(rig.sim_socket, "tc ok 0")
                wait_for("an accepted acknowledgement", START_TIMEOUT_S,
                         lambda: rig.api.call("ack")["ok"], interval=0.05)
            answer = control(rig.sim_socket, "reactions")
        finally:
            rig.close()
        fields = dict(word.split("=", 1) for word in answer.split()[1:])
        if int(fields["missed"]):
            fail(f"a reaction was missed: {answer[:200]}")
        values += [int(v) for v in fields["us"].split(",") if v]
    values.sort()
    if len(values) != trials:
        fail(f"{len(values)} reactions measured of {trials}")

    def at(fraction):
        return values[min(len(values) - 1, int(fraction * len(values)))]

    return {"hz": hz, "trials": trials, "p50": at(0.5), "p99": at(0.99), "max": values[-1], "min": values[0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True, help="where the release rfgend and rfgen-sim are")
    parser.add_argument("--seconds", type=float, default=20, help="length of each lateness run")
    parser.add_argument("--trials", type=int, default=100, help="faults timed for fault-to-RF-off")
    parser.add_argument("--json", required=True, help="file for the figures the README quotes")
    parser.add_argument("--only", action="append", choices=["lateness", "subscribers", "reaction"],
                        help="run only this part (repeatable); the README's table needs all three")
    args = parser.parse_args()
    parts = set(args.only or ["lateness", "subscribers", "reaction"])
    root = os.geteuid() == 0
    priority = FIFO_PRIORITY if root else 0
    if not shutil.which("cyclictest"):
        fail("cyclictest is not installed (Debian: rt-tests)")
    results = {"root": root, "lateness": [], "subscribers": [], "reaction": []}

    if "lateness" in parts:
        lateness_part(args, priority, results)
    if "subscribers" in parts:
        subscribers_part(args, results)
    if "reaction" in parts:
        reaction_part(args, results)
    if results["lateness"]:
        idle = results["lateness"][0]
        print("\n### Daemon resources\n")
        print(f"rfgend at 100 Hz controlling a lesion, idle machine, one client subscribed, over {args.seconds:g} s: "
              f"CPU {idle['cpu_percent']} % of one core, resident {idle['rss_mib']} MiB, "
              f"peak resident {idle['peak_rss_mib']} MiB.")
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1)


def lateness_part(args, priority, results):
    print("### Control-tick lateness beside cyclictest\n")
    print(f"Wake-up lateness in µs of every control tick over {args.seconds:g} s of a lesion (rfgend, "
          "read from its telemetry by one client, as the console reads it) and of cyclictest "
          f"at the same interval{f', both SCHED_FIFO {priority}' if priority else ' (not root: normal priority)'}. "
          "Load: one busy process a core, at normal priority.\n")
    print("| rate | load | loop | p50 | p99 | p99.9 | max | overruns |")
    print("|---|---|---|---|---|---|---|---|")
    for hz in (100, 1000):
        for loaded in (False, True):
            run = lesion_run(args.bin, hz, args.seconds, loaded)
            load = Load(loaded)
            try:
                floor = cyclictest(1_000_000 // hz, args.seconds, priority)
            finally:
                load.stop()
            run["cyclictest"] = floor
            results["lateness"].append(run)
            name = "CPU load" if loaded else "idle"
            print(f"| {hz} Hz | {name} | rfgend | {run['p50']} | {run['p99']} | {run['p999']} | {run['max']} | {run['overruns']} |")
            print(f"| {hz} Hz | {name} | cyclictest | {floor['p50']} | {floor['p99']} | {floor['p999']} | {floor['max']} | |")
            sys.stdout.flush()



def subscribers_part(args, results):
    print("\n### Subscribers\n")
    print(f"rfgend at 100 Hz over {args.seconds:g} s of a lesion with clients subscribed to every "
          "stream (one Python process reads them all). Lateness in µs; events each client received; "
          "gaps announced to any of them.\n")
    print("| subscribers | p50 | p99 | p99.9 | max | telemetry events a client | gaps | daemon CPU % |")
    print("|---|---|---|---|---|---|---|---|")
    for count in (1, 64, 256):
        run = lesion_run(args.bin, 100, args.seconds, False, subscribers=count)
        results["subscribers"].append(run)
        seen = run["seen"] or {}
        received = f"{seen['telemetry_min']}-{seen['telemetry_max']}" if seen else "-"
        gaps = seen.get("gaps", 0) + seen.get("refused", 0) if seen else "-"
        print(f"| {count} | {run['p50']} | {run['p99']} | {run['p999']} | {run['max']} | {received} | {gaps} | {run['cpu_percent']} |")
        sys.stdout.flush()



def reaction_part(args, results):
    print("\n### Fault-to-RF-off\n")
    print(f"{args.trials} over-temperature readings mid-lesion (`measure tc offset 60 0`): from rfgen-sim "
          "writing the first telemetry frame that shows it to rfgen-sim reading the daemon's RF_OFF, µs. "
          "The daemon checks each frame against the interlocks as it arrives, on its link thread, and "
          "sends RF_OFF at once, whatever the tick; the floor is the bare round trip of a frame over the "
          "same kind of pty, measured in the same run (in-process table, Pty; the summary gives the ratio).\n")
    print("| tick rate | trials | min | p50 | p99 | max |")
    print("|---|---|---|---|---|---|")
    for hz in (100, 1000):
        run = reaction_run(args.bin, hz, args.trials)
        results["reaction"].append(run)
        print(f"| {hz} Hz | {run['trials']} | {run['min']} | {run['p50']} | {run['p99']} | {run['max']} |")
        sys.stdout.flush()



if __name__ == "__main__":
    main()
