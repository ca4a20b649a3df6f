"""Runs under qemu-aarch64 with Debian's arm64 Python: loads one model with an aarch64 runtime (a .tflite with LiteRT,
XNNPACK; an .onnx with ONNX Runtime's CPU execution provider) and brackets each measured inference with marker
system calls that the count plugin (plugin/count.c) turns into instruction counts. Self-contained: only the standard
library, numpy, ai_edge_litert and onnxruntime are importable in the guest.

    python3.11 -P - FORMAT MODEL WARMUP RUNS THREADS < guest.py   ->  one JSON line on stdout (runtime facts)

FORMAT is tflite or onnx; MODEL is a path relative to the current folder. The host (repeatable.py) gives every run of
one artifact the same argv, environment and file names, so that nothing the guest sees differs between processes.

Markers (label, then the plugin's running counts): 1 and 2 back to back measure the cost of the bracketing itself;
then 100+2i before and 101+2i after inference i. Start-up, model load and warm-up come before marker 1.
Both runtimes get the input the host targets use (devices/host.py: standard normal, seed 0, set once) and run one
inference per call with nothing else in it (LiteRT: invoke(); ONNX Runtime: run_with_iobinding() on bound buffers).
"""

import ctypes
import functools
import gc
import json
import sys

MARKER_SYSCALL = 0x4D42  # the number plugin/count.c watches; Linux has no such call, so it returns -ENOSYS
INPUT_SEED = 0  # the host targets' input (devices/host.py)
LOAD_ERROR_EXIT = 3  # emulator.GUEST_LOAD_ERROR


def _input(shape, dtype):
    import numpy as np

    shape = [int(d) if isinstance(d, int) and d > 0 else 1 for d in shape]
    return np.random.default_rng(INPUT_SEED).standard_normal(shape).astype(dtype)


def _load_failed(exc: Exception) -> None:
    print(json.dumps({"error": "load", "message": str(exc).strip().splitlines()[0][:200]}))
    sys.exit(LOAD_ERROR_EXIT)


def litert_session(model: str, threads: int):
    """One LiteRT interpreter (XNNPACK, LiteRT's CPU default) with its input set once: (invoke, facts)."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(model_path=model, num_threads=threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        _load_failed(exc)
    detail = interpreter.get_input_details()[0]
    array = _input([int(d) for d in detail["shape"]], np.float32)
    if np.issubdtype(detail["dtype"], np.integer):
        scale, zero_point = detail["quantization"]
        info = np.iinfo(detail["dtype"])
        array = np.clip(np.round(array / scale) + zero_point, info.min, info.max)
    interpreter.set_tensor(detail["index"], array.astype(detail["dtype"]))
    return interpreter.invoke, {"input_dtype": str(np.dtype(detail["dtype"])), "input_shape": list(array.shape)}


def onnxruntime_session(model: str, threads: int):
    """One ONNX Runtime CPU session set up as devices/host.py's (sequential, all graph optimisations, one intra-op
    thread, no spinning), its input and outputs bound once: (run, facts)."""
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own Fail/InvalidProtobuf/NoSuchFile types
        _load_failed(exc)
    first = session.get_inputs()[0]
    dtype = {"tensor(float)": np.float32, "tensor(float16)": np.float16}.get(first.type, np.float32)
    array = _input(first.shape, dtype)
    binding = session.io_binding()
    binding.bind_ortvalue_input(first.name, ort.OrtValue.ortvalue_from_numpy(array))
    for out in session.get_outputs():
        binding.bind_output(out.name, "cpu")
    session.run_with_iobinding(binding)  # ORT allocates the outputs once; later runs write into them
    for out, value in zip(session.get_outputs(), binding.get_outputs()):
        binding.bind_ortvalue_output(out.name, value)
    facts = {"input_dtype": str(np.dtype(dtype)), "input_shape": list(array.shape),
             "providers": session.get_providers()}
    return functools.partial(session.run_with_iobinding, binding), facts


def guest_cpu() -> dict:
    """What the runtimes' CPU detection reads: qemu's /proc/cpuinfo (from -cpu) and the sysroot's CPU list."""
    facts = {}
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo.read().split("\n\n")[0].splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Features", "CPU part"):
                facts[key.strip().lower().replace(" ", "_")] = value.strip()
    with open("/sys/devices/system/cpu/possible") as possible:
        facts["cpus_possible"] = possible.read().strip()
    return facts


def main(model_format: str, model: str, warmup: int, runs: int, threads: int) -> None:
    import numpy as np

    mark = ctypes.CDLL(None, use_errno=True).syscall
    mark.restype = ctypes.c_long
    mark.argtypes = [ctypes.c_long, ctypes.c_long]
    invoke, facts = (onnxruntime_session if model_format == "onnx" else litert_session)(model, threads)
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
    print(json.dumps({**facts, "numpy": np.__version__, "guest_cpu": guest_cpu()}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
