#!/usr/bin/env python3
"""CPU per probe of blackbox_exporter: drives its /probe endpoint with wrk for SECONDS and divides
its CPU time by the probes completed.

usage: blackbox.py EXPORTER_PID EXPORTER_URL TARGET_URL SECONDS
"""
import json
import os
import re
import subprocess
import sys
import urllib.request

pid, exporter, target, seconds = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
ticks = os.sysconf("SC_CLK_TCK")
probe_url = f"{exporter}/probe?module=http_2xx&target={target}"


def cpu_seconds():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks


body = urllib.request.urlopen(probe_url, timeout=5).read().decode()
if "probe_success 1" not in body:
    sys.exit(f"blackbox_exporter's probe of {target} failed:\n{body}")

cpu0 = cpu_seconds()
out = subprocess.run(["wrk", "-t1", "-c4", f"-d{seconds}s", probe_url], capture_output=True, text=True, check=True).stdout
cpu1 = cpu_seconds()
requests = int(re.search(r"(\d+) requests in", out).group(1))
print(json.dumps({
    "seconds": seconds,
    "probes": requests,
    "probes_per_s": round(requests / seconds, 1),
    "cpu_s": round(cpu1 - cpu0, 2),
    "cpu_s_per_1000_probes": round((cpu1 - cpu0) / requests * 1000, 3),
}))
