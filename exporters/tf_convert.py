"""TensorFlow and Keras models to TFLite with TensorFlow's own converter (tf.lite.TFLiteConverter).

Imported only inside the converter process (exporters/tf_converter.py): importing tensorflow in a process that also
loads torch's triton has crashed (exit 139), so no other process imports this module.

- Keras (.keras, .h5, keras/... zoo entries): `from_keras_model` on the model re-wrapped with a batch-1 input of
  the pinned size.
- SavedModel: `from_concrete_functions` on its serving signature wrapped with a batch-1 input of the pinned size;
  `from_saved_model` cannot pin a dynamic batch or height/width, and XNNPACK wants static shapes.
- fp32 as converted; fp16: float16 weights (`target_spec.supported_types`); int8: full-integer with a
  representative dataset, int8 input and output, TFLITE_BUILTINS_INT8 only, so an op with no int8 kernel fails
  the conversion (named in one line) instead of silently staying in float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from bench.core.errors import first_line

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


class SourceError(Exception):
    """The model given cannot be measured as it is (unreadable, several inputs, open shapes): one line."""


class ConvertError(Exception):
    """TensorFlow's converter refused the model at the requested precision: one line."""


@dataclass
class Loaded:
    call: Callable[[np.ndarray], np.ndarray]  # the TensorFlow model on one batch-1 input
    shape: tuple[int, ...]  # the pinned input shape, batch 1
    layout: str  # "NHWC" or "NCHW"
    pixels: bool  # the model starts with a Rescaling layer, so it takes 0..255 pixels
    converter: Callable[[], object]  # a fresh tf.lite.TFLiteConverter
    how: str  # the converter entry point, for the record


def pin_shape(shape, resolution: int | None) -> tuple[tuple[int, ...], str]:
    """The batch-1 input shape to convert at, and its layout. A dynamic batch becomes 1 (latency is measured at
    batch 1); an open height/width takes --resolution; anything else that is open is refused."""
    dims = [None if d is None or int(d) < 0 else int(d) for d in shape]
    if len(dims) != 4:
        raise SourceError(f"input shape {tuple(shape)} is not an image batch (batch, height, width, channels)")
    if dims[3] is not None and dims[3] <= 4:
        layout, spatial = "NHWC", (1, 2)
    elif dims[1] is not None and dims[1] <= 4:
        layout, spatial = "NCHW", (2, 3)
    else:
        raise SourceError(f"input shape {tuple(shape)} has no channel dimension of 1 to 4 first or last")
    if dims[0] not in (None, 1):
        raise SourceError(f"input batch is fixed at {dims[0]}; bench measures batch 1: export the model with batch 1 "
                          "or a dynamic batch")
    dims[0] = 1
    for axis in spatial:
        if dims[axis] is None:
            if resolution is None:
                raise SourceError(f"input shape {tuple(shape)} leaves height/width open; give --resolution")
            dims[axis] = resolution
        elif resolution is not None and dims[axis] != resolution:
            raise SourceError(f"input is fixed at {dims[spatial[0]]}x{dims[spatial[1]]}; "
                              f"--resolution {resolution} cannot change it")
    return tuple(dims), layout


def _starts_with_rescaling(model) -> bool:
    import keras

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    return bool(layers) and isinstance(layers[0], keras.layers.Rescaling)


def _keras_loaded(model, resolution: int | None) -> Loaded:
    """Check a Keras model has one image input and one output; re-wrap it at batch 1 and the pinned size."""
    import keras
    import tensorflow as tf

    inputs, outputs = getattr(model, "inputs", None), getattr(model, "outputs", None)
    if not inputs or not outputs:
        raise SourceError("the Keras model has no defined inputs (a subclassed model never called); "
                          "save it as a functional model or a SavedModel")
    if len(inputs) != 1 or len(outputs) != 1:
        raise SourceError(f"the model has {len(inputs)} inputs and {len(outputs)} outputs; "
                          "bench measures models with one image input and one output")
    _check_float(inputs[0].dtype)
    shape, layout = pin_shape(tuple(inputs[0].shape), resolution)
    pinned_input = keras.Input(batch_shape=shape, dtype=inputs[0].dtype)
    try:
        pinned = keras.Model(pinned_input, model(pinned_input))
    except Exception as exc:  # a model whose layers reject the pinned shape
        raise SourceError(f"the model does not build at input shape {shape}: {first_line(exc, 300)}") from None

    def call(x):
        return keras.ops.convert_to_numpy(pinned(x, training=False))

    return Loaded(call, shape, layout, _starts_with_rescaling(model),
                  lambda: tf.lite.TFLiteConverter.from_keras_model(pinned), "from_keras_model")


def _check_float(dtype) -> None:
    name = getattr(dtype, "name", str(dtype))
    if name not in ("float32", "float16"):
        raise SourceError(f"input dtype is {name}; bench feeds float32 images")


def load_keras_file(path: Path, resolution: int | None) -> Loaded:
    import keras

    try:
        model = keras.saving.load_model(str(path), compile=False)
    except Exception as exc:  # keras raises ValueError, OSError, zipfile errors... for a corrupt file
        raise SourceError(f"{path.name} is not a readable Keras model: {first_line(exc, 300)}") from None
    return _keras_loaded(model, resolution)


