"""What a benchmark_model binary is built for, read from its ELF header on the host before anything is pushed.

The ELF layout (System V gABI; Linux's elf.h): `e_ident` starts with b"\\x7fELF", then EI_CLASS (1 = 32-bit,
2 = 64-bit) and EI_DATA (1 = little-endian); `e_machine` is the 2-byte field at offset 18 (EM_386 3, EM_ARM 40,
EM_X86_64 62, EM_AARCH64 183, EM_RISCV 243). The program headers (`e_phoff` at 28 / 32, `e_phentsize` and
`e_phnum` at 42, 44 / 54, 56 for 32 / 64-bit) hold PT_INTERP (type 3), the dynamic loader's path: an Android
build names /system/bin/linker64 (or /system/bin/linker for 32-bit); a Linux build names glibc's
(/lib/ld-linux-aarch64.so.1) and cannot start on a phone; a static build has none.

Android ABIs (developer.android.com/ndk/guides/abis), as a phone lists them in `ro.product.cpu.abilist`:
arm64-v8a (AArch64), armeabi-v7a and armeabi (32-bit ARM), x86, x86_64, riscv64. A Pixel 7 lists only arm64-v8a.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from bench.core.errors import DeviceError

# TensorFlow Lite's performance measurement guide (tensorflow.org/lite/performance/measurement, now
# ai.google.dev/edge/litert/models/measurement), "Native benchmark binary > Download or build the binary".
NIGHTLY = "https://storage.googleapis.com/tensorflow-nightly-public/prod/tensorflow/release/lite/tools/nightly/latest/"
NIGHTLY_BINARIES = {"arm64-v8a": "android_aarch64_benchmark_model", "armeabi-v7a": "android_arm_benchmark_model"}
GUIDE = "https://www.tensorflow.org/lite/performance/measurement"

# (e_machine, bits) -> (what it is called, the Android ABIs that run it)
MACHINES = {
    (183, 64): ("AArch64", ("arm64-v8a",)),
    (40, 32): ("32-bit ARM", ("armeabi-v7a", "armeabi")),
    (62, 64): ("x86-64", ("x86_64",)),
    (3, 32): ("x86", ("x86",)),
    (243, 64): ("RISC-V 64", ("riscv64",)),
}
PT_INTERP = 3
ANDROID_LOADERS = ("/system/bin/linker64", "/system/bin/linker")


@dataclass(frozen=True)
class Executable:
    path: Path
    machine: str  # "AArch64", "x86-64", ...
    abis: tuple[str, ...]  # the Android ABIs that run it
    interpreter: str | None  # PT_INTERP; None for a static build


def download_hint(abis: list[str] | tuple[str, ...]) -> str:
    """Where to get a binary for a phone with these ABIs (its preferred one first)."""
    for abi in abis:
        if abi in NIGHTLY_BINARIES:
            return f"download the {NIGHTLY_BINARIES[abi][:-16]} binary from {NIGHTLY}{NIGHTLY_BINARIES[abi]}"
    return f"build benchmark_model for {abis[0] if abis else 'the phone'} from source ({GUIDE})"


def read_executable(path: Path) -> Executable:
    """The machine and loader of an ELF executable; DeviceError (one line) for anything else."""
    head = Path(path).read_bytes()[:1 << 16]
    if head[:4] != b"\x7fELF":
        raise DeviceError(f"the benchmark_model binary {path} is not an ELF executable; "
                          f"{download_hint(['arm64-v8a'])}")
    bits = {1: 32, 2: 64}.get(head[4])
    if bits is None or head[5] != 1 or len(head) < {32: 52, 64: 64}[bits]:
        raise DeviceError(f"the benchmark_model binary {path} is not a little-endian 32- or 64-bit ELF file; "
                          f"{download_hint(['arm64-v8a'])}")
    machine = struct.unpack_from("<H", head, 18)[0]
    known = MACHINES.get((machine, bits))
    if known is None:
        raise DeviceError(f"the benchmark_model binary {path} is built for ELF machine {machine} ({bits}-bit), "
                          f"which no Android ABI runs; {download_hint(['arm64-v8a'])}")
    return Executable(Path(path), known[0], known[1], _interpreter(head, bits, Path(path)))


def _interpreter(head: bytes, bits: int, path: Path) -> str | None:
    """PT_INTERP's path, or None (a static build)."""
    if bits == 32:
        phoff, (entsize, count) = struct.unpack_from("<I", head, 28)[0], struct.unpack_from("<HH", head, 42)
    else:
        phoff, (entsize, count) = struct.unpack_from("<Q", head, 32)[0], struct.unpack_from("<HH", head, 54)
    data = head
    if phoff + entsize * count > len(data):
        data = path.read_bytes()
    for at in range(phoff, phoff + entsize * count, entsize or 1):
        if at + entsize > len(data) or struct.unpack_from("<I", data, at)[0] != PT_INTERP:
            continue
        offset, size = (struct.unpack_from("<I", data, at + 4)[0], struct.unpack_from("<I", data, at + 16)[0]) \
            if bits == 32 else (struct.unpack_from("<Q", data, at + 8)[0], struct.unpack_from("<Q", data, at + 32)[0])
        if offset + size > len(data):
            data = path.read_bytes()
        return data[offset:offset + size].split(b"\0", 1)[0].decode("ascii", "replace")
    return None


def check_android_build(exe: Executable) -> None:
    """A dynamically linked binary must name Android's loader; a glibc (Linux) build cannot start on a phone."""
    if exe.interpreter and not exe.interpreter.startswith(ANDROID_LOADERS):
        usual = [abi for abi in exe.abis if abi in NIGHTLY_BINARIES] or ["arm64-v8a"]
        raise DeviceError(f"the benchmark_model binary {exe.path} is a Linux build (its loader is "
                          f"{exe.interpreter}), not an Android one; {download_hint(usual)}")


def check_abi(exe: Executable, abilist: list[str], phone: str) -> None:
    """Refuse, before any push, a binary that the phone's ABIs cannot run."""
    if not abilist:
        return  # the phone did not say (ro.product.cpu.abilist empty): the run itself will tell
    if not set(exe.abis) & set(abilist):
        raise DeviceError(f"the benchmark_model binary {exe.path} is {exe.machine}; {phone} runs "
                          f"{', '.join(abilist)}; {download_hint(abilist)}")
