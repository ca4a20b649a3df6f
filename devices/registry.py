"""Target registry and the contract every target fulfils."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

from bench.errors import UnknownChoice, UnsupportedFormat

_TARGET_MODULES = ("devices.host", "devices.android.target", "devices.ios")


@dataclass
class Measurement:
    """What a target hands back: raw samples (ns, per repeat) or per-repeat summaries (ms), and the facts."""

    runtime: str
    runtime_version: str
    samples_ns: list[list[int]] = field(default_factory=list)
    repeat_summaries: list[dict] = field(default_factory=list)
    device: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


ProgressFn = Callable[[int], None]  # called with the number of runs just finished


class Target:
    """Base class. `supports` maps format -> precisions this target runs."""

    name: str = ""
    aliases: tuple[str, ...] = ()
    description: str = ""
    kind: str = "host"
    runtime: str = ""
    supports: dict[str, tuple[str, ...]] = {}
    default_format: str = ""
    default_precision: str = ""

    def pairs(self) -> list[str]:
        return [f"{fmt}/{p}" for fmt, precisions in self.supports.items() for p in precisions]

    def check(self, fmt: str, precision: str) -> None:
        if precision not in self.supports.get(fmt, ()):
            raise UnsupportedFormat(
                f"target {self.name} cannot run {fmt}/{precision}; it runs: {', '.join(self.pairs())}"
            )

    def preflight(self, options: dict) -> None:
        """Cheap checks that the place to run exists (a phone attached), done before any export."""

    def ready(self, artifact, options: dict) -> None:
        """Last check once the artifact exists, before measuring (e.g. the host can drive this target at all)."""

    def check_options(self, fmt: str, precision: str, options: dict) -> None:
        """Reject runner options this target cannot honour (before anything is exported)."""

    def measure(self, artifact, protocol, *, threads: int, options: dict, progress: ProgressFn) -> Measurement:
        raise NotImplementedError


_REGISTRY: dict[str, Target] = {}
_ALIASES: dict[str, str] = {}
_loaded = False


def register_target(target: Target) -> Target:
    if target.name in _REGISTRY:
        raise ValueError(f"target {target.name!r} registered twice")
    _REGISTRY[target.name] = target
    for alias in target.aliases:
        _ALIASES[alias] = target.name
    return target


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in _TARGET_MODULES:
            importlib.import_module(module)
        _loaded = True


def get_target(name: str) -> Target:
    _load()
    resolved = _ALIASES.get(name, name)
    if resolved not in _REGISTRY:
        raise UnknownChoice("target", name, list(_REGISTRY), hint="bench targets")
    return _REGISTRY[resolved]


def list_targets() -> list[Target]:
    _load()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