def load_zoo(name: str, resolution: int, seed: int) -> Loaded:
    """A keras/... zoo entry, BatchNorm statistics settled on inputs of the kind it takes."""
    from bench.zoo import get_entry
    from bench.zoo.keras_models import BATCHNORM_BATCH, BATCHNORM_PASSES, settle_keras_batchnorm

    model = get_entry(name).build(resolution, seed)
    pixels = _starts_with_rescaling(model)
    rng = np.random.default_rng(seed + 1)
    shape = (BATCHNORM_BATCH, resolution, resolution, 3)
    settle_keras_batchnorm(model, [synthetic(rng, shape, pixels) for _ in range(BATCHNORM_PASSES)])
    return _keras_loaded(model, resolution)


def load_saved_model(path: Path, resolution: int | None) -> Loaded:
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as exc:
        raise SourceError(f"{path} is not a loadable SavedModel: {first_line(exc, 300)}") from None
    signatures = dict(getattr(loaded, "signatures", {}) or {})
    if not signatures:
        raise SourceError(f"SavedModel {path} has no signatures; export it with a serving signature")
    key = "serving_default" if "serving_default" in signatures else None
    if key is None and len(signatures) == 1:
        key = next(iter(signatures))
    if key is None:
        raise SourceError(f"SavedModel {path} has no serving_default signature; it has {', '.join(sorted(signatures))}")
    fn = signatures[key]
    specs = fn.structured_input_signature[1]
    outputs = fn.structured_outputs
    if len(specs) != 1 or len(outputs) != 1:
        raise SourceError(f"signature {key} has inputs {sorted(specs)} and outputs {sorted(outputs)}; "
                          "bench measures models with one image input and one output")
    (input_name, spec), = specs.items()
    (output_name,) = outputs
    _check_float(spec.dtype)
    shape, layout = pin_shape(spec.shape.as_list() if spec.shape.rank is not None else [], resolution)
    pinned = tf.function(lambda x: fn(**{input_name: x})[output_name],
                         input_signature=[tf.TensorSpec(shape, spec.dtype)]).get_concrete_function()

    def converter():
        return tf.lite.TFLiteConverter.from_concrete_functions([pinned], loaded)

    return Loaded(lambda x: pinned(tf.constant(x, dtype=spec.dtype)).numpy(), shape, layout, False, converter,
                  "from_concrete_functions(serving signature)")


def synthetic(rng: np.random.Generator, shape, pixels: bool) -> np.ndarray:
    """Synthetic images: 0..255 pixels for a model that rescales its own input, else standard normal (the
    normalized-image scale the torch exporters use)."""
    if pixels:
        return rng.uniform(0.0, 255.0, shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def images_from_dir(directory: Path, loaded: Loaded) -> list[np.ndarray]:
    """Representative images at the pinned size: 0..255 pixels for a rescaling model, else ImageNet-normalized."""
    from PIL import Image

    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SourceError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in representative data dir {directory}")
    height, width, channels = (loaded.shape[1:] if loaded.layout == "NHWC" else
                               (loaded.shape[2], loaded.shape[3], loaded.shape[1]))
    if channels != 3:
        raise SourceError(f"the model takes {channels} channels; representative images are RGB")
    images = []
    for f in files:
        rgb = np.asarray(Image.open(f).convert("RGB").resize((width, height), Image.BILINEAR), dtype=np.float32)
        image = rgb if loaded.pixels else (rgb / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        image = image if loaded.layout == "NHWC" else image.transpose(2, 0, 1)
        images.append(image[None].astype(np.float32))
    return images


def convert(loaded: Loaded, precision: str, representative: list[np.ndarray]) -> bytes:
    import tensorflow as tf

    converter = loaded.converter()
    if precision == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif precision == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([x] for x in representative)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    try:
        return converter.convert()
    except Exception as exc:  # ConverterError, RuntimeError, ValueError, depending on the stage that refused
        raise ConvertError(conversion_failure(str(exc), precision)) from None


# What TF 2.21's converter says when it refuses an op (MLIR diagnostics, one per line, with a location prefix).
_NO_BUILTIN = re.compile(r"'([\w.]+)' op is neither a custom op nor a flex op")
_NO_INT8 = re.compile(r"Quantization not yet supported for op: '([\w.]+)'")
_LOCATION = re.compile(r"^.*?error: (?:loc\(.*\)\)+: )?")


def conversion_failure(message: str, precision: str) -> str:
    found = _NO_INT8.search(message)
    if found and precision == "int8":
        return (f"op {found.group(1)} cannot be int8-quantized (TFLITE_BUILTINS_INT8 only); "
                "measure this model at fp32 or fp16")
    found = _NO_BUILTIN.search(message)
    if found:
        return (f"op {found.group(1)} has no TFLite builtin kernel (it would need TensorFlow's Flex delegate, "
                "which the targets do not ship)")
    errors = [_LOCATION.sub("", line).strip() for line in message.splitlines() if "error:" in line]
    errors = [e for e in errors if e and not e.startswith("failed while converting")]
    return f"TensorFlow's converter failed: {(errors or [message.strip() or 'no message'])[0][:300]}"
