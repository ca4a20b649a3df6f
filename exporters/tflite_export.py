"""TFLite via litert-torch (PyTorch -> LiteRT), quantized with ai-edge-quantizer.

- fp32: the converter's output as is.
- fp16: float16 weights (FLOAT_CASTING weight-only recipe): dequantized once by XNNPACK on a CPU, used natively
  by GPU delegates. Judged by cosine similarity against PyTorch run with the same fp16-rounded weights, because
  with random weights the error is dominated by rounding them (and MNv4-Hybrid's 1e-5 layer-scale folds into
  subnormal fp16 weights, so a tight relative-error bound would fail on a correct export).
- int8: full-integer static quantization (`static_wi8_ai8`), its ranges taken on representative data (synthetic
  images or a directory of real ones); judged against the fp32 model by cosine similarity and top-5 agreement.
"""

from __future__ import annotations

import copy
import hashlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from bench.core.errors import ExportError, first_line
from bench.core.hashing import content_hash
from exporters.quiet import converter_output_captured
from exporters.parity import (FP32_REL_L2, INT8_MIN_COSINE, agreement, mean_agreement, require_cosine,
                              require_rel_l2)
from exporters.registry import Exporter, register_exporter
from exporters.versions import package_versions

FP16_MIN_COSINE = 0.95
SYNTHETIC_REPRESENTATIVE_IMAGES = 16
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def make_interpreter(path, threads: int = 1):
    from ai_edge_litert.interpreter import Interpreter

    # XNNPACK is LiteRT's default CPU delegate; num_threads sets both it and the reference kernels. Its native
    # "INFO: Created TensorFlow Lite XNNPACK delegate" line goes to the debug log, not the user's terminal.
    with converter_output_captured():
        interpreter = Interpreter(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
    return interpreter


def to_input_dtype(detail: dict, array: np.ndarray) -> np.ndarray:
    """Float input as the tensor wants it: quantized with its scale and zero-point for int8/uint8 inputs."""
    dtype = detail["dtype"]
    if np.issubdtype(dtype, np.integer):
        scale, zero_point = detail["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(array / scale) + zero_point, info.min, info.max).astype(dtype)
    return array.astype(dtype)


def from_output_dtype(detail: dict, array: np.ndarray) -> np.ndarray:
    if np.issubdtype(detail["dtype"], np.integer):
        scale, zero_point = detail["quantization"]
        return (array.astype(np.float32) - zero_point) * scale
    return array.astype(np.float32)


def _nchw_to_model_layout(detail: dict, array: np.ndarray) -> np.ndarray:
    shape = tuple(detail["shape"])
    if shape == array.shape:
        return array
    if shape == (array.shape[0], array.shape[2], array.shape[3], array.shape[1]):
        return np.ascontiguousarray(array.transpose(0, 2, 3, 1))
    raise ExportError(f"TFLite input shape {shape} does not fit an input of shape {array.shape}")


def run_tflite(path, array: np.ndarray) -> np.ndarray:
    interpreter = make_interpreter(path)
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], to_input_dtype(detail, _nchw_to_model_layout(detail, array)))
    interpreter.invoke()
    out = interpreter.get_output_details()[0]
    return from_output_dtype(out, interpreter.get_tensor(out["index"]))


def representative_images(request, model, count: int = SYNTHETIC_REPRESENTATIVE_IMAGES) -> list[np.ndarray]:
    if request.representative == "synthetic":
        rng = np.random.default_rng(7)
        shape = (1, 3, request.resolution, request.resolution)
        return [rng.standard_normal(shape).astype(np.float32) for _ in range(count)]
    return _images_from_dir(Path(request.representative_dir), model, request.resolution)


def _images_from_dir(directory: Path, model, resolution: int) -> list[np.ndarray]:
    from PIL import Image
    from timm.data import create_transform, resolve_data_config

    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise ExportError(f"no images ({', '.join(sorted(_IMAGE_SUFFIXES))}) in representative data dir {directory}")
    config = resolve_data_config({"input_size": (3, resolution, resolution)}, model=model)
    transform = create_transform(**config)
    return [transform(Image.open(f).convert("RGB")).unsqueeze(0).numpy() for f in files]


def representative_source(directory: str | None) -> str:
    """The cache-key description of int8's representative images, by content: the same images give the same key in any
    process and from any path (Python's hash() changes per process, so it cannot key a cache)."""
    if directory is None:
        return "synthetic"
    d = Path(directory)
    if not d.is_dir():
        from bench.core.errors import ArtifactError

        raise ArtifactError(f"representative data dir {d} does not exist or is not a directory")
    files = sorted(p for p in d.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode() + b"\0" + content_hash(f).encode())
    return f"images@{len(files)}:{digest.hexdigest()[:24]}"


