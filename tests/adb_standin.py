"""A device-side stand-in that speaks the adb server's wire protocol on 127.0.0.1, for the real `adb` client.

Point the client at it with ADB_SERVER_SOCKET=tcp:127.0.0.1:PORT. It answers the host services (version,
devices-l, features, transport), the shell in both protocols and `sync:` (STAT/SEND/RECV), stores pushed files,
emulates the few shell commands the Android runner sends, and replies to benchmark_model with a real recorded output,
to `dumpsys thermalservice` with a real recorded dump (or, for a phone before Android 10, the real "Can't find
service" line) and to the cpufreq reads with a Pixel 7's real values (tests/data/android/SOURCES.md). It checks what we
send and how we read; its numbers never reach a record or a report.

Shell protocol, as adb's own source defines it (system/core adb/shell_protocol.h, client/commandline.cpp): a phone
whose features include `shell_v2` is asked for `shell,v2[,TERM=..],raw:CMD`; every packet is a 1-byte id (stdout 1,
stderr 2, exit 3, close-stdin 4, window-size 5) and a 4-byte little-endian length, then the data; the exit packet
holds one byte, the exit code, which the client returns as its own. A phone without `shell_v2` gets `shell:CMD`:
stdout and stderr merged, no exit code (the legacy service).
"""

from __future__ import annotations

import hashlib
import re
import shlex
import socket
import socketserver
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ADB_VERSION = 41  # adb 1.0.41, Debian's package
THERMAL_DUMP = (Path(__file__).parent / "data" / "android" / "dumpsys_thermalservice.txt").read_text()
NO_THERMAL_SERVICE = "Can't find service: thermalservice\n"  # Android 9 and older (no thermal service)
CLOCK_READ = re.compile(r"for c in ([\d ]+); do for f in ([a-z_ ]+); do echo cpu\$c \$f "
                        r"\$\(cat /sys/devices/system/cpu/cpu\$c/cpufreq/\$f 2>/dev/null \|\| echo unreadable\); "
                        r"done; done")


