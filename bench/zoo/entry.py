"""A zoo entry: what the registry knows of one model (curated, or any timm name built on demand)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class ZooEntry:
    name: str
    # torch: build() returns an untrained torch.nn.Module. keras: build(resolution, seed) returns a keras.Model and
    # is called only inside the TensorFlow converter process (exporters/tf_converter.py), never in this process.
    build: Callable[..., object] = field(repr=False)
    resolution: int
    family: str
    source: str  # where the architecture comes from, e.g. "timm:mobileone_s0"
    suites: tuple[str, ...] = ()
    framework: str = "torch"  # "torch" (exported by exporters/) or "keras" (TensorFlow's converter, tflite only)
    curated: bool = True  # False: a timm name outside the curated zoo, at timm's pretrained-config resolution
