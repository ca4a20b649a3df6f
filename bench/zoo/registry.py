"""The zoo registry. Importing it is cheap: builders import torch/timm/keras only when called.

Curated entries (`register_model`) carry the resolution each paper reports latency at. Any other name timm knows
is an entry too, built on demand at the input size of timm's pretrained config (`timm_entry`); only a name that is
not curated pays for importing timm.
"""

from __future__ import annotations

import difflib
import fnmatch

from bench.core.errors import UnknownChoice, UnsupportedFormat
from bench.core.registry import Registry
from bench.zoo.entry import ZooEntry

# Modules whose import registers entries; kept as names so `bench --help` pays nothing for them.
MODELS: Registry[ZooEntry] = Registry(
    "model", modules=("bench.zoo.timm_models", "bench.zoo.ablations", "bench.zoo.keras_models"), hint="bench models"
)
ALL_HINT = "bench models --all"


def register_model(name: str, *, resolution: int, family: str, source: str, suites: tuple[str, ...] = (),
                   framework: str = "torch"):
    """Decorator: register a builder (zero arguments for torch, (resolution, seed) for keras)."""

    def wrap(build):
        MODELS.register(name, ZooEntry(name, build, resolution, family, source, tuple(suites), framework))
        return build

    return wrap


def list_models(pattern: str = "*", suite: str | None = None, *, all: bool = False) -> list[ZooEntry]:
    """Curated entries matching the glob `pattern`; with `all`, every timm model matching it as well."""
    curated = [e for e in MODELS.entries()
               if fnmatch.fnmatch(e.name, pattern) and (suite is None or suite in e.suites)]
    if not all or suite is not None:  # timm models belong to no suite
        return curated
    from bench.zoo import timm_registry

    known = {e.name for e in curated} | set(MODELS.names())
    extra = [timm_registry.timm_entry(n) for n in timm_registry.timm_names(pattern) if n not in known]
    return curated + [e for e in extra if e is not None]


def list_suites() -> list[str]:
    return sorted({s for e in list_models() for s in e.suites})


def get_entry(name: str) -> ZooEntry:
    """A curated entry, else any model timm knows (with or without a pretrained tag), else UnknownChoice with the
    closest names from both."""
    if name in MODELS:
        return MODELS.get(name)
    from bench.zoo import timm_registry

    entry = timm_registry.timm_entry(name)
    if entry is not None:
        return entry
    names = MODELS.names(with_aliases=True)
    candidates = list(dict.fromkeys([*names, *timm_registry.timm_names("*")]))  # curated names are timm's too
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    hint = ALL_HINT if timm_registry.timm_available() else f"{MODELS.hint}; pip install '.[torch]' adds timm's models"
    raise UnknownChoice("model", name, names, hint=hint, close=close)


def create_model(name: str, resolution: int | None = None, *, seed: int = 0):
    """Build `name` ready for inference: BatchNorm statistics settled, reparameterized, eval mode."""
    from bench.zoo.prepare import prepare_for_inference

    entry = get_entry(name)
    if entry.framework != "torch":
        raise UnsupportedFormat(f"{name} is a Keras model: it converts to tflite only (e.g. --target host-litert)")
    return prepare_for_inference(entry, resolution or entry.resolution, seed=seed)
