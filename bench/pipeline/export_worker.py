"""Export worker processes for `--jobs N`: each `python -m bench.pipeline.export_worker THREADS` takes export orders
on stdin and answers each on stdout, one after another, until stdin closes.

Own processes rather than multiprocessing's: a spawned multiprocessing child re-runs the caller's main script (an
unguarded `bench.measure_many(..., jobs=2)` in a script would run again in every child), and a forked one would
inherit torch's threads. A frame is an 8-byte big-endian length and a pickle: in, a RunSpec pickled by
cloudpickle, so a network class defined in a script or notebook travels by value; out, the Artifact or a typed
error's reply (bench/pipeline/orders.py). Whatever the exporters print goes to stderr, a file the coordinator reads
back only if the worker dies: stdout is the channel.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_LENGTH = struct.Struct("!Q")
STOP_TIMEOUT_S = 20  # for an interrupted export to clean up before the worker is killed


def write_frame(stream, data: bytes) -> None:
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def read_frame(stream) -> bytes | None:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None  # closed
    (length,) = _LENGTH.unpack(head)
    return stream.read(length)


def payload(spec) -> bytes | None:
    """The order for a worker process, or None when it cannot travel (a class in __main__ and no cloudpickle)."""
    try:
        import cloudpickle
    except ImportError:
        classes = {type(m) for m in spec.model.modules()} if hasattr(spec.model, "modules") else set()
        if any(c.__module__ == "__main__" for c in classes):
            return None
        return pickle.dumps(spec)
    return cloudpickle.dumps(spec)


class WorkerProcess:
    """One export worker, driven from one thread of the coordinator."""

    def __init__(self, threads: int):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
        # The exporters' native libraries print to stderr at import: kept in a file, its last line read back if
        # the worker dies.
        self.log = tempfile.TemporaryFile(mode="w+", prefix="bench-export-worker-")
        self.process = subprocess.Popen([sys.executable, "-m", "bench.pipeline.export_worker", str(threads)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env)

    def export(self, data: bytes):
        """The worker's answer (unpickled), or None if it died."""
        try:
            write_frame(self.process.stdin, data)
            answer = read_frame(self.process.stdout)
        except (OSError, ValueError):  # a broken pipe: the worker died or was killed
            answer = None
        try:
            return None if answer is None else pickle.loads(answer)
        except (pickle.UnpicklingError, EOFError):  # cut short by its death
            return None

    def exit_status(self):
        return self.process.poll()

    def last_words(self) -> str:
        """The last line the worker wrote to stderr (why it died)."""
        self.log.seek(0)
        lines = [line.strip() for line in self.log.read().splitlines() if line.strip()]
        return lines[-1][:300] if lines else "no output"

    def interrupt(self) -> None:
        """SIGINT: an export under way removes its staging folder (bench/artifact/entry.py) and the worker exits."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)

    def stop(self) -> None:
        """An idle worker ends at the end of its input; a busy one is interrupted, then killed if it lingers."""
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        for step in (lambda: None, self.interrupt, self.process.kill):
            step()
            try:
                self.process.wait(STOP_TIMEOUT_S)
                break
            except subprocess.TimeoutExpired:
                continue
        self.log.close()


def serve(threads: int) -> None:
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # prints, native ones too, go to stderr
    sys.stdout = sys.stderr
    try:
        import torch

        torch.set_num_threads(threads)  # N exports on N cores: a core each, not N each
    except ImportError:
        pass
    from bench.pipeline.orders import error_reply, export_order

    while (frame := read_frame(sys.stdin.buffer)) is not None:
        spec = pickle.loads(frame)
        try:
            answer = export_order(spec)
        except Exception as exc:  # a bug, not a typed error: one line back, the worker goes on
            answer = error_reply(exc, "ExportError", f"exporting {getattr(spec, 'name', None) or spec.model} failed: "
                                                     f"{type(exc).__name__}: {str(exc).strip()[:300]}")
        write_frame(channel, pickle.dumps(answer))


if __name__ == "__main__":
    try:
        serve(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
    except KeyboardInterrupt:  # stopped by the coordinator (or Ctrl-C): the export under way cleaned up after itself
        sys.exit(130)
