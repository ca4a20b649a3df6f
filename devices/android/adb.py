"""The adb transport: the real `adb` client, every call bounded in time, every answer read (not just exit codes).

Facts about adb that shape this module: `adb devices` with no phone prints only its header and exits 0;
`adb connect` that fails still exits 0; `adb wait-for-device` hangs forever; an unresponsive device shows as
`offline`.

Shell: a device that lists `shell_v2` in `adb features` (Android 7+) gets the shell protocol (adb's
shell_protocol.h: packets of a 1-byte id, stdout 1 / stderr 2 / exit 3, and a 4-byte little-endian length): the
client keeps stderr apart and exits with the remote exit code. Older devices get the legacy `shell:` service, which
merges stderr into stdout and does not return the exit status. Under both, a stream that closes early (device lost)
ends without an exit packet and the v2 client then exits 0, so every command also ends with an exit-code marker on
stdout: the marker is the proof that the command finished, and the code it carries is checked against the client's.
A command that outlives its timeout is one error, never re-run.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass

from bench.core.errors import DeviceError

RC_MARKER = "__BENCH_RC="
DEFAULT_TIMEOUT_S = 60.0
# adb's own words for a lost device, at the start of one of its "error:" lines: on shell_v2 the remote command's
# stderr arrives on the same stream, and a tool's "GPU device not found" must not read as a lost phone.
_LOST = re.compile(r"^(?:adb: )?error: (?:.*?: )?(device '?[^']*'? not found|device offline|no devices/emulators found"
                   r"|device still authorizing|closed|protocol fault|device unauthorized)", re.M)
SETUP_HINT = ("connect a phone with USB debugging enabled (or `adb connect HOST:PORT`), check it shows as `device` "
              "in `adb devices`; see android_runner/README.md")


@dataclass
class AttachedDevice:
    serial: str
    state: str
    properties: dict

    @property
    def model(self) -> str:
        return self.properties.get("model", "").replace("_", " ")


class DeviceLost(DeviceError):
    """The device went offline or disappeared while we were talking to it."""


class CommandTimeout(DeviceError):
    """A command ran past its time bound (the phone may still be running it)."""


@dataclass
class ShellResult:
    stdout: str
    stderr: str  # empty on the legacy protocol, which merges it into stdout
    rc: int
    protocol: str  # "shell_v2" or "legacy"

    @property
    def text(self) -> str:
        return self.stdout + ("\n" + self.stderr if self.stderr else "")


def adb_path() -> str:
    path = shutil.which("adb")
    if not path:
        raise DeviceError("adb not found on PATH; install it (Debian: `apt-get install adb`; or Android platform-tools)")
    return path


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    # stdin closed: the shell_v2 client forwards stdin and sends close-stdin at its end
    try:
        return subprocess.run([adb_path(), *args], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, errors="replace")
    except subprocess.TimeoutExpired:
        raise CommandTimeout(f"adb {' '.join(args[:3])} did not answer within {timeout:.0f} s") from None


def list_devices(timeout: float = 20.0) -> list[AttachedDevice]:
    out = _run(["devices", "-l"], timeout)
    devices = []
    for line in out.stdout.splitlines():
        line = line.strip()
        if not line or line.startswith(("List of devices", "*")):
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        props = dict(p.split(":", 1) for p in parts[2:] if ":" in p)
        devices.append(AttachedDevice(parts[0], parts[1], props))
    return devices


def choose_serial(serial: str | None, devices: list[AttachedDevice], target_name: str) -> str:
    ready = [d for d in devices if d.state == "device"]
    if serial:
        match = next((d for d in devices if d.serial == serial), None)
        if match is None:
            listed = ", ".join(d.serial for d in devices) or "none"
            raise DeviceError(f"no device with serial {serial} attached (attached: {listed}); {SETUP_HINT}")
        if match.state != "device":
            raise DeviceError(f"device {serial} is {match.state}, not ready; {SETUP_HINT}")
        return serial
    if not ready:
        others = ", ".join(f"{d.serial} ({d.state})" for d in devices)
        seen = f" (seen but not ready: {others})" if others else ""
        raise DeviceError(f"no Android device attached for target {target_name}{seen}; {SETUP_HINT}")
    if len(ready) > 1:
        raise DeviceError(
            f"{len(ready)} devices attached ({', '.join(d.serial for d in ready)}); choose one with --serial"
        )
    return ready[0].serial


class Adb:
    """Commands to one device. A lost device is retried once after `retry_wait_s`, then a DeviceLost error; a
    command past its timeout is a CommandTimeout at once (re-running a hung benchmark would only hang again)."""

    def __init__(self, serial: str, *, retry_wait_s: float = 5.0, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.serial = serial
        self.retry_wait_s = retry_wait_s
        self.timeout_s = timeout_s
        self.log: list[list[str]] = []  # every argv sent, for the record and for tests
        self._features: set[str] | None = None

    def _call(self, args: list[str], timeout: float | None = None, complete=None) -> subprocess.CompletedProcess:
        """Run adb; `complete(result)` says whether the answer is whole (a shell's exit marker arrived)."""
        argv = ["-s", self.serial, *args]
        limit = timeout or self.timeout_s
        for attempt in (1, 2):
            self.log.append(argv)
            try:
                result = _run(argv, limit)
            except CommandTimeout:
                raise CommandTimeout(f"device {self.serial}: `{' '.join(args)[:100]}` did not finish within "
                                     f"{limit:.0f} s; it was not re-run (the phone may still be running it)") from None
            text = (result.stderr or "") + (result.stdout or "" if result.returncode else "")
            lost = _LOST.search(text)
            if lost:
                problem = lost.group(1)
            elif complete is not None and not complete(result):
                problem = "connection closed before the command finished"
            else:
                return result
            if attempt == 1:
                time.sleep(self.retry_wait_s)
                if self._state() == "gone":
                    problem = f"{problem}; device '{self.serial}' not found"
        raise DeviceLost(f"device {self.serial} lost mid-run ({problem}); reconnect it and rerun: "
                         f"finished measurements are stored")

    def features(self) -> set[str]:
        """What the device's adbd speaks (`shell_v2`, `cmd`, ...), asked once."""
        if self._features is None:
            result = self._call(["features"], timeout=20)
            self._features = set(re.split(r"[\s,]+", result.stdout.strip())) - {""} if result.returncode == 0 else set()
        return self._features

    @property
    def protocol(self) -> str:
        return "shell_v2" if "shell_v2" in self.features() else "legacy"

    def run(self, command: str, timeout: float | None = None) -> ShellResult:
        """Run one shell command; stdout, stderr (shell_v2 only) and the remote exit code."""
        wrapped = f"{command}; __rc=$?; echo {RC_MARKER}$__rc; exit $__rc"
        result = self._call(["shell", wrapped], timeout, complete=lambda r: RC_MARKER in r.stdout)
        out = result.stdout.replace("\r\n", "\n")
        body, _, tail = out.rpartition(RC_MARKER)
        rc = int(tail.strip().split()[0]) if tail.strip()[:1].isdigit() else 1
        protocol = self.protocol
        if protocol == "shell_v2" and result.returncode != rc:
            raise DeviceError(f"device {self.serial}: adb exited {result.returncode} but the command reported {rc} "
                              f"(`{command[:60]}`); adb said: {(result.stderr or '').strip()[:160]}")
        return ShellResult(body, (result.stderr or "").replace("\r\n", "\n"), rc, protocol)

    def shell(self, command: str, timeout: float | None = None, check: bool = True) -> str:
        """stdout of one shell command; with `check`, a non-zero exit is an error carrying its last error line."""
        result = self.run(command, timeout)
        if check and result.rc != 0:
            said = (result.stderr.strip() or result.stdout.strip()).splitlines()
            raise DeviceError(f"device {self.serial}: `{command[:80]}` failed with exit code {result.rc}: "
                              f"{said[-1][:200] if said else 'no output'}")
        return result.stdout

    def _state(self) -> str:
        """`device`, `offline`, ... or `gone` when adb no longer lists the serial."""
        try:
            found = {d.serial: d.state for d in list_devices()}
        except DeviceError:
            return "gone"
        return found.get(self.serial, "gone")

    def push(self, local: str, remote: str) -> None:
        result = self._call(["push", local, remote], timeout=600)
        if result.returncode != 0:
            raise DeviceError(f"adb push {local} to {self.serial}:{remote} failed: {result.stderr.strip()[:200]}")

    def pull(self, remote: str, local: str) -> None:
        result = self._call(["pull", remote, local], timeout=600)
        if result.returncode != 0:
            raise DeviceError(f"adb pull {self.serial}:{remote} failed: {result.stderr.strip()[:200]}")

    def getprop(self, name: str) -> str:
        return self.shell(f"getprop {shlex.quote(name)}").strip()
