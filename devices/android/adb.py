"""The adb transport: the real `adb` client, every call bounded in time, every answer read (not just exit codes).

Facts about adb that shape this module: `adb devices` with no phone prints only its header and exits 0;
`adb connect` that fails still exits 0; `adb wait-for-device` hangs forever; an unresponsive device shows as
`offline`; legacy `adb shell` does not return the remote exit status, so commands end with an exit-code marker.
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
_LOST = re.compile(r"device '?[^']*'? not found|device offline|no devices/emulators found|device still authorizing"
                   r"|error: closed|protocol fault|device unauthorized")
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


def adb_path() -> str:
    path = shutil.which("adb")
    if not path:
        raise DeviceError("adb not found on PATH; install it (Debian: `apt-get install adb`; or Android platform-tools)")
    return path


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([adb_path(), *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DeviceLost(f"adb {' '.join(args[:3])} did not answer within {timeout:.0f} s") from None


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
    """Commands to one device. A lost device is retried once after `retry_wait_s`, then a DeviceLost error."""

    def __init__(self, serial: str, *, retry_wait_s: float = 5.0, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.serial = serial
        self.retry_wait_s = retry_wait_s
        self.timeout_s = timeout_s
        self.log: list[list[str]] = []  # every argv sent, for the record and for tests

    def _call(self, args: list[str], timeout: float | None = None, complete=None) -> subprocess.CompletedProcess:
        """Run adb; `complete(result)` says whether the answer is whole (a shell's exit marker arrived)."""
        argv = ["-s", self.serial, *args]
        for attempt in (1, 2):
            self.log.append(argv)
            try:
                result = _run(argv, timeout or self.timeout_s)
            except DeviceLost as exc:
                problem = str(exc)
            else:
                text = (result.stderr or "") + (result.stdout or "" if result.returncode else "")
                lost = _LOST.search(text)
                if lost:
                    problem = lost.group(0)
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

    def shell(self, command: str, timeout: float | None = None, check: bool = True) -> str:
        result = self._call(["shell", f"{command}; echo {RC_MARKER}$?"], timeout,
                            complete=lambda r: RC_MARKER in r.stdout)
        out = result.stdout.replace("\r\n", "\n")
        body, _, tail = out.rpartition(RC_MARKER)
        rc = int(tail.strip() or 1)
        if check and rc != 0:
            raise DeviceError(f"device {self.serial}: `{command[:80]}` failed with exit code {rc}: "
                              f"{body.strip().splitlines()[-1][:200] if body.strip() else 'no output'}")
        return body

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
