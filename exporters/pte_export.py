""".pte (ExecuTorch) with the XNNPACK backend, the way ExecuTorch's XNNPACK docs lower a model:
torch.export.export -> to_edge_transform_and_lower(partitioner=[XnnpackPartitioner()]) -> to_executorch().

- fp32: the exported program as is; parity is the relative L2 error against PyTorch.
- int8: ExecuTorch's XNNPACKQuantizer (symmetric per-channel weights, static int8 activations) through torchao's
  pt2e prepare/convert, its ranges observed on the same representative data as the TFLite int8 path
  (`tflite_export.representative_images`: synthetic or the user's directory); judged against PyTorch fp32 by cosine
  similarity over the representative data's first inputs and the parity input.

Each step that can fail says which it was (export, quantization, lowering, run) and, where ExecuTorch names one, the
operator; the artifact cache deletes the staging folder, so nothing half-made is cached. What XNNPACK did not take
stays on ExecuTorch's portable kernels: recorded as the delegation share, which a target can refuse
(`--require-full-delegation`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from bench.core.errors import ExportError
from exporters.parity import FP32_REL_L2, INT8_MIN_COSINE, agreement, mean_agreement, require_cosine, require_rel_l2
from exporters.quiet import converter_output_captured
from exporters.registry import Exporter, register_exporter
from exporters.versions import package_versions

PARITY_INPUTS = 4  # representative inputs the int8 check runs, besides the fixed parity input
_OP = re.compile(r"\b(aten|quantized_decomposed|torch\.ops\.\w+)[.:]+[A-Za-z_][\w.]*")


# ExecuTorch's runtime Error codes (runtime/core/error.h) that a load or run of a fresh .pte can return; the
# bindings print only the number ("error: 0x:14").
_RUNTIME_ERRORS = {0x12: "InvalidArgument", 0x13: "InvalidType", 0x14: "OperatorMissing: the runtime has no kernel "
                   "for an op left outside the delegate", 0x21: "MemoryAllocationFailed", 0x23: "InvalidProgram",
                   0x30: "DelegateInvalidCompatibility"}
_CODE = re.compile(r"error: 0x:?([0-9a-fA-F]+)")


def runtime_error(exc: BaseException) -> str:
    """The runtime's message with its error code named ("... error: 0x:14 (OperatorMissing: ...)")."""
    line = _first_line(exc)
    found = _CODE.search(line)
    name = _RUNTIME_ERRORS.get(int(found.group(1), 16)) if found else None
    return f"{line} ({name})" if name else line


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:240]


def _op_named(exc: BaseException) -> str:
    """The first operator an ExecuTorch or torch.export message names ("aten.sort.default"), or ""."""
    found = _OP.search(str(exc))
    return found.group(0) if found else ""


def step_failed(step: str, model: str, exc: BaseException) -> ExportError:
    op = _op_named(exc)
    where = f" at op {op}" if op else ""
    return ExportError(f"ExecuTorch cannot make a .pte of {model}: the {step} step failed{where}: "
                       f"{type(exc).__name__}: {_first_line(exc)}")


def require_executorch() -> None:
    import importlib.util

    if importlib.util.find_spec("executorch") is None:
        raise ExportError("the pte format needs ExecuTorch: pip install -e '.[executorch]' -c constraints.txt")


def load_method(path_or_bytes):
    """ExecuTorch's Python runtime (executorch.runtime): the program's `forward` method, loaded once."""
    from executorch.runtime import Runtime

    with converter_output_captured():  # the runtime's cpuinfo probe logs to stderr from C++
        program = Runtime.get().load_program(path_or_bytes)
        return program.load_method("forward")


def run_pte(path, array: np.ndarray) -> np.ndarray:
    import torch

    method = load_method(Path(path))
    return method.execute([torch.from_numpy(array)])[0].numpy()


