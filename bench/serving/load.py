"""Servers and load for bench.serving.vs_mlflow: start a pinned server process, drive it with wrk.

wrk (Debian package ``wrk``) runs in its own process on its own core, one thread, C keep-alive
connections, each posting the same single-row JSON body in a closed loop; a generated Lua
script prints one JSON line at the end: requests, seconds, latency percentiles (wrk measures
from the write of a request to the end of its response), socket errors and non-2xx answers.
``rate`` mode adds an exponential think time per connection, so the offered load is a chosen
rate (an open-ish Poisson load) instead of "as fast as possible". ``swap`` mode also reads each
answer and counts the ``"version"`` field and every non-200 status.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

WRK = shutil.which("wrk") or "/usr/bin/wrk"

_DONE = r"""
threads = {}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local versions, statuses = {}, {}
  for _, t in ipairs(threads) do
    local v = t:get("versions") or {}
    for k, n in pairs(v) do versions[k] = (versions[k] or 0) + n end
    local s = t:get("statuses") or {}
    for k, n in pairs(s) do statuses[k] = (statuses[k] or 0) + n end
  end
  local function obj(tbl)
    local parts = {}
    for k, n in pairs(tbl) do table.insert(parts, string.format('"%s":%d', k, n)) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"mean_us":%f,"versions":%s,"statuses":%s}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, obj(versions), obj(statuses)))
end
"""

_SWAP = r"""
versions, statuses = {}, {}
function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  local v = string.match(body or "", '"version":%s*(%d+)')
  if v then versions[v] = (versions[v] or 0) + 1 end
end
"""

_RATE = r"""
local mean_ms = %f
function delay() return math.floor(-math.log(1 - math.random()) * mean_ms) end
function init(args) math.randomseed(os.time()) end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout=30
) -> tuple[int, Any, float]:
    """One request; (status, parsed JSON or text, milliseconds)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    began = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    ms = 1000 * (time.perf_counter() - began)
    try:
        return status, json.loads(raw), ms
    except ValueError:
        return status, raw.decode(errors="replace"), ms


class Server:
    """A server process pinned to ``core`` in its own session (stopped as a group)."""

    def __init__(
        self, name: str, cmd: list[str], env: dict[str, str], port: int, log: Path, cwd: Path
    ) -> None:
        self.name, self.cmd, self.env, self.port, self.log = name, cmd, env, port, log
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, core: int | None, health: str, timeout: float = 120.0) -> float:
        """Start it; seconds until ``health`` answers 200."""
        cmd = (["taskset", "-c", str(core)] if core is not None else []) + self.cmd
        out = self.log.open("ab")
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd,
            env=self.env,
            cwd=self.cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}); see {self.log}")
            with contextlib.suppress(OSError):
                if http("GET", self.url + health, timeout=2)[0] == 200:
                    return time.perf_counter() - self.started_at
            time.sleep(0.005)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer {health} in {timeout} s; see {self.log}")

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the server's process tree so far."""
        import psutil

        assert self.proc is not None
        root = psutil.Process(self.proc.pid)
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            try:
                t = proc.cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system
        return total

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def wrk(
    url: str,
    body: Any,
    connections: int,
    seconds: float,
    core: int | None,
    *,
    swap: bool = False,
    rate: float | None = None,
    timeout_s: int = 10,
) -> dict[str, Any]:
    """Run wrk once; requests/s, latency percentiles (ms), errors."""
    payload = json.dumps(body)
    script = 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
    script += f"wrk.body = [==[{payload}]==]\n" + _DONE
    if swap:
        script += _SWAP
    if rate is not None:
        script += _RATE % (1000.0 * connections / rate)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        lua = f.name
    cmd = ["taskset", "-c", str(core)] if core is not None else []
    cmd += [WRK, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    cmd += [f"--timeout={timeout_s}s", "-s", lua, url]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(lua)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    r = json.loads(line[len("WRKJSON ") :])
    secs = r["duration_us"] / 1e6
    socket_errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return {
        "connections": connections,
        "requests": r["requests"],
        "seconds": round(secs, 3),
        "rps": r["requests"] / secs if secs else 0.0,
        "p50_ms": r["p50_us"] / 1000,
        "p90_ms": r["p90_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "max_ms": r["max_us"] / 1000,
        "mean_ms": r["mean_us"] / 1000,
        "non2xx": r["status"],
        "socket_errors": socket_errors,
        "errors": r["status"] + socket_errors,
        "versions": r["versions"],
        "statuses": r["statuses"],
    }


def metric_sum(text: str, name: str) -> float | None:
    """The sum of a Prometheus family's samples named ``name`` (e.g. a histogram's _sum)."""
    total, seen = 0.0, False
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
            seen = True
    return total if seen else None
