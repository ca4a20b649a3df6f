"""TensorFlow-native zoo entries: keras.applications with weights=None (no download), converted to TFLite by
TensorFlow's own converter in a subprocess (exporters/tf_converter.py). Named keras/... so they cannot be confused
with the timm models of the same architectures.

Heads output logits (classifier_activation=None), as timm's do, so parity compares logits rather than the
near-uniform softmax of an untrained net. Keras' built-in preprocessing stays: MobileNetV3Large and EfficientNetB0
start with a Rescaling layer and so take 0..255 pixels (the converter process feeds them such inputs).
"""

from __future__ import annotations

from bench.zoo.prepare import BATCHNORM_BATCH, BATCHNORM_PASSES
from bench.zoo.registry import register_model

# (zoo name, keras.applications function, resolution, family)
KERAS_MODELS = [
    ("keras/mobilenet_v2", "MobileNetV2", 224, "mobilenetv2"),
    ("keras/mobilenet_v3_large", "MobileNetV3Large", 224, "mobilenetv3"),
    ("keras/efficientnet_b0", "EfficientNetB0", 224, "efficientnet"),
]


def keras_builder(application: str):
    """A builder of keras.applications.<application>, untrained; BatchNorm statistics are settled by the caller, which
    knows what inputs the model takes (see settle_keras_batchnorm)."""

    def build(resolution: int, seed: int = 0):
        import keras

        keras.utils.set_random_seed(seed)  # the same weights for the same seed: the cache key assumes it
        make = getattr(keras.applications, application)
        return make(input_shape=(resolution, resolution, 3), weights=None, classifier_activation=None)

    return build


def batchnorm_layers(model) -> list:
    import keras

    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        elif hasattr(layer, "layers"):  # a nested model
            found.extend(batchnorm_layers(layer))
    return found


def settle_keras_batchnorm(model, batches) -> None:
    """The Keras twin of bench.zoo.prepare.settle_batchnorm: moving statistics that match the activations.

    Keras updates moving = moving * momentum + batch * (1 - momentum) in a training-mode call; momentum k / (k + 1)
    on the k-th pass (from 0) leaves the cumulative average of the passes' batch statistics, as torch's
    momentum=None does. `batches`: BATCHNORM_PASSES arrays of BATCHNORM_BATCH inputs.
    """
    norms = batchnorm_layers(model)
    saved = [(layer, layer.momentum) for layer in norms]
    try:
        for k, batch in enumerate(batches):
            for layer in norms:
                layer.momentum = k / (k + 1)
            model(batch, training=True)
    finally:
        for layer, momentum in saved:
            layer.momentum = momentum


for _name, _application, _resolution, _family in KERAS_MODELS:
    register_model(_name, resolution=_resolution, family=_family, source=f"keras.applications:{_application}",
                   framework="keras")(keras_builder(_application))

__all__ = ["BATCHNORM_BATCH", "BATCHNORM_PASSES", "KERAS_MODELS", "settle_keras_batchnorm", "keras_builder"]
