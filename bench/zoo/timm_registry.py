"""Any model timm knows, as a zoo entry: built with pretrained=False at the input size of timm's pretrained config.

timm is imported here only, and only when a name is not curated (or `bench models --all` asks), so the curated
path and `bench --help` never pay for it.
"""

from __future__ import annotations

import functools
import importlib.util
import re

from bench.zoo.entry import ZooEntry


def timm_builder(name: str):
    """A zero-argument builder of timm's `name`, untrained."""

    def build():
        import timm

        return timm.create_model(name, pretrained=False)

    return build


def timm_available() -> bool:
    return importlib.util.find_spec("timm") is not None


def timm_names(pattern: str = "*") -> list[str]:
    """timm's architecture names matching the glob (untagged; deprecated aliases left out, as timm lists them)."""
    if not timm_available():
        return []
    import timm

    return timm.list_models(pattern)


@functools.lru_cache(maxsize=None)
def timm_entry(name: str) -> ZooEntry | None:
    """The entry for a timm name ("mobilenetv2_140", or tagged: "mobilenetv2_100.ra_in1k"), or None."""
    if not timm_available():
        return None
    from timm.models import get_pretrained_cfg, is_model

    if not is_model(name):
        return None
    try:
        cfg = get_pretrained_cfg(name)
    except RuntimeError:  # a known architecture with an unknown pretrained tag
        return None
    # input_size is (C, H, W). The harness measures square inputs; five ViTs have a non-square default, and for
    # them --resolution names the side (the model then fails to build or run with one clear line).
    resolution = int(cfg.input_size[-1]) if cfg is not None else 224
    return ZooEntry(name, timm_builder(name), resolution, family_of(name), f"timm:{name}", curated=False)


def family_of(name: str) -> str:
    """The family as the curated entries name it: "mobilenetv2_140" -> "mobilenetv2", "tf_efficientnet_b3" ->
    "efficientnet" (timm's module would say "efficientnet" for MobileNetV2 too)."""
    arch = name.split(".", 1)[0].removeprefix("tf_")
    found = re.match(r"[a-z]+v\d+|[a-z]+", arch)
    return found.group(0) if found else arch
