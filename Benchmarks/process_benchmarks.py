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
CYCLICTEST_TIMEOUT_S = 60  # beyond its run's own length, for cyclictest to finish
TRIALS_PER_RIG = 5  # faults timed before the daemon and simulator are restarted (see reaction_run)
ATTEMPTS = 3  # tries of a run whose lesion faulted or whose wait timed out, before it is reported failed
FLOOR_SECONDS = 10  # how long the design floor runs
TELEMETRY_HZ = 100  # the generator's telemetry rate: rfgend's default, which its CONFIGURE asks for
FIFO_PRIORITY = 80
SIMULATOR_PRIORITY = 70  # SCHED_FIFO, as root (see Rig)  # the daemon's default SCHED_FIFO priority, and cyclictest's here


class BenchError(Exception):
    """A run that did not give its figures: the lesion faulted, a wait timed out. The part
    restarts the run (ATTEMPTS in all) and reports the cause; the benchmark goes on."""


def fail(message):
    raise BenchError(message)


def attempt(what, run):
    """Runs `run` up to ATTEMPTS times until it gives its figures. Returns (figures or None, the
    causes of the attempts that failed), so that a fault is reported in the table rather than
    ending the benchmark and losing what was measured before it (issue 19)."""
    causes = []
    for _ in range(ATTEMPTS):
        try:
            return run(), causes
        except (BenchError, OSError, subprocess.SubprocessError, ValueError, KeyError) as error:
            causes.append(str(error) or type(error).__name__)
            print(f"process_benchmarks: {what}: {causes[-1]}; restarting", file=sys.stderr, flush=True)
    return None, causes


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


def thread_status(pid, tid):
    """A thread's /proc status, {field: value}."""
    with open(f"/proc/{pid}/task/{tid}/status") as f:
        return dict(line.split(":", 1) for line in f if ":" in line)


def proc_threads(pid):
    """{tid: (name, seconds on a CPU, context switches, minor page faults)} for each thread. CPU
    time from the scheduler's schedstat (nanoseconds actually run), not stat's utime/stime: those
    are sampled at the kernel's tick, and a thread that wakes in step with it is missed or counted
    whole, by a factor on this kind of virtual machine. Context switches count the wake-ups. Minor
    page faults count memory touched for the first time (the replay buffer filling, its first two
    minutes at 100 Hz) or given back and taken again: each takes the process's mmap lock, which has
    no priority inheritance."""
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                seconds = int(f.read().split()[0]) / 1e9
            status = thread_status(pid, tid)
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                # After the name's closing parenthesis: state is field 3, minflt field 10.
                minflt = int(f.read().rsplit(")", 1)[1].split()[7])
        except OSError:
            continue  # a thread that ended between the listing and the read
        switches = int(status["voluntary_ctxt_switches"]) + int(status["nonvoluntary_ctxt_switches"])
        threads[tid] = (status["Name"].strip(), seconds, switches, minflt)
    return threads


def control_thread_cpus(pid):
    """The CPUs the daemon's control thread may run on (`control_cpu`), as the kernel lists
    them ("1", "0-1"), or None when the thread is not found."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            status = thread_status(pid, tid)
        except OSError:
            continue  # a thread that ended between the listing and the read
        if status["Name"].strip() == "rfgend-control":
            return status["Cpus_allowed_list"].strip()
    return None


def thread_rates(before, after, seconds):
    """Each thread's CPU share (%), wake-ups and minor page faults a second between two
    proc_threads readings."""
    rates = []
    for tid, (name, cpu, switches, faults) in sorted(after.items()):
        _, cpu0, switches0, faults0 = before.get(tid, (name, 0, 0, 0))
        rates.append({"name": name, "cpu_percent": round((cpu - cpu0) / seconds * 100, 3),
                      "wakeups_per_second": round((switches - switches0) / seconds),
                      "page_faults_per_second": round((faults - faults0) / seconds, 1)})
    return rates


def proc_rollup_kib(pid, key):
    """A total of smaps_rollup (kB), e.g. Pss or Private_Dirty."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


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
             "--socket", self.api_socket, "--tick-rate", str(hz),
             # The slowest line that carries the tick's traffic (rfgend refuses a slower one;
             # the pty itself has no speed): 115200 up to 300 Hz, 230400 at 1 kHz.
             "--baud", "115200" if hz <= 300 else "230400", *extra],
            stderr=self.log)
        try:
            self.api = wait_for("rfgend's socket", READY_TIMEOUT_S, self._connect)
            wait_for("the link with fresh telemetry", READY_TIMEOUT_S, self._ready)
        except BaseException:
            self.close()
            raise

    def _connect(self):
        try:
            return Api(self.api_socket)
        except OSError:
            return None

    def _ready(self):
        status = self.api.call("status")["result"]
        return status["link"] == "up" and (status.get("telemetry_age_ms") or 1e9) < 50

    def status(self):
        """On a connection of its own: the rig's, idle through a run's window, is closed by the
        daemon after a minute without a request (an idle, unsubscribed client, APILimits), and
        a 60 s window reached it."""
        api = Api(self.api_socket)
        try:
            return api.call("status")["result"]
        finally:
            api.close()

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


