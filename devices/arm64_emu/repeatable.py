"""What a guest run sees, made the same in every process, so that counts of one artifact repeat byte for byte
whichever process, folder, environment, machine load or moment measures them (tests/test_arm64_emu.py checks it).

Each fact below was found by diffing two processes' per-block execution counts between the same markers (a scratch
copy of plugin/count.c that dumped them) and mapping the blocks to the guest's libraries:
- qemu-user hands the guest its own argv, environment and current folder, which sit on the guest's stack and in its
  heap: their sizes move where pymalloc and glibc's malloc put things, and with that branches in PyObject_Free,
  _int_malloc and dict probes (a longer PATH or model path moved an inference by 3 to 16 instructions and the marker
  pair by up to 70). So qemu and the guest get GUEST_ENV and nothing of the host's, the script comes on stdin
  (`python3.11 -P -`: no checkout path in argv, no folder on sys.path) and the model is `model.<format>` in a fresh
  folder that is the current one (guest_folder()).
- Without -R, qemu places the guest's mmaps wherever the host's mmap finds room, between qemu's own allocations: a
  host thread's 64 MB malloc arena, made at a moment that depends on timing, moved every guest library by 64 MB.
  With -R the guest's address space is reserved up front and qemu places its mmaps from that space's own map, so
  they follow the guest's calls alone. `setarch --addr-no-randomize` keeps qemu's own layout fixed; -seed fixes the
  AT_RANDOM bytes and getrandom() results (stack canaries, malloc's tcache key).
- ONNX Runtime 1.32's InferenceSession::Run adds each run's wall time to per-batch-size totals and reports them at
  intervals that start short and double up to 10 minutes: when an interval ends it takes a different path (one
  more clock read, a map node freed, then made again on the next run: about 240 to 500 instructions), at a moment
  set by the host's speed. ORT_DISABLE_TELEMETRY stops its telemetry threads and uploads, not this. The guest's
  clock is therefore stopped at one instant by libfaketime (Debian's, in the sysroot): every run takes the same
  path. libfaketime names a semaphore and a shared-memory object after the process id, and the digits of the pid
  moved counts too (3 of 4.5e7, about 50 of 1.35e8), so guest_clock() makes the pair itself, one per run, under
  names of one length, and hands them over in FAKETIME_SHARED.
- Files outside the sysroot are the host's (qemu -L falls back to them file by file): setup.sh puts stand-ins in the
  sysroot for those a run reads (/etc, /sys), so a different host does not change what the guest sees.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.core.errors import ArtifactError, DeviceError

GUEST_ENV = {"PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
             "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
             "ORT_DISABLE_TELEMETRY": "1", "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "TZ": "UTC0",
             "HOME": "/nonexistent"}  # all of it; HOME is set, or Python's site.py reads the host's /etc/passwd
# libfaketime's settings, given with qemu's -E so that qemu's own (x86) loader never sees the arm64 LD_PRELOAD. An
# absolute time is a stopped clock; the setting is read once (by default it is re-read every 10 real seconds).
GUEST_CLOCK = {"LD_PRELOAD": "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
               "FAKETIME": "2000-01-01 00:00:00", "FAKETIME_CACHE_DURATION": "1000000000", "NO_FAKE_STAT": "1"}
RESERVED_VA = "0x400000000"  # 16 GiB of guest address space, reserved (not committed) up front
RANDOM_SEED = "0"
GUEST_MODEL = "model"  # the artifact's name in the guest's folder: model.tflite, model.onnx


PTE_INPUT = "input.bin"  # the .pte runner's input, written beside the model (the runner has no numpy)
PTE_INPUT_MAX = 3 * 1024 * 1024
INPUT_SEED = 0  # the host targets' input (devices/host.py): standard normal, seed 0


def model_format(model: Path) -> str:
    return {".onnx": "onnx", ".pte": "pte"}.get(model.suffix, "tflite")


def guest_env(site: Path) -> dict:
    return {**GUEST_ENV, "PYTHONPATH": str(site)}


def guest_command(setup, plugin_args: list[str], fmt: str, clock_objects: str, *, warmup: int, runs: int,
                  threads: int, cpu: str) -> list[str]:
    """qemu running guest.py (read from stdin) on `model.<fmt>` in the current folder: the same argv for every run of
    one format and settings, but for the clock objects' names (of one length)."""
    clock = {**GUEST_CLOCK, "FAKETIME_SHARED": clock_objects}
    if fmt == "pte":  # ExecuTorch's C++ runtime, no Python: its runner counts between the same markers
        guest = [str(setup.pte_runner), "count", f"{GUEST_MODEL}.{fmt}", PTE_INPUT, str(warmup), str(runs)]
    else:
        guest = [str(setup.python), "-P", "-", fmt, f"{GUEST_MODEL}.{fmt}", str(warmup), str(runs), str(threads)]
    return [shutil.which("setarch") or "setarch", "--addr-no-randomize", str(setup.qemu), "-cpu", cpu,
            "-R", RESERVED_VA, "-seed", RANDOM_SEED, *(a for k, v in clock.items() for a in ("-E", f"{k}={v}")),
            "-L", str(setup.root / "sysroot"), *plugin_args, *guest]