@dataclass
class FakePhone:
    serial: str
    model: str = "Pixel 7"
    soc: str = "Tensor G2"
    android: str = "14"
    core_max_khz: tuple | dict = (1803000, 1803000, 1803000, 1803000, 2348000, 2348000, 2850000, 2850000)
    online: str = "0-7"  # /sys/devices/system/cpu/online
    cpu_features: str = "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop"
    shell_v2: bool = True  # advertise shell_v2 (Android 7+); False: the legacy shell only
    benchmark_output: str = ""
    benchmark_rc: int = 0  # benchmark_model's exit code
    sleep_s: float = 0.0  # every shell command takes this long (a hung phone)
    thermal_statuses: list = field(default_factory=lambda: [0])
    thermal_service: bool = True  # False: a phone before Android 10
    abilist: str = "arm64-v8a"  # a Pixel 7 runs 64-bit code only
    governor: str = "sched_pixel"  # the governor of Pixel's kernels
    unreadable: tuple = ()  # cpufreq files this phone's shell may not read
    cap_after_benchmarks: int | None = None  # thermal mitigation lowers scaling_max_freq after this many runs
    cap_khz: int = 1826000  # the ceiling it lowers the fastest cores to (an OPP of the Pixel 7's big cores)
    lose_after_benchmarks: int | None = None  # disappear after this many benchmark_model runs
    files: dict = field(default_factory=dict)
    modes: dict = field(default_factory=dict)
    commands: list = field(default_factory=list)
    bodies: list = field(default_factory=list)  # commands without the exit-code marker
    benchmarks: list = field(default_factory=list)
    pushes: list = field(default_factory=list)
    state: str = "device"

    def props(self) -> dict:
        return {"ro.product.model": self.model, "ro.soc.model": self.soc, "ro.board.platform": "gs201",
                "ro.build.version.release": self.android, "ro.build.version.sdk": "34",
                "ro.build.fingerprint": f"google/{self.serial}/test", "ro.product.cpu.abilist": self.abilist}

    def run_shell(self, command: str) -> tuple[list[tuple[int, str]], int]:
        """(chunks as (stream 1|2, text), exit code) of one command line, exit-code marker included."""
        self.commands.append(command)
        body = re.sub(r"; __rc=\$\?; echo __BENCH_RC=\$__rc; exit \$__rc$", "", command)
        self.bodies.append(body)
        time.sleep(self.sleep_s)
        out, rc = self._one(body.strip())
        chunks = out if isinstance(out, list) else [(1, out)]
        if body != command:
            chunks.append((1, f"__BENCH_RC={rc}\n"))
        return chunks, rc

    def _freqs(self) -> dict:
        return dict(self.core_max_khz) if isinstance(self.core_max_khz, dict) else dict(enumerate(self.core_max_khz))

    def _one(self, cmd: str):
        if cmd.startswith("getprop "):
            return self.props().get(shlex.split(cmd)[1], "") + "\n", 0
        if cmd.startswith("for f in /sys/devices/system/cpu/cpu*"):
            return "".join(f"/sys/devices/system/cpu/cpu{i}/cpufreq/cpuinfo_max_freq {f}\n"
                           for i, f in sorted(self._freqs().items())), 0
        if cmd == "cat /sys/devices/system/cpu/online":
            return self.online + "\n", 0
        if cmd == "cat /proc/cpuinfo":
            return "".join(f"processor\t: {i}\nFeatures\t: {self.cpu_features}\n\n" for i in self._freqs()), 0
        if m := re.match(r"if \[ -f (\S+) \]; then stat", cmd):
            path = shlex.split(m.group(1))[0]
            data = self.files.get(path)
            if data is None:
                return "", 0
            return f"{len(data)}\n{hashlib.sha256(data).hexdigest()}  {path}\n", 0
        if cmd.startswith(("mkdir -p ", "chmod ")):
            if cmd.startswith("chmod "):
                self.modes[shlex.split(cmd)[2]] = shlex.split(cmd)[1]
            return "", 0
        if cmd == "dumpsys battery":
            return ("Current Battery Service state:\n  AC powered: false\n  USB powered: true\n  status: 2\n"
                    "  level: 87\n  temperature: 312\n"), 0
        if cmd == "dumpsys thermalservice":
            if not self.thermal_service:
                return NO_THERMAL_SERVICE, 0
            status = self.thermal_statuses.pop(0) if len(self.thermal_statuses) > 1 else self.thermal_statuses[0]
            return THERMAL_DUMP.replace("Thermal Status: 0", f"Thermal Status: {status}"), 0
        if m := CLOCK_READ.fullmatch(cmd):
            return self._clocks([int(c) for c in m.group(1).split()], m.group(2).split()), 0
        if "benchmark_model" in cmd:
            return self._benchmark(shlex.split(cmd))
        return [(2, f"/system/bin/sh: {cmd.split()[0]}: not found\n")], 127

    def _clocks(self, cores: list[int], files: list[str]) -> str:
        """What the shell loop prints: `cpuN FILE VALUE`, "unreadable" where cat fails. The current frequency is
        given as the ceiling (a core just out of a run)."""
        freqs, lines = self._freqs(), []
        capped = self.cap_after_benchmarks is not None and len(self.benchmarks) >= self.cap_after_benchmarks
        for core in cores:
            top = freqs.get(core)
            ceiling = min(top, self.cap_khz) if capped and top == max(freqs.values()) else top
            values = {"scaling_governor": self.governor, "scaling_cur_freq": ceiling, "scaling_max_freq": ceiling,
                      "cpuinfo_max_freq": top}
            for name in files:
                shown = values.get(name) if top is not None and name not in self.unreadable else None
                lines.append(f"cpu{core} {name} {'unreadable' if shown is None else shown}\n")
        return "".join(lines)

    def _benchmark(self, argv: list[str]):
        mask = None
        if argv[0] == "taskset":
            mask, argv = argv[1], argv[2:]
        binary, flags = argv[0], dict(a[2:].split("=", 1) for a in argv[1:] if a.startswith("--"))
        self.benchmarks.append({"binary": binary, "flags": flags, "argv": argv, "mask": mask})
        if binary not in self.files or self.modes.get(binary) != "755":
            return [(2, f"/system/bin/sh: {binary}: can't execute: Permission denied\n")], 126
        if flags.get("graph") not in self.files:
            return [(2, f"ERROR: Model file doesn't exist: {flags.get('graph')}\n")], 1
        if self.lose_after_benchmarks is not None and len(self.benchmarks) > self.lose_after_benchmarks:
            self.state = "gone"
            raise ConnectionAbortedError
        text = self.benchmark_output
        start = text.find("STARTING!")
        text = text[start:] if start >= 0 else text
        # TFLite's runtime logs (INFO:/ERROR: lines) go to stderr, the tool's own lines to stdout
        chunks = [(2 if re.match(r"(INFO|ERROR|WARNING|VERBOSE): ", line) else 1, line)
                  for line in text.splitlines(keepends=True)]
        return chunks, self.benchmark_rc