def start_cyclictest(interval_us, seconds, priority):
    """cyclictest at the interval, as root at the same SCHED_FIFO priority as the daemon (and
    memory locked, its usual form), started in the background. One thread on each CPU (`-S`),
    their histograms added: on a virtual machine the host stalls one virtual CPU at a time, and a
    single loop saw only the CPU it ran on: in four 20 s windows at 100 Hz under load the daemon's
    p99 against a single cyclictest's beside it was 2.11, 0.69, 0.76 and 0.27 times (2026-12-02,
    the control thread not yet pinned). The daemon now pins its control thread to one CPU of its
    own choosing (`control_cpu`); the goal still compares with the machine's, every CPU, since
    which CPU the daemon chose is the daemon's part. Each CPU's p99 is kept beside it."""
    # `-d 0`: -S spaces the threads' intervals 500 µs apart by default (the second thread at 1.5 ms
    # when asked for 1 ms, and with fewer samples in the same window); each must run at the tick's.
    command = ["cyclictest", "-S", "-d", "0", "-i", str(interval_us), "-l", str(int(seconds * 1e6 / interval_us)),
               "-q", "-m", "-h", str(CYCLICTEST_BUCKETS)]
    if priority:
        command[1:1] = ["-p", str(priority)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def finish_cyclictest(process, seconds):
    """Its p50/p99/p99.9 from the histogram, and its max. `seconds`: the run's length, which the
    wait allows beyond CYCLICTEST_TIMEOUT_S (a 60 s run waited on for 60 s timed out)."""
    output, _ = process.communicate(timeout=seconds + CYCLICTEST_TIMEOUT_S)
    if process.returncode != 0:
        fail(f"cyclictest exited with status {process.returncode}")
    counts, per_cpu, worst = {}, [], None
    for line in output.splitlines():
        if line.startswith("# Max Latencies"):
            # One figure a thread (a CPU): the worst of them.
            worst = max(int(value) for value in line.split(":", 1)[1].split())
        if line.startswith("#"):
            continue
        parts = line.split()
        # A bucket, then one count a thread: added, and kept a thread.
        if len(parts) >= 2 and all(part.isdigit() for part in parts) and sum(map(int, parts[1:])) > 0:
            counts[int(parts[0])] = sum(map(int, parts[1:]))
            per_cpu += [{} for _ in range(len(parts) - 1 - len(per_cpu))]
            for cpu, count in enumerate(map(int, parts[1:])):
                if count:
                    per_cpu[cpu][int(parts[0])] = count
    if not counts:
        fail("cyclictest printed no histogram")
    return {"p50": percentile_from_histogram(counts, 0.5), "p99": percentile_from_histogram(counts, 0.99),
            "p999": percentile_from_histogram(counts, 0.999), "max": worst,
            "p99_per_cpu": [percentile_from_histogram(cpu, 0.99) if cpu else None for cpu in per_cpu]}


def cyclictest(interval_us, seconds, priority):
    """cyclictest alone, for `seconds`."""
    return finish_cyclictest(start_cyclictest(interval_us, seconds, priority), seconds)


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


def memory_figures(pid):
    """The daemon's memory now, MiB: resident (and its peak), proportional, private, and the
    resident pages split into those mapped from the binary and its libraries and never written
    (code and read-only data, which the kernel can drop and read again) and those the daemon
    has written (heap, stacks, relocated data)."""
    return {"peak_rss_mib": round(proc_status_kib(pid, "VmHWM") / 1024, 1),
            "rss_mib": round(proc_status_kib(pid, "VmRSS") / 1024, 1),
            "pss_mib": round(proc_rollup_kib(pid, "Pss") / 1024, 1),
            "private_mib": round((proc_rollup_kib(pid, "Private_Clean")
                                  + proc_rollup_kib(pid, "Private_Dirty")) / 1024, 1),
            "file_mib": round((proc_rollup_kib(pid, "Rss") - proc_rollup_kib(pid, "Private_Dirty")
                               - proc_rollup_kib(pid, "Shared_Dirty")) / 1024, 1),
            "written_mib": round((proc_rollup_kib(pid, "Private_Dirty")
                                  + proc_rollup_kib(pid, "Shared_Dirty")) / 1024, 1)}


def wait_replay_full(rig, hz):
    """Waits until the daemon has issued as many events as its replay buffer keeps (the banner's
    `seq` against the first connection's, `limits.replay_events`): until then its memory still
    grows by each event's line, and the figures are not its steady state (12,000 events: two
    minutes at 100 Hz; at 60 s the written memory was about 4 MiB short of it)."""
    first = rig.api.banner["seq"]
    wanted = rig.api.banner["limits"]["replay_events"]

    def full():
        api = Api(rig.api_socket)
        try:
            return api.banner["seq"] - first >= wanted
        finally:
            api.close()
    # Events come at about the tick rate: twice the time that takes, and a margin.
    wait_for("the replay buffer to fill", 2 * wanted / hz + 30, full, interval=1.0)


def lesion_run(bin_dir, hz, seconds, loaded, subscribers=1, priority=0, steady_memory=False):
    """One run: a daemon controlling a lesion for `seconds` under the given load, with `subscribers`
    clients reading every stream (at least one: the console, whose telemetry carries each tick's
    lateness, so the figures cover exactly the window); its CPU share and peak memory, and what
    the subscribers saw. With `steady_memory`, the memory figures are read once the replay
    buffer is full (`wait_replay_full`), and those at the window's end are kept beside them."""
    extra = ["--max-clients", str(subscribers + 8)] if subscribers > 120 else []
    rig = Rig(bin_dir, hz, extra)
    load = None
    readers = None
    beside = None
    try:
        rig.start_lesion()
        readers = subprocess.Popen([sys.executable, "-c", SUBSCRIBER_CODE, rig.api_socket,
                                    str(subscribers), str(seconds)],
                                   stdout=subprocess.PIPE, text=True)
        if readers.stdout.readline().strip() != "subscribed":
            fail("the subscribers did not connect")
        load = Load(loaded)
        # cyclictest in the same window, beside the daemon: the same load, the same pty traffic
        # from the simulator (which on a real device runs on the generator, not the host), the
        # same link thread; what a bare real-time loop gets from this machine at this moment.
        beside = start_cyclictest(1_000_000 // hz, seconds, priority)
        threads_before, wall_before = proc_threads(rig.daemon.pid), time.monotonic()
        line = readers.stdout.readline()  # after `seconds`: the measurement window
        window = time.monotonic() - wall_before
        threads = thread_rates(threads_before, proc_threads(rig.daemon.pid), window)
        if not line:
            fail("the subscribers stopped before the window's end")
        seen = json.loads(line)
        readers.wait(timeout=SUBSCRIBER_TIMEOUT_S)
        beside_figures = finish_cyclictest(beside, seconds)
        beside = None
        status = rig.status()
        if status["state"] not in ("impedance_check", "ramp", "hold"):
            # The detail too: a generator_fault says which of the generator's faults it was.
            causes = ", ".join(sorted({f"{alarm.get('cause', '?')} ({alarm.get('detail', '')})"
                                       for alarm in status.get("alarms") or []}))
            fail(f"the lesion ended during the run ({status['state']}{': ' + causes if causes else ''})")
        late = seen["late"]
        pid = rig.daemon.pid
        memory = memory_figures(pid)
        window_memory = None
        if steady_memory:
            window_memory = memory
            wait_replay_full(rig, hz)
            after = rig.status()["state"]
            if after not in ("impedance_check", "ramp", "hold"):
                fail(f"the lesion ended while the replay buffer filled ({after})")
            memory = memory_figures(pid)
        return {"hz": hz, "loaded": loaded, "subscribers": subscribers,
                "p50": late["p50"], "p99": late["p99"], "p999": late["p999"],
                "max": late["max"], "overruns": status["loop"]["overruns"],
                "ticks": late["ticks"], "state": status["state"],
                "cpu_percent": round(sum(t["cpu_percent"] for t in threads), 2),
                "threads": threads,
                **memory,
                "window_memory": window_memory,
                "cyclictest_beside": beside_figures,
                "control_cpus": control_thread_cpus(pid),
                "seen": seen}
    finally:
        if beside and beside.poll() is None:
            beside.kill()
            beside.wait()
        if load:
            load.stop()
        if readers and readers.poll() is None:
            readers.kill()
        rig.close()


def reaction_run(bin_dir, hz, trials):
    """`trials` over-temperature faults mid-lesion; each one's RF_OFF timed by the simulator. The
    generator's telemetry and the daemon's tick keep a fixed phase for a daemon's life, and that
    phase decides most of the figure: a new pair of processes every TRIALS_PER_RIG faults samples
    it. A pair whose lesion faulted otherwise is replaced (its faults are reported)."""
    values, causes = [], []

    def chunk(count):
        rig = Rig(bin_dir, hz)
        try:
            for _ in range(count):
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
        return [int(v) for v in fields["us"].split(",") if v]

    for first in range(0, trials, TRIALS_PER_RIG):
        measured, failed = attempt(f"fault-to-RF-off at {hz} Hz",
                                   lambda: chunk(min(TRIALS_PER_RIG, trials - first)))
        values += measured or []
        causes += failed
    values.sort()
    if not values:
        return {"hz": hz, "trials": 0, "failed": causes}

    def at(fraction):
        return values[min(len(values) - 1, int(fraction * len(values)))]

    return {"hz": hz, "trials": len(values), "p50": at(0.5), "p99": at(0.99), "max": values[-1],
            "min": values[0], "faults": causes}


def design_floor(floor_bin, hz):
    """The CPU rfgend's design costs on this machine before any of its own work:
    Benchmarks/design_floor.c, three threads making the daemon's wake-ups and system calls at its
    rates (the tick's set point and event, each telemetry frame and ACK read, each event's line
    written to a client) with nothing between, beside a generator and a client as the run's."""
    if not floor_bin:
        return None
    output = subprocess.run([floor_bin, str(FLOOR_SECONDS), str(hz), str(TELEMETRY_HZ)], capture_output=True,
                            text=True, check=True).stdout
    return json.loads(output)


def memory_floor(bin_dir):
    """The peak resident memory of `rfgend --version`: the binary and its libraries loaded and
    started, doing nothing else. What rfgend's work adds is above it."""
    process = subprocess.Popen([os.path.join(bin_dir, "rfgend"), "--version"], stdout=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    return round(usage.ru_maxrss / 1024, 1)


def save(results, path):
    """The figures so far: written after every run, so that a benchmark that stops part-way keeps
    what it measured."""
    with open(path + ".partial", "w") as f:
        json.dump(results, f, indent=1)
    os.replace(path + ".partial", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True, help="where the release rfgend and rfgen-sim are")
    parser.add_argument("--seconds", type=float, default=20, help="length of each lateness run")
    parser.add_argument("--trials", type=int, default=100, help="faults timed for fault-to-RF-off")
    parser.add_argument("--json", required=True, help="file for the figures, written after every run")
    parser.add_argument("--floor", help="the compiled design_floor.c, for the CPU floor of the resources")
    parser.add_argument("--only", action="append", choices=["lateness", "subscribers", "reaction"],
                        help="run only this part (repeatable); the README's table needs all three")
    parser.add_argument("--no-steady-memory", dest="steady_memory", action="store_false",
                        help="read the resources run's memory at its window's end, without waiting "
                             "(about two minutes) for the replay buffer to fill: --quick's figures")
    args = parser.parse_args()
    parts = set(args.only or ["lateness", "subscribers", "reaction"])
    root = os.geteuid() == 0
    priority = FIFO_PRIORITY if root else 0
    args.priority = priority
    if not shutil.which("cyclictest"):
        raise SystemExit("process_benchmarks: cyclictest is not installed (Debian: rt-tests)")
    results = {"root": root, "seconds": args.seconds, "lateness": [], "subscribers": [], "reaction": [],
               "resources": None}
    save(results, args.json)
    if "lateness" in parts:
        lateness_part(args, priority, results)
    if "subscribers" in parts:
        subscribers_part(args, results)
    if "reaction" in parts:
        reaction_part(args, results)


def failed_text(causes):
    """A table cell for a run that gave no figures, or a note of the restarts one needed."""
    return "; ".join(f"fault: {cause}" for cause in causes)


def lateness_part(args, priority, results):
    print("### Control-tick lateness beside cyclictest\n")
    print(f"Wake-up lateness in µs of every control tick over {args.seconds:g} s of a lesion (rfgend, "
          "read from its telemetry by one client, as the console reads it) and of cyclictest "
          f"at the same interval{f', both SCHED_FIFO {priority}' if priority else ' (not root: normal priority)'}: "
          "beside it in the same window (the same load, the simulator's pty traffic, the link thread), "
          "and alone after it. Load: one busy process a core, at normal priority. A lesion that "
          "faulted was restarted: the last column says why.\n")
    print("| rate | load | loop | p50 | p99 | p99.9 | max | overruns | restarts |")
    print("|---|---|---|---|---|---|---|---|---|")
    resources_run = None
    for hz in (100, 1000):
        for loaded in (False, True):
            name = "CPU load" if loaded else "idle"
            run, causes = attempt(f"lateness at {hz} Hz, {name}",
                                  lambda: lesion_run(args.bin, hz, args.seconds, loaded, priority=priority,
                                                     steady_memory=args.steady_memory and hz == 100
                                                     and not loaded))
            load = Load(loaded)
            try:
                floor = cyclictest(1_000_000 // hz, args.seconds, priority)
            finally:
                load.stop()
            entry = run or {"hz": hz, "loaded": loaded, "failed": True}
            entry["cyclictest"] = floor
            entry["faults"] = causes
            results["lateness"].append(entry)
            if run:
                print(f"| {hz} Hz | {name} | rfgend | {run['p50']} | {run['p99']} | {run['p999']} | {run['max']} "
                      f"| {run['overruns']} | {failed_text(causes)} |")
                b = run["cyclictest_beside"]
                print(f"| {hz} Hz | {name} | cyclictest beside it | {b['p50']} | {b['p99']} | {b['p999']} | {b['max']} | | |")
            else:
                print(f"| {hz} Hz | {name} | rfgend | - | - | - | - | - | no figures: {failed_text(causes)} |")
            print(f"| {hz} Hz | {name} | cyclictest alone | {floor['p50']} | {floor['p99']} | {floor['p999']} | {floor['max']} | | |")
            sys.stdout.flush()
            if run and hz == 100 and not loaded:
                resources_run = run
            save(results, args.json)
    # After the table, which it would otherwise split.
    if resources_run:
        resources_part(args, resources_run, results)
        save(results, args.json)


def resources_part(args, run, results):
    """The idle 100 Hz run's CPU and memory, each beside its floor on this machine."""
    floor = design_floor(args.floor, run["hz"])
    memory = memory_floor(args.bin)
    results["resources"] = {"cpu_percent": run["cpu_percent"], "threads": run["threads"],
                            "rss_mib": run["rss_mib"], "peak_rss_mib": run["peak_rss_mib"],
                            "pss_mib": run["pss_mib"], "private_mib": run["private_mib"],
                            "file_mib": run["file_mib"], "written_mib": run["written_mib"],
                            "window_memory": run.get("window_memory"),
                            "cpu_floor": floor, "memory_floor_mib": memory}
    wakeups = sum(t["wakeups_per_second"] for t in run["threads"])
    print("\n### Daemon resources\n")
    print(f"rfgend at 100 Hz controlling a lesion, idle machine, one client subscribed, over {args.seconds:g} s "
          "(the first lateness run). CPU from the scheduler's own accounting (schedstat), per thread; "
          "wake-ups are context switches; page faults are minor faults: memory touched for the first time "
          "(the replay buffer fills for two minutes at 100 Hz, so a window inside them counts its growth) "
          "or given back and taken again.\n")
    faults = round(sum(t.get("page_faults_per_second", 0) for t in run["threads"]), 1)
    print("| thread | CPU % of a core | wake-ups a second | page faults a second |")
    print("|---|---|---|---|")
    for thread in run["threads"]:
        print(f"| {thread['name']} | {thread['cpu_percent']} | {thread['wakeups_per_second']} "
              f"| {thread.get('page_faults_per_second', '')} |")
    print(f"| all | {run['cpu_percent']} | {wakeups} | {faults} |")
    if floor:
        each = ", ".join(f"{t['name']} {t['cpu_percent']} % ({t['wakeups_per_second']} wake-ups a second)"
                         for t in floor["threads"])
        print(f"\nThe floor: the design's wake-ups and system calls with nothing between (Benchmarks/design_floor.c: "
              f"the tick's set point and event, each telemetry frame and ACK read, each event's line written to the "
              f"client) take {floor['cpu_percent']} % of a core on this machine, {floor['us_per_wakeup']} µs a "
              f"wake-up: {each}.")
    window = run.get("window_memory")
    if window:
        print(f"\nMemory is read once the daemon had issued as many events as its replay buffer keeps "
              f"(its steady state: until then each event's line adds to it); at the window's end it was "
              f"{window['rss_mib']} MiB resident, {window['written_mib']} MiB written.")
    else:
        print("\nMemory is read at the window's end, before the replay buffer was full: not the steady state.")
    print(f"\nMemory: resident {run['rss_mib']} MiB (peak {run['peak_rss_mib']} MiB), proportional {run['pss_mib']} MiB, "
          f"private {run['private_mib']} MiB. Of the resident pages, {run['file_mib']} MiB are mapped from the "
          f"binary and its libraries and never written (the code it runs and read-only data) and {run['written_mib']} MiB are "
          f"written (heap, stacks, relocated data). `rfgend --version`, the binary and its libraries loaded "
          f"and doing nothing, peaks at {memory} MiB resident.\n")
    sys.stdout.flush()


def subscribers_part(args, results):
    print("\n### Subscribers\n")
    print(f"rfgend at 100 Hz over {args.seconds:g} s of a lesion with clients subscribed to every "
          "stream (one Python process reads them all). Lateness in µs, with cyclictest's beside it in "
          "the same window; events each client received; gaps announced to any of them.\n")
    print("| subscribers | p50 | p99 | p99.9 | max | cyclictest beside it (p99 / p99.9) | telemetry events a client | gaps | daemon CPU % | restarts |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for count in (1, 64, 256):
        run, causes = attempt(f"{count} subscribers",
                              lambda: lesion_run(args.bin, 100, args.seconds, False, subscribers=count,
                                                 priority=args.priority))
        if not run:
            results["subscribers"].append({"subscribers": count, "failed": True, "faults": causes})
            print(f"| {count} | - | - | - | - | - | - | - | - | no figures: {failed_text(causes)} |")
            save(results, args.json)
            continue
        run["faults"] = causes
        results["subscribers"].append(run)
        seen = run["seen"] or {}
        received = f"{seen['telemetry_min']}-{seen['telemetry_max']}" if seen else "-"
        gaps = seen.get("gaps", 0) + seen.get("refused", 0) if seen else "-"
        b = run["cyclictest_beside"]
        print(f"| {count} | {run['p50']} | {run['p99']} | {run['p999']} | {run['max']} | {b['p99']} / {b['p999']} "
              f"| {received} | {gaps} | {run['cpu_percent']} | {failed_text(causes)} |")
        sys.stdout.flush()
        save(results, args.json)


def reaction_part(args, results):
    print("\n### Fault-to-RF-off\n")
    print(f"{args.trials} over-temperature readings mid-lesion (`measure tc offset 60 0`): from rfgen-sim "
          "writing the first telemetry frame that shows it to rfgen-sim reading the daemon's RF_OFF, µs. "
          "The daemon checks each frame against the interlocks as it arrives, on its link thread, and "
          "sends RF_OFF at once, whatever the tick; the floor is the bare round trip of a frame over the "
          "same kind of pty, measured in the same run (in-process table, Pty; the summary gives the ratio).\n")
    print("| tick rate | trials | min | p50 | p99 | max | restarts |")
    print("|---|---|---|---|---|---|---|")
    for hz in (100, 1000):
        run = reaction_run(args.bin, hz, args.trials)
        results["reaction"].append(run)
        if run["trials"]:
            print(f"| {hz} Hz | {run['trials']} | {run['min']} | {run['p50']} | {run['p99']} | {run['max']} "
                  f"| {failed_text(run['faults'])} |")
        else:
            print(f"| {hz} Hz | 0 | - | - | - | - | no figures: {failed_text(run['failed'])} |")
        sys.stdout.flush()
        save(results, args.json)


if __name__ == "__main__":
    main()