def guest_folder(model: Path, folder: Path) -> Path:
    """A new `folder` for the guest to run in, holding `model` linked as model.<format>; beside an ONNX model, the
    files next to it, linked under their own names (ONNX Runtime reads external weights from the model's folder)."""
    model = model.resolve()
    if not model.is_file():
        raise ArtifactError(f"{model} does not exist or is not a file")
    fmt = model_format(model)
    folder.mkdir()
    (folder / f"{GUEST_MODEL}.{fmt}").symlink_to(model)
    if fmt == "pte":
        write_pte_input(folder / PTE_INPUT)
    if fmt == "onnx" and model.parent.is_dir():
        for sibling in model.parent.iterdir():
            link = folder / sibling.name
            if sibling != model and sibling.is_file() and not link.exists():
                link.symlink_to(sibling)
    return folder


def write_pte_input(path: Path) -> None:
    """The host targets' input (standard normal, seed 0) as raw float32 for pte_runner, which reads the first values
    its input tensor holds: numpy draws them in order, so those are exactly the values the host targets get at that
    shape, whatever the model's resolution (up to PTE_INPUT_MAX floats, one 3x1024x1024 image)."""
    import numpy as np

    np.random.default_rng(INPUT_SEED).standard_normal(PTE_INPUT_MAX).astype("<f4").tofile(path)


@contextmanager
def guest_clock() -> Iterator[str]:
    """The semaphore and shared-memory object libfaketime would otherwise make under the guest's pid: made here (a
    POSIX semaphore of value 1 and an 8-byte object, as libfaketime's ft_shm_create() makes them), named
    "/bench-arm64-<16 hex digits>-sem" and "...-shm", removed afterwards. Yields FAKETIME_SHARED's value."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.sem_open.restype, libc.sem_open.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint,
                                                                      ctypes.c_uint]
    base = f"/bench-arm64-{secrets.token_hex(8)}"
    sem, shm = f"{base}-sem".encode(), f"{base}-shm".encode()
    handle = libc.sem_open(sem, os.O_CREAT | os.O_EXCL, 0o600, 1)
    if not handle:  # SEM_FAILED
        raise _clock_error(sem)
    libc.sem_close(ctypes.c_void_p(handle))
    try:
        fd = libc.shm_open(shm, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        if fd < 0:
            raise _clock_error(shm)
        os.ftruncate(fd, 8)
        os.close(fd)
        yield f"{sem.decode()} {shm.decode()}"
    finally:
        libc.shm_unlink(shm)
        libc.sem_unlink(sem)


def _clock_error(name: bytes) -> DeviceError:
    error = os.strerror(ctypes.get_errno())
    return DeviceError(f"cannot make {name.decode()} in /dev/shm for the emulated guest's clock ({error}); "
                       "the arm64-emu target needs a writable /dev/shm")


@contextmanager
def guest_run(model: Path) -> Iterator[tuple[Path, str]]:
    """A fresh folder holding the model, and the clock objects, for one guest process: (folder, FAKETIME_SHARED)."""
    with tempfile.TemporaryDirectory(prefix="bench-arm64-guest-") as tmp, guest_clock() as clock:
        yield guest_folder(model, Path(tmp) / "guest"), clock
