"""The zoo registry. Importing it is cheap: builders import torch/timm only when called."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Callable

from bench.core.registry import Registry


@dataclass(frozen=True)
class ZooEntry:
    name: str
    build: Callable[[], object] = field(repr=False)  # returns an untrained torch.nn.Module
    resolution: int
    family: str
    source: str  # where the architecture comes from, e.g. "timm:mobileone_s0"
    suites: tuple[str, ...] = ()


# Modules whose import registers entries; kept as names so `bench --help` pays nothing for them.
MODELS: Registry[ZooEntry] = Registry("model", modules=("bench.zoo.timm_models", "bench.zoo.ablations"),
                                      hint="bench models")


def register_model(name: str, *, resolution: int, family: str, source: str, suites: tuple[str, ...] = ()):
    """Decorator: register a zero-argument builder returning a freshly initialised torch module."""

    def wrap(build):
        MODELS.register(name, ZooEntry(name, build, resolution, family, source, tuple(suites)))
        return build

    return wrap


def list_models(pattern: str = "*", suite: str | None = None) -> list[ZooEntry]:
    return [e for e in MODELS.entries() if fnmatch.fnmatch(e.name, pattern) and (suite is None or suite in e.suites)]


def list_suites() -> list[str]:
    return sorted({s for e in list_models() for s in e.suites})


def get_entry(name: str) -> ZooEntry:
    return MODELS.get(name)


def create_model(name: str, resolution: int | None = None, *, seed: int = 0):
    """Build `name` ready for inference: BatchNorm statistics calibrated, reparameterized, eval mode."""
    from bench.zoo.prepare import prepare_for_inference

    entry = get_entry(name)
    return prepare_for_inference(entry, resolution or entry.resolution, seed=seed)
