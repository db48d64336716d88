"""The browser console measured: page bytes, first screen bytes, memory per session, sessions held.

Starts `agent-console serve` on a demo store of --tickets tickets on a free port and reports:

  first load     bytes a browser fetches before the terminal starts (sign-in page, then the
                 console page, textual.js, xterm.css), raw and gzip as this server sends them
  first screen   bytes the app sends over the websocket at 120x40 until its footer and first rows are drawn,
                 raw and deflated (the websocket's permessage-deflate, one stream)
  per session    RSS and PSS of one app process, and what the server grows by
  held           --sessions sessions opened one after another, each until its first screen;
                 all still alive at the end, the seconds the last one took, memory in total,
                 and the CPU each uses while idle (countdowns ticking) over 10 s

Run:  .venv/bin/python scripts/bench_serve.py [--tickets 1000] [--sessions 20]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

EXE = str(Path(sys.executable).parent / "agent-console")
DEADLINE = 90.0
# Drawn once the first screen is complete: the footer's last key and the first ticket rows.
MARKS = (b"Commands", b"T26")
IDLE_SECONDS = 10.0  # how long the open sessions sit idle while their CPU time is counted


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(port: int, method: str, path: str, *, gzip: bool, cookie: str = "",
         body: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=DEADLINE)
    headers = {"Accept-Encoding": "gzip" if gzip else "identity", "Accept-Language": "en"}
    if cookie:
        headers["Cookie"] = cookie
    data = urlencode(body) if body else None
    if data:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def sign_in(port: int) -> str:
    status, headers, _ = _get(port, "POST", "/sign-in", gzip=False,
                              body={"agent": "a001", "pin": "1111", "lang": "en"})
    if status != 303:
        raise SystemExit(f"sign-in refused ({status})")
    return headers["Set-Cookie"].split(";")[0]


def first_load(port: int) -> dict[str, tuple[int, int]]:
    """(raw, gzip) bytes of each file the browser fetches, and the total."""
    sizes: dict[str, tuple[int, int]] = {}
    cookie = sign_in(port)
    for name, path in [("sign-in page", "/"), ("console page", "/"),
                       ("textual.js", "/static/textual.js"), ("xterm.css", "/static/xterm.css")]:
        jar = cookie if name != "sign-in page" else ""
        raw = len(_get(port, "GET", path, gzip=False, cookie=jar)[2])
        zipped = len(_get(port, "GET", path, gzip=True, cookie=jar)[2])
        sizes[name] = (raw, zipped)
    sizes["total"] = (sum(r for r, _ in sizes.values()), sum(z for _, z in sizes.values()))
    return sizes


class Session:
    """One browser session: a websocket that reads until the first screen is drawn."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received = bytearray()
        self.client: aiohttp.ClientSession | None = None
        self.socket: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task[None] | None = None
        self.first_screen = 0

    async def open(self) -> float:
        """Seconds until the first screen was complete."""
        cookie = await asyncio.to_thread(sign_in, self.port)
        started = time.monotonic()
        self.client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        self.socket = await self.client.ws_connect(
            f"http://127.0.0.1:{self.port}/ws?width=120&height=40", headers={"Cookie": cookie})
        await self.socket.send_json(["resize", {"width": 120, "height": 40}])
        self.reader = asyncio.create_task(self._read())
        while (done := self.done_at()) is None:
            if time.monotonic() - started > DEADLINE or self.reader.done():
                raise SystemExit("no first screen within the deadline")
            await asyncio.sleep(0.05)
        self.first_screen = done
        return time.monotonic() - started

    def done_at(self) -> int | None:
        """How many bytes had come when the first screen was complete (None: not yet)."""
        ends = [self.received.find(mark) for mark in MARKS]
        return None if -1 in ends else max(e + len(m) for e, m in zip(ends, MARKS))

    async def _read(self) -> None:
        assert self.socket is not None
        async for message in self.socket:
            if message.type == aiohttp.WSMsgType.BINARY:
                self.received += message.data

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        if self.reader is not None:
            self.reader.cancel()
        if self.client is not None:
            await self.client.close()


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in KB; (0, 0) for a process that is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0

    def field(text: str, name: str) -> int:
        for line in text.splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
        return 0

    return field(status, "VmRSS"), field(rollup, "Pss")


