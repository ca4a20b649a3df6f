"""Host CPU target for .pte: ExecuTorch's runtime (its Python bindings, XNNPACK backend) in this process.

Timed like the ONNX Runtime and LiteRT host targets (devices.host): pinned to fixed cores, the input built once,
each `forward` timed alone. ExecuTorch's XNNPACK backend runs on one process-wide threadpool; `--threads` sizes it
with the bindings' `_unsafe_reset_threadpool`, the call ExecuTorch's own runners make for `--cpu_threads`, and the
record keeps the size the threadpool reports back.
"""

from __future__ import annotations

import functools

import numpy as np

from bench.core.errors import ArtifactError
from bench.core.options import Option
from devices.delegation import delegation_extra, refuse_partial
from devices.host import INPUT_SEED, InProcessTarget
from devices.registry import register_target


def set_threads(threads: int) -> int:
    """Size ExecuTorch's process-wide threadpool; returns the size it reports."""
    from exporters.quiet import converter_output_captured

    with converter_output_captured():  # the bindings' import and the reset log to stderr from C++
        from executorch.extension.pybindings.portable_lib import (_threadpool_get_thread_count,
                                                                  _unsafe_reset_threadpool)

        _unsafe_reset_threadpool(threads)
        return int(_threadpool_get_thread_count())


class ExecuTorchSession:
    """A loaded `forward` with its input list built once: `call()` is one inference (outputs are copied out by the
    bindings on every call, as for any user of ExecuTorch's Python runtime)."""

    def __init__(self, path, threads: int):
        import torch

        from exporters.pte_export import load_method

        self.threads = set_threads(threads)
        try:
            method = load_method(path)
        except (RuntimeError, ValueError) as exc:
            raise ArtifactError(f"ExecuTorch cannot load {path}: {str(exc).strip().splitlines()[0][:200]}") from None
        meta = method.metadata.input_tensor_meta(0)
        shape = [int(d) for d in meta.sizes()]
        array = np.random.default_rng(INPUT_SEED).standard_normal(shape).astype(np.float32)
        self.inputs = [torch.from_numpy(array)]
        self.method = method
        self.call = functools.partial(method.execute, self.inputs)


class ExecuTorchTarget(InProcessTarget):
    name, aliases, runtime = "host-executorch", ("executorch",), "executorch"
    description = "this machine's CPU, ExecuTorch runtime with the XNNPACK backend (x86 kernels)"
    supports = {"pte": ("fp32", "int8")}
    fixed_options = {"backend": "xnnpack"}
    session_type = ExecuTorchSession
    options = (Option("require_full_delegation", bool, False,
                      "refuse a .pte whose graph XNNPACK did not take whole (ops left to portable kernels)"),)

    def ready(self, artifact, options) -> None:
        refuse_partial(artifact, options)

    def session_facts(self, session, artifact) -> tuple[dict, dict]:
        return {"threadpool_threads": session.threads}, delegation_extra(artifact)


register_target(ExecuTorchTarget())