def fp16_rounded(model):
    """A copy of the model whose weights went through float16, as the fp16 artifact's weights did."""
    import torch

    rounded = copy.deepcopy(model)
    with torch.no_grad():
        for p in rounded.parameters():
            p.copy_(p.half().float())
    return rounded


@register_exporter
class TfliteExporter(Exporter):
    format = "tflite"
    precisions = ("fp32", "fp16", "int8")
    suffix = ".tflite"
    version = "1"

    def tool_versions(self) -> dict:
        return package_versions("torch", "litert-torch", "ai-edge-quantizer", "ai-edge-litert", "litert-converter")

    def describe(self, path):
        from exporters.tflite_graph import describe_tflite

        return describe_tflite(path)

    def export(self, model, request, out_path, context) -> dict:
        import torch

        example = context["input"]
        float_path = out_path if request.precision == "fp32" else out_path.with_name("float32.tflite")
        with converter_output_captured():
            import litert_torch  # its import logs torch deprecation warnings: captured with the converter's output

            edge_model = litert_torch.convert(model.eval(), (torch.from_numpy(example),))
            edge_model.export(str(float_path))
        float_out = run_tflite(float_path, example)
        if request.precision == "fp32":
            parity = agreement(float_out, context["reference"])
            return {"parity": require_rel_l2(parity, FP32_REL_L2, "PyTorch fp32")}
        try:
            if request.precision == "fp16":
                _quantize_fp16(float_path, out_path)
                with torch.no_grad():
                    rounded_ref = fp16_rounded(model)(torch.from_numpy(example)).numpy()
                parity = agreement(run_tflite(out_path, example), rounded_ref)
                parity["rel_l2_vs_fp32"] = agreement(run_tflite(out_path, example), context["reference"])["rel_l2"]
                return {"parity": require_cosine(parity, FP16_MIN_COSINE, "PyTorch with fp16-rounded weights")}
            images = representative_images(request, model)
            _quantize_int8(float_path, out_path, images)
            parity = _int8_agreement(out_path, float_path, images[:4] + [example])
            return {
                "parity": require_cosine(parity, INT8_MIN_COSINE, "TFLite fp32 (mean over inputs)"),
                "representative_data": {"source": request.representative, "images": len(images)},
                "io_dtypes": _io_dtypes(out_path),
            }
        finally:
            float_path.unlink(missing_ok=True) if float_path != out_path else None


def _quantize_fp16(float_path: Path, out_path: Path) -> None:
    from ai_edge_quantizer import algorithm_manager, qtyping, quantizer

    with converter_output_captured(), _quantizer_refusal("fp16 (float16 weights)", "fp32"):
        qt = quantizer.Quantizer(str(float_path))
        qt.add_weight_only_config(
            regex=".*",
            operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
            num_bits=16,
            algorithm_key=algorithm_manager.AlgorithmName.FLOAT_CASTING,
        )
        qt.quantize().export_model(str(out_path), overwrite=True)


def _quantize_int8(float_path: Path, out_path: Path, images: list[np.ndarray]) -> None:
    from ai_edge_quantizer import quantizer, recipe

    interpreter = make_interpreter(float_path)
    detail = interpreter.get_input_details()[0]
    signature = interpreter.get_signature_list()
    sig_name = next(iter(signature))
    input_name = signature[sig_name]["inputs"][0]
    samples = [{input_name: _nchw_to_model_layout(detail, image)} for image in images]
    with converter_output_captured(), _quantizer_refusal("int8 (static_wi8_ai8)", "fp32 or fp16"):
        qt = quantizer.Quantizer(str(float_path))
        qt.load_quantization_recipe(recipe.static_wi8_ai8())
        ranges = qt.calibrate({sig_name: samples}, num_threads=1)  # the quantizer's word: ranges seen on the samples
        qt.quantize(ranges).export_model(str(out_path), overwrite=True)


@contextmanager
def _quantizer_refusal(what: str, instead: str):
    """ai-edge-quantizer refuses some graphs with a bare ValueError (e.g. timm's VGG and wide_resnet50_2 at int8:
    "Failed to get quantization parameters for tensor ..."): one line naming the step and the other precisions."""
    try:
        yield
    except (ValueError, RuntimeError) as exc:
        raise ExportError(f"ai-edge-quantizer cannot quantize this model to {what}: {first_line(exc)[:200]}; "
                          f"--precision {instead} converts without it") from None


def _int8_agreement(int8_path: Path, float_path: Path, inputs: list[np.ndarray]) -> dict:
    return mean_agreement([agreement(run_tflite(int8_path, x), run_tflite(float_path, x)) for x in inputs])


def _io_dtypes(path: Path) -> dict:
    interpreter = make_interpreter(path)
    return {
        "input": str(np.dtype(interpreter.get_input_details()[0]["dtype"])),
        "output": str(np.dtype(interpreter.get_output_details()[0]["dtype"])),
    }
