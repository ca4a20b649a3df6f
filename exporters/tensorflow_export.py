"""TensorFlow / Keras models to TFLite, from this process: the conversion runs in a subprocess
(`python -m exporters.tf_converter`, see there why), the parity check and the graph counts run here with LiteRT.

Parity is against the TensorFlow model on fixed inputs: relative L2 for fp32; cosine (with relative L2 recorded)
for fp16, whose float16 weights are a rounding the TensorFlow model does not have; cosine and top-5 agreement
over a few representative inputs and the fixed one for int8. The same floors as the torch exporters.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from bench.core.errors import ArtifactError, ExportError
from exporters.parity import (FP32_REL_L2, INT8_MIN_COSINE, agreement, mean_agreement, require_cosine,
                              require_rel_l2)
from exporters.versions import package_versions

log = logging.getLogger("exporters")

KERAS_SUFFIXES = (".keras", ".h5")
PRECISIONS = ("fp32", "fp16", "int8")
CONVERTER_VERSION = "1"  # bump when the conversion's output changes, so cached artifacts are rebuilt
CONVERTER_TIMEOUT_S = 1800  # a large model's int8 quantization on a slow CPU; the converter waits on nothing else
SYNTHETIC_REPRESENTATIVE_IMAGES = 16  # as the torch TFLite exporter
FP16_MIN_COSINE = 0.95  # as the torch TFLite exporter
REPO = Path(__file__).resolve().parents[1]


def tensorflow_available() -> bool:
    return importlib.util.find_spec("tensorflow") is not None  # finds it without importing it


def tool_versions() -> dict:
    versions = package_versions("tensorflow", "tensorflow-cpu", "keras", "ai-edge-litert")
    return {name: version for name, version in versions.items() if version is not None}


def source_kind(path: Path) -> str:
    """"keras" or "saved_model" for a TensorFlow source the user gave; ArtifactError when it is neither."""
    if not path.exists():
        raise ArtifactError(f"model {path} does not exist")
    if path.is_file() and path.suffix.lower() in KERAS_SUFFIXES:
        _check_keras_container(path)
        return "keras"
    if path.is_dir():
        if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
            return "saved_model"
        raise ArtifactError(f"{path} is a directory but not a TensorFlow SavedModel (no saved_model.pb in it)")
    raise ArtifactError(f"{path.name} is not a TensorFlow model; give a SavedModel directory, .keras or .h5")


def _check_keras_container(path: Path) -> None:
    """A .keras file is a zip archive, an .h5 an HDF5 file: a corrupt one is refused here, without starting
    TensorFlow (whose own message for it is "File not found")."""
    import zipfile

    with open(path, "rb") as handle:
        head = handle.read(8)
    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        raise ArtifactError(f"{path.name} is not a valid .keras file (not a zip archive)")
    if path.suffix.lower() == ".h5" and head != b"\x89HDF\r\n\x1a\n":
        raise ArtifactError(f"{path.name} is not a valid .h5 file (no HDF5 signature)")


def _converter_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env["KERAS_BACKEND"] = "tensorflow"  # the TFLite converter needs Keras on TensorFlow, whatever the user set
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("CUDA_VISIBLE_DEVICES", "")  # conversion is CPU work; keep a GPU build off any device
    return env


def run_converter(request: dict, workdir: Path) -> dict:
    """Run the converter process on `request`; its facts, or a typed error carrying the converter's one line."""
    request = dict(request, result=str(workdir / "result.json"))
    request_path = workdir / "request.json"
    request_path.write_text(json.dumps(request))
    try:
        done = subprocess.run([sys.executable, "-m", "exporters.tf_converter", str(request_path)], cwd=str(workdir),
                              env=_converter_env(), capture_output=True, text=True, timeout=CONVERTER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ExportError(f"TensorFlow conversion took over {CONVERTER_TIMEOUT_S} s and was stopped") from None
    log.debug("tf converter output:\n%s", (done.stdout + done.stderr)[-20000:])
    result_path = Path(request["result"])
    if not result_path.is_file():
        tail = [line for line in done.stderr.splitlines() if line.strip()][-1:] or ["no output"]
        raise ExportError(f"TensorFlow converter process died (exit {done.returncode}): {tail[0][:300]}")
    result = json.loads(result_path.read_text())
    if not result["ok"]:
        raise (ArtifactError if result["kind"] == "source" else ExportError)(result["error"])
    return result["facts"]


def float_ops(path: Path) -> list[str]:
    """Ops of a TFLite graph that compute in floating point (QUANTIZE/DEQUANTIZE aside: they convert)."""
    from exporters.tflite_export import make_interpreter

    interpreter = make_interpreter(path)
    floating = {t["index"] for t in interpreter.get_tensor_details() if np.issubdtype(t["dtype"], np.floating)}
    found = set()
    for op in interpreter._get_ops_details():  # the interpreter's only public view of the graph's operators
        if op["op_name"] in ("QUANTIZE", "DEQUANTIZE", "DELEGATE"):  # DELEGATE: XNNPACK's node over the others
            continue
        if floating & {i for i in (*op["inputs"], *op["outputs"]) if i >= 0}:
            found.add(op["op_name"])
    return sorted(found)


def require_integer_only(path: Path) -> None:
    """TF 2.21's converter keeps an op with no int8 kernel (SIN, CUMSUM, ATAN2, ...) in float between DEQUANTIZE
    and QUANTIZE even with TFLITE_BUILTINS_INT8 alone; refuse that instead of measuring a partly-float model."""
    left = float_ops(path)
    if left:
        raise ExportError(f"op {', '.join(left)} cannot be int8-quantized: TensorFlow's converter left it in float; "
                          "measure this model at fp32 or fp16")


def check_parity(tflite_path: Path, precision: str, reference_path: Path) -> dict:
    """Run the converted model with LiteRT on the converter's fixed inputs; compare with TensorFlow's outputs."""
    from exporters.tflite_export import run_tflite

    with np.load(reference_path) as saved:
        inputs, outputs = saved["inputs"], saved["outputs"]
    rows = [agreement(run_tflite(tflite_path, x[None]), y[None]) for x, y in zip(inputs, outputs)]
    if precision == "fp32":
        return require_rel_l2(rows[-1], FP32_REL_L2, "TensorFlow fp32")
    if precision == "fp16":
        return require_cosine(rows[-1], FP16_MIN_COSINE, "TensorFlow fp32")
    return require_cosine(mean_agreement(rows), INT8_MIN_COSINE, "TensorFlow fp32 (mean over inputs)")


def convert_tf(source: dict, *, precision: str, resolution: int | None, representative_dir: str | None,
               out_path: Path, seed: int = 0) -> dict:
    """Convert `source` ({"kind": "zoo", "name": ...} or {"kind": "keras" | "saved_model", "path": ...}) to the
    TFLite file `out_path`, check parity; return the facts for the record ("parity" among them).

    Writes only into out_path's folder (the caller's staging folder)."""
    if precision not in PRECISIONS:
        raise ArtifactError(f"TensorFlow models convert to tflite {', '.join(PRECISIONS)}; not '{precision}'")
    if not tensorflow_available():
        raise ArtifactError("converting a TensorFlow model needs tensorflow: pip install -e '.[tf]' -c constraints.txt")
    workdir = out_path.parent
    reference = workdir / "reference.npz"
    request = {"source": source, "precision": precision, "resolution": resolution, "seed": seed,
               "representative_dir": representative_dir, "synthetic_images": SYNTHETIC_REPRESENTATIVE_IMAGES,
               "out": str(out_path), "reference": str(reference)}
    try:
        facts = run_converter(request, workdir)
        if precision == "int8":
            require_integer_only(out_path)
        facts["parity"] = check_parity(out_path, precision, reference)
    finally:
        for name in ("request.json", "result.json", reference.name):
            (workdir / name).unlink(missing_ok=True)
    images = facts.pop("representative_images")
    if precision == "int8":
        facts["representative_data"] = {"source": "dir" if representative_dir else "synthetic", "images": images}
        facts["io_dtypes"] = io_dtypes(out_path)
    return facts


def io_dtypes(path: Path) -> dict:
    from exporters.tflite_export import make_interpreter

    interpreter = make_interpreter(path)
    return {"input": str(np.dtype(interpreter.get_input_details()[0]["dtype"])),
            "output": str(np.dtype(interpreter.get_output_details()[0]["dtype"]))}
