"""The TensorFlow converter process: `python -m exporters.tf_converter REQUEST.json`.

A process of its own so that tensorflow is never imported beside torch (their native libraries have crashed
together, exit 139). It reads the conversion request, converts, and writes into the request's folder: the
.tflite, `reference.npz` (the fixed inputs and the TensorFlow model's outputs on them, for the parity check the
caller runs with LiteRT) and `result.json`: {"ok": true, "facts": {...}} or
{"ok": false, "kind": "source" | "convert", "error": one line}. The caller reads result.json, never this process's
stdout, which TensorFlow fills with progress.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

import numpy as np

PARITY_SEED = 1234  # the same fixed input seed as bench.artifact.cache's torch exports
REPRESENTATIVE_SEED = 7
INT8_PARITY_IMAGES = 4  # int8 parity: this many representative images plus the fixed input, as for torch exports


def load(request: dict):
    from exporters import tf_convert

    source = request["source"]
    if source["kind"] == "zoo":
        return tf_convert.load_zoo(source["name"], request["resolution"], request.get("seed", 0))
    if source["kind"] == "keras":
        return tf_convert.load_keras_file(Path(source["path"]), request.get("resolution"))
    return tf_convert.load_saved_model(Path(source["path"]), request.get("resolution"))


def run(request: dict) -> dict:
    from exporters import tf_convert

    started = time.perf_counter()
    loaded = load(request)
    loaded_at = time.perf_counter()
    example = tf_convert.synthetic(np.random.default_rng(PARITY_SEED), loaded.shape, loaded.pixels)
    representative, inputs = [], [example]
    if request["precision"] == "int8":
        if request.get("representative_dir"):
            representative = tf_convert.images_from_dir(Path(request["representative_dir"]), loaded)
        else:
            rng = np.random.default_rng(REPRESENTATIVE_SEED)
            representative = [tf_convert.synthetic(rng, loaded.shape, loaded.pixels)
                              for _ in range(request["synthetic_images"])]
        inputs = representative[:INT8_PARITY_IMAGES] + [example]
    Path(request["out"]).write_bytes(tf_convert.convert(loaded, request["precision"], representative))
    converted_at = time.perf_counter()
    outputs = [loaded.call(x) for x in inputs]
    np.savez(request["reference"], inputs=np.concatenate(inputs), outputs=np.concatenate(outputs))
    return {
        "converter": loaded.how,
        "input_shape": list(loaded.shape),
        "layout": loaded.layout,
        "input_scale": "pixels 0..255" if loaded.pixels else "normalized",
        "representative_images": len(representative),
        "converter_s": {"load": round(loaded_at - started, 2), "convert": round(converted_at - loaded_at, 2)},
    }


def main(argv: list[str]) -> int:
    request_path = Path(argv[1])
    request = json.loads(request_path.read_text())
    from exporters.tf_convert import ConvertError, SourceError

    try:
        result = {"ok": True, "facts": run(request)}
    except SourceError as exc:
        result = {"ok": False, "kind": "source", "error": str(exc)}
    except ConvertError as exc:
        result = {"ok": False, "kind": "convert", "error": str(exc)}
    except Exception as exc:  # unexpected: one line for the user, the traceback for the caller's debug log
        traceback.print_exc()
        from bench.core.errors import first_line

        result = {"ok": False, "kind": "convert", "error": f"{type(exc).__name__}: {first_line(exc, 300)}"}
    Path(request["result"]).write_text(json.dumps(result))
    return 0 if result["ok"] else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
