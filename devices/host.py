"""Host CPU targets: ONNX Runtime (`host`) and LiteRT with XNNPACK (`host-litert`, the emulated mobile CPU).

Both run in this process: pinned to fixed cores, inputs bound once, each run timed alone (devices.timing).
"""

from __future__ import annotations

import os
import sys

import numpy as np

from bench.core.errors import ArtifactError, BenchError, first_line
from bench.core.outcome import Timing
from devices.affinity import pinned
from devices.hostinfo import host_facts
from devices.registry import Measurement, Target, register_target
from devices.timing import load_note, machine_load, measure_repeats, timed_alone
from exporters.versions import package_versions

INPUT_SEED = 0


def _input_array(shape, dtype) -> np.ndarray:
    shape = [int(d) if isinstance(d, (int, np.integer)) and d > 0 else 1 for d in shape]
    return np.random.default_rng(INPUT_SEED).standard_normal(shape).astype(dtype)


class OnnxRuntimeSession:
    """An ORT CPU session with its input and output bound once: `call()` is one inference, nothing else."""

    def __init__(self, path, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own Fail/InvalidProtobuf/NoSuchFile types
            raise ArtifactError(f"ONNX Runtime cannot load {path}: {first_line(exc)}") from None
        first_input = self.session.get_inputs()[0]
        dtype = {"tensor(float)": np.float32, "tensor(float16)": np.float16}.get(first_input.type, np.float32)
        self.input = _input_array(first_input.shape, dtype)
        self.binding = self.session.io_binding()
        self.binding.bind_ortvalue_input(first_input.name, ort.OrtValue.ortvalue_from_numpy(self.input))
        for out in self.session.get_outputs():
            self.binding.bind_output(out.name, "cpu")
        self.session.run_with_iobinding(self.binding)  # lets ORT allocate the outputs once
        # Re-bind the now allocated outputs so later runs write into the same buffers.
        for out, value in zip(self.session.get_outputs(), self.binding.get_outputs()):
            self.binding.bind_ortvalue_output(out.name, value)
        self._run = self.session.run_with_iobinding
        self._binding = self.binding

    def call(self) -> None:
        self._run(self._binding)


class LiteRtSession:
    """A LiteRT interpreter (XNNPACK delegate, LiteRT's CPU default) with its input set once."""

    def __init__(self, path, threads: int):
        from exporters.tflite_export import make_interpreter, to_input_dtype

        try:
            self.interpreter = make_interpreter(path, threads)
        except (ValueError, RuntimeError) as exc:
            raise ArtifactError(f"LiteRT cannot load {path}: {first_line(exc)}") from None
        detail = self.interpreter.get_input_details()[0]
        self.input = to_input_dtype(detail, _input_array(detail["shape"], np.float32))
        self.interpreter.set_tensor(detail["index"], self.input)
        self.input_dtype = str(np.dtype(detail["dtype"]))
        self.call = self.interpreter.invoke


class InProcessTarget(Target):
    """A runtime driven in this process. Its default is the first format and precision it `supports`; its record
    names the package `runtime_package` (the runtime's own name unless set)."""

    kind = "host"
    session_type: type = object  # opened as session_type(path, threads); its `call()` is one inference
    runtime_package = ""
    fixed_options: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.default_format = next(iter(cls.supports))
        cls.default_precision = cls.supports[cls.default_format][0]
        cls.runtime_package = cls.runtime_package or cls.runtime

    def open_session(self, path, threads: int):
        return self.session_type(path, threads)

    def check_threads(self, threads: int) -> None:
        cores = usable_cores()
        if threads > cores:
            raise BenchError(f"--threads {threads} is more than the {cores} cores this machine lets bench use; "
                             f"use --threads {cores} or fewer (more threads than cores time each other)")

    def session_facts(self, session, artifact) -> tuple[dict, dict]:
        """The options and extra facts a runtime's open session adds to the record (none by default)."""
        return {}, {}

    def measure(self, artifact, protocol, *, threads, options, progress) -> Measurement:
        with timed_alone(_say) as waited, pinned(threads) as cores:
            before = machine_load()  # once the lock is held: another bench run is not counted as load
            session = self.open_session(artifact.path, threads)
            samples = measure_repeats(session.call, protocol, progress)
            after = machine_load()
        load = {"before": before, "after": after, "lock_waited_s": waited}
        note = load_note(before, after, threads, usable_cores())
        session_options, session_extra = self.session_facts(session, artifact)
        runtime_package = self.runtime_package
        return Measurement(
            runtime=self.runtime,
            runtime_version=package_versions(runtime_package)[runtime_package] or "unknown",
            outcome=Timing(samples_ns=samples),
            device={**host_facts(), "pinned_cores": cores},
            options={"threads": threads, **session_options, **self.fixed_options, **options},
            extra={"machine_load": load, **({"load_note": note} if note else {}), **session_extra},
        )


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask), else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _say(line: str) -> None:
    print(f"bench: {line}", file=sys.stderr, flush=True)


class OnnxRuntimeTarget(InProcessTarget):
    name, aliases, runtime = "host", ("cpu",), "onnxruntime"
    description = "this machine's CPU, ONNX Runtime CPU execution provider"
    supports = {"onnx": ("fp32",)}
    fixed_options = {"provider": "CPUExecutionProvider", "io_binding": True}
    session_type = OnnxRuntimeSession


class LiteRtTarget(InProcessTarget):
    name, aliases, runtime = "host-litert", ("litert",), "litert"
    description = "this machine's CPU, LiteRT interpreter with XNNPACK (x86 kernels; arm64-emu runs the ARM ones)"
    runtime_package = "ai-edge-litert"
    supports = {"tflite": ("fp32", "fp16", "int8")}
    fixed_options = {"delegate": "xnnpack"}
    session_type = LiteRtSession


register_target(OnnxRuntimeTarget())
register_target(LiteRtTarget())