class _Handler(socketserver.BaseRequestHandler):
    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.request.recv(n - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data

    def _request(self) -> str:
        return self._read(int(self._read(4), 16)).decode()

    def _okay(self, payload: str | None = None) -> None:
        msg = b"OKAY"
        if payload is not None:
            msg += f"{len(payload.encode()):04x}".encode() + payload.encode()
        self.request.sendall(msg)

    def _fail(self, message: str) -> None:
        self.request.sendall(b"FAIL" + f"{len(message):04x}".encode() + message.encode())

    def handle(self):
        server: StandIn = self.server.standin
        try:
            req = self._request()
            server.requests.append(req)
            phone = None
            if req == "host:version":
                return self._okay(f"{ADB_VERSION:04x}")
            if req in ("host:devices", "host:devices-l"):
                lines = "".join(
                    f"{p.serial}\t{p.state}"
                    + (f" product:{p.serial} model:{p.model.replace(' ', '_')} device:{p.serial} transport_id:{i + 1}"
                       if req.endswith("-l") else "") + "\n"
                    for i, p in enumerate(server.phones.values()) if p.state != "gone")
                return self._okay(lines)
            if m := re.match(r"host-serial:([^:]+):features", req):
                phone = server.phones.get(m.group(1))
                return self._okay("shell_v2,cmd" if phone and phone.shell_v2 else "")
            if req.endswith(":features") or req == "host:host-features":
                return self._okay("shell_v2,cmd")
            if m := re.match(r"host-serial:([^:]+):get-state", req):
                phone = server.live(m.group(1))
                return self._okay(phone.state) if phone else self._fail(f"device '{m.group(1)}' not found")
            if m := re.match(r"host:(?:transport:|tport:serial:)(.+)", req):
                phone = server.live(m.group(1))
                if phone is None:
                    return self._fail(f"device '{m.group(1)}' not found")
                self.request.sendall(b"OKAY" + (struct.pack("<Q", 1) if "tport" in req else b""))
                service = self._request()
                server.requests.append(service)
                if m := re.match(r"shell(,[^:]*)?:(.*)$", service, re.S):
                    args = (m.group(1) or "").split(",")
                    if "v2" in args and not phone.shell_v2:
                        return self._fail("device does not support the shell protocol")
                    self._okay()
                    chunks, rc = phone.run_shell(m.group(2))
                    return self._shell_reply(chunks, rc, "v2" in args)
                if service == "sync:":
                    self._okay()
                    return self._sync(phone)
                return self._fail(f"unsupported service {service}")
            return self._fail(f"unknown host service {req}")
        except (ConnectionError, ConnectionAbortedError):
            return

    def _shell_reply(self, chunks, rc: int, v2: bool) -> None:
        if not v2:  # legacy: one merged stream, closed at the end
            self.request.sendall("".join(text for _, text in chunks).encode())
            return
        for stream, text in chunks:
            data = text.encode()
            self.request.sendall(struct.pack("<BI", stream, len(data)) + data)
        self.request.sendall(struct.pack("<BI", 3, 1) + bytes([rc & 0xFF]))
        # The client writes close-stdin (id 4) when its stdin ends; read it before closing, so no reset cuts output.
        self.request.shutdown(socket.SHUT_WR)
        self.request.settimeout(5)
        try:
            while self.request.recv(4096):
                pass
        except OSError:
            pass

    def _sync(self, phone: FakePhone) -> None:
        while True:
            ident, length = struct.unpack("<4sI", self._read(8))
            if ident == b"QUIT":
                return
            arg = self._read(length).decode()
            if ident == b"STAT":
                data = phone.files.get(arg)
                mode = 0o100755 if data is not None else 0
                self.request.sendall(b"STAT" + struct.pack("<III", mode, len(data or b""), 0))
            elif ident == b"SEND":
                path = arg.rsplit(",", 1)[0]
                chunks = []
                while True:
                    kind, size = struct.unpack("<4sI", self._read(8))
                    if kind == b"DATA":
                        chunks.append(self._read(size))
                    elif kind == b"DONE":
                        break
                phone.files[path] = b"".join(chunks)
                phone.pushes.append(path)
                self.request.sendall(b"OKAY" + struct.pack("<I", 0))
            elif ident == b"RECV":
                data = phone.files.get(arg)
                if data is None:
                    msg = b"remote object does not exist"
                    self.request.sendall(b"FAIL" + struct.pack("<I", len(msg)) + msg)
                    continue
                for i in range(0, len(data), 65536):
                    piece = data[i:i + 65536]
                    self.request.sendall(b"DATA" + struct.pack("<I", len(piece)) + piece)
                self.request.sendall(b"DONE" + struct.pack("<I", 0))
            elif ident in (b"LIST", b"LIS2"):
                self.request.sendall(b"DONE" + b"\0" * 16)
            else:
                return


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class StandIn:
    """Start with `with StandIn([FakePhone(...)]) as s:`; use `s.env` for the adb client's environment."""

    def __init__(self, phones):
        self.phones = {p.serial: p for p in phones}
        self.requests: list[str] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.standin = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def live(self, serial: str) -> FakePhone | None:
        phone = self.phones.get(serial)
        return phone if phone and phone.state == "device" else None

    @property
    def env(self) -> dict:
        return {"ADB_SERVER_SOCKET": f"tcp:127.0.0.1:{self.port}"}

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