def _cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes have used so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _apps(server: int) -> list[int]:
    return [pid for pid in _descendants(server)
            if b"agent_console.serve_session" in Path(f"/proc/{pid}/cmdline").read_bytes()
            and Path(f"/proc/{pid}/cmdline").read_bytes().startswith(sys.executable.encode())]


async def sessions(port: int, server: int, count: int) -> dict[str, object]:
    opened: list[Session] = []
    times: list[float] = []
    base_rss = _memory_kb(server)[0]
    try:
        first = Session(port)
        times.append(await first.open())
        opened.append(first)
        await asyncio.sleep(1.0)  # let the first app settle before its memory is read
        one = _apps(server)
        rss, pss = _memory_kb(one[0]) if one else (0, 0)
        screen = bytes(first.received[:first.first_screen])
        deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
        deflated = len(deflate.compress(screen) + deflate.flush(zlib.Z_SYNC_FLUSH))
        for _ in range(count - 1):
            session = Session(port)
            times.append(await session.open())
            opened.append(session)
        apps = _apps(server)
        cpu_before, idle_from = _cpu_seconds(apps), time.monotonic()
        await asyncio.sleep(IDLE_SECONDS)
        idle_cpu = (_cpu_seconds(apps) - cpu_before) / (time.monotonic() - idle_from) / len(apps)
        alive = sum(1 for s in opened if s.socket is not None and not s.socket.closed)
        total = [_memory_kb(pid) for pid in apps]
        return {"first screen raw": len(screen), "first screen deflated": deflated,
                "app RSS MB": rss / 1024, "app PSS MB": pss / 1024,
                "server RSS growth MB": (_memory_kb(server)[0] - base_rss) / 1024,
                "sessions opened": len(opened), "sessions alive": alive,
                "app processes": len(apps),
                "idle CPU per session %": idle_cpu * 100,
                "first screen s (first, last)": (times[0], times[-1]),
                "all apps RSS MB": sum(r for r, _ in total) / 1024,
                "all apps PSS MB": sum(p for _, p in total) / 1024}
    finally:
        for session in opened:
            await session.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    # The real clock, so the countdowns tick as on a live floor (the idle CPU figure needs it).
    env = {**os.environ, "AGENT_CONSOLE_CONFIG_DIR": str(work),
           "AGENT_CONSOLE_SERVE_MAX_SESSIONS": str(max(args.sessions, 1))}
    db = work / "bench.db"
    subprocess.run([EXE, "demo", "--db", str(db), "--no-open", "--tickets", str(args.tickets)],
                   env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen([EXE, "--db", str(db), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + DEADLINE
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > end or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.1)
        print(f"demo store: {args.tickets} tickets; textual-serve, 120x40")
        for name, (raw, zipped) in first_load(port).items():
            print(f"  first load  {name:<14} {raw:>9,} B raw  {zipped:>8,} B gzip")
        for name, value in asyncio.run(sessions(port, server.pid, args.sessions)).items():
            shown = (f"{value:.1f}" if isinstance(value, float) else
                     " / ".join(f"{v:.2f}" for v in value) if isinstance(value, tuple) else
                     f"{value:,}" if isinstance(value, int) else value)
            print(f"  {name:<30} {shown}")
        with open("/proc/meminfo") as meminfo:
            available = next(line for line in meminfo if line.startswith("MemAvailable"))
        print(f"  machine {available.strip()}, {os.cpu_count()} cores")
    finally:
        server.terminate()
        server.wait(timeout=DEADLINE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
