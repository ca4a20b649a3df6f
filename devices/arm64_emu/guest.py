"""Runs under qemu-aarch64 with Debian's arm64 Python: loads one .tflite with LiteRT's aarch64 build and brackets
each measured inference with marker system calls that the count plugin (plugin/count.c) turns into instruction
counts. Self-contained: only the standard library, numpy and ai_edge_litert are importable in the guest.

    python3.11 guest.py MODEL WARMUP RUNS THREADS   ->  one JSON line on stdout (interpreter facts)

Markers (label, then the plugin's running count): 1 and 2 back to back measure the cost of the bracketing itself;
then 100+2i before and 101+2i after inference i. Start-up, model load and warm-up come before marker 1.
"""

import ctypes
import gc
import json
import sys

MARKER_SYSCALL = 0x4D42  # the number plugin/count.c watches; Linux has no such call, so it returns -ENOSYS
INPUT_SEED = 0  # the host targets' input (devices/host.py)


def main(model: str, warmup: int, runs: int, threads: int) -> None:
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    mark = ctypes.CDLL(None, use_errno=True).syscall
    mark.restype = ctypes.c_long
    mark.argtypes = [ctypes.c_long, ctypes.c_long]
    try:
        interpreter = Interpreter(model_path=model, num_threads=threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        print(json.dumps({"error": "load", "message": str(exc).strip().splitlines()[0][:200]}))
        sys.exit(3)
    detail = interpreter.get_input_details()[0]
    shape = [int(d) if d > 0 else 1 for d in detail["shape"]]
    array = np.random.default_rng(INPUT_SEED).standard_normal(shape).astype(np.float32)
    if np.issubdtype(detail["dtype"], np.integer):
        scale, zero_point = detail["quantization"]
        info = np.iinfo(detail["dtype"])
        array = np.clip(np.round(array / scale) + zero_point, info.min, info.max)
    interpreter.set_tensor(detail["index"], array.astype(detail["dtype"]))
    invoke = interpreter.invoke
    for _ in range(warmup):
        invoke()
    gc.disable()  # no collection may land between two markers
    mark(MARKER_SYSCALL, 1)
    mark(MARKER_SYSCALL, 2)
    for i in range(runs):
        mark(MARKER_SYSCALL, 100 + 2 * i)
        invoke()
        mark(MARKER_SYSCALL, 101 + 2 * i)
    gc.enable()
    print(json.dumps({"input_dtype": str(np.dtype(detail["dtype"])), "input_shape": shape,
                      "numpy": np.__version__}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