@register_exporter
class PteExporter(Exporter):
    format = "pte"
    precisions = ("fp32", "int8")
    suffix = ".pte"
    # 2: ops left outside the delegate named as torch names them (aten.sum.dim_IntList); 3: the deployed graph's
    # memory traffic in the facts (exporters/pte_file.py), which entries made before lack
    version = "3"

    def tool_versions(self) -> dict:
        return package_versions("torch", "executorch", "torchao")

    def describe(self, path):
        from exporters.pte_file import describe_pte

        return describe_pte(Path(path))

    def export(self, model, request, out_path, context) -> dict:
        import torch

        from exporters.pte_graph import describe_partial, graph_counts

        require_executorch()
        example = torch.from_numpy(context["input"])
        model = model.eval()
        program = self._exported(model, (example,), request.model)
        deployed = graph_counts(program, example)
        representative = None
        if request.precision == "int8":
            from exporters.tflite_export import representative_images

            images = representative_images(request, model)
            program = self._exported(self._quantized(program, images, request.model), (example,), request.model)
            representative = {"source": request.representative, "images": len(images)}
        delegation, buffer = self._lowered(program, request.model)
        out_path.write_bytes(buffer)
        try:
            parity = self._parity(out_path, model, request, context, images if representative else [])
        except RuntimeError as exc:  # the runtime cannot load or run it, e.g. no kernel for an op XNNPACK left
            partial = f" ({describe_partial(delegation)})" if delegation["graph"] == "partial" else ""
            raise ExportError(f"ExecuTorch cannot make a .pte of {request.model}: the run step failed: "
                              f"{runtime_error(exc)}{partial}") from None
        facts = {"parity": parity, "delegation": delegation, "deployed_graph": deployed}
        if representative:
            facts["representative_data"] = representative
        return facts

    @staticmethod
    def _exported(module, args, name):
        import torch

        try:
            with converter_output_captured():
                return torch.export.export(module, args)
        except Exception as exc:  # torch.export raises many types (Unsupported, UserError, GuardOnData...)
            raise step_failed("export (torch.export)", name, exc) from None

    @staticmethod
    def _quantized(program, images: list[np.ndarray], name):
        import torch

        try:
            with converter_output_captured():  # executorch's and torchao's imports log torch deprecations
                from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
                    XNNPACKQuantizer, get_symmetric_quantization_config)
                from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

                quantizer = XNNPACKQuantizer()
                quantizer.set_global(get_symmetric_quantization_config(is_per_channel=True))
                prepared = prepare_pt2e(program.module(), quantizer)
                with torch.no_grad():
                    for image in images:
                        prepared(torch.from_numpy(image))
                return convert_pt2e(prepared)
        except Exception as exc:
            raise step_failed("quantization (XNNPACKQuantizer, pt2e)", name, exc) from None

    @staticmethod
    def _lowered(program, name):
        from exporters.pte_graph import delegation_facts

        try:
            with converter_output_captured():
                from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
                from executorch.exir import to_edge_transform_and_lower

                edge = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
                # Counted before to_executorch(), whose memory planning adds alloc nodes to the same graph.
                delegation = delegation_facts(edge.exported_program().graph_module)
                return delegation, edge.to_executorch().buffer
        except Exception as exc:
            raise step_failed("lowering (to_edge_transform_and_lower, to_executorch)", name, exc) from None

    @staticmethod
    def _parity(path, model, request, context, images) -> dict:
        import torch

        if request.precision == "fp32":
            return require_rel_l2(agreement(run_pte(path, context["input"]), context["reference"]), FP32_REL_L2,
                                  "PyTorch fp32")
        method = load_method(path)
        rows = []
        with torch.no_grad():
            for x in images[:PARITY_INPUTS] + [context["input"]]:
                rows.append(agreement(method.execute([torch.from_numpy(x)])[0].numpy(),
                                      model(torch.from_numpy(x)).numpy()))
        return require_cosine(mean_agreement(rows), INT8_MIN_COSINE, "PyTorch fp32 (mean over inputs)")
