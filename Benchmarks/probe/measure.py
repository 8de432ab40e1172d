#!/usr/bin/env python3
"""Measures a running registry's prober over whole 10-second windows of its debug log.

usage: measure.py PID LOGFILE WINDOWS
Waits for the next "probe window" log line, then reads the daemon's CPU time (/proc/PID/stat) and
follows WINDOWS more windows. Prints one JSON object: probes started/failed, probes/s, p99 and max
start lag (the worst window's), CPU seconds, CPU seconds per 1,000 probes, RSS and peak RSS (MiB).
"""
import json
import os
import re
import sys
import time

pid, logfile, windows = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ticks = os.sysconf("SC_CLK_TCK")
pattern = re.compile(r"probe window")


def cpu_seconds():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks


def status(key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0


def metadata(line):
    return dict(re.findall(r"(\w+)=(\S+)", line))


def follow(handle):
    while True:
        line = handle.readline()
        if not line:
            time.sleep(0.05)
            continue
        if pattern.search(line):
            return metadata(line)


with open(logfile) as handle:
    handle.seek(0, os.SEEK_END)
    follow(handle)  # align on a window boundary
    cpu0, t0 = cpu_seconds(), time.monotonic()
    seen = [follow(handle) for _ in range(windows)]
    cpu1, t1 = cpu_seconds(), time.monotonic()

started = sum(int(w["started"]) for w in seen)
failed = sum(int(w["failed"]) for w in seen)
cpu = cpu1 - cpu0
print(json.dumps({
    "seconds": round(t1 - t0, 1),
    "probes": started,
    "failed": failed,
    "probes_per_s": round(started / (t1 - t0), 1),
    "lag_p99_s": round(max(float(w["lag_p99"]) for w in seen), 4),
    "lag_max_s": round(max(float(w["lag_max"]) for w in seen), 4),
    "lag_p99_per_window_s": [round(float(w["lag_p99"]), 3) for w in seen],
    "cpu_s": round(cpu, 2),
    "cpu_s_per_1000_probes": round(cpu / started * 1000, 3) if started else None,
    "rss_mib": round(status("VmRSS"), 1),
    "peak_rss_mib": round(status("VmHWM"), 1),
}))
