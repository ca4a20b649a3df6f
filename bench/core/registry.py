"""One small registry, used for models, targets and exporters.

Entries register under a name (and aliases); duplicates are refused; an unknown name lists the known ones.
Entry modules are imported on first use, so `bench --help` pays nothing for them.
"""

from __future__ import annotations

import difflib
import importlib
import threading
from typing import Generic, Iterable, TypeVar

from bench.core.errors import UnknownChoice

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, *, modules: Iterable[str] = (), hint: str = ""):
        self.kind = kind  # "model", "target", "format": the word in error messages
        self.hint = hint  # the command that lists them
        self._modules = tuple(modules)
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}
        self._loaded = False
        self._loading = False
        self._lock = threading.RLock()

    def register(self, name: str, entry: T, aliases: Iterable[str] = ()) -> T:
        for key in (name, *aliases):
            if key in self._entries or key in self._aliases:
                raise ValueError(f"{self.kind} {key!r} registered twice")
        self._entries[name] = entry
        for alias in aliases:
            self._aliases[alias] = name
        return entry

    def _load(self) -> None:
        # Another thread waits until every entry module is imported (a half-loaded registry answered "unknown
        # format" to a worker thread once); the loading thread itself, re-entering through an entry module's own
        # lookup, goes on with what is registered so far.
        if self._loaded:
            return
        with self._lock:
            if self._loading:
                return
            self._loading = True
            for module in self._modules:
                importlib.import_module(module)
            self._loaded = True

    def canonical(self, name: str) -> str | None:
        self._load()
        name = self._aliases.get(name, name)
        return name if name in self._entries else None

    def get(self, name: str) -> T:
        found = self.canonical(name)
        if found is None:
            raise UnknownChoice(self.kind, name, self.names(with_aliases=True), hint=self.hint,
                                close=self.closest(name))
        return self._entries[found]

    def __contains__(self, name: str) -> bool:
        return self.canonical(name) is not None

    def names(self, *, with_aliases: bool = False) -> list[str]:
        self._load()
        return sorted([*self._entries, *self._aliases] if with_aliases else self._entries)

    def entries(self) -> list[T]:
        return [self._entries[name] for name in self.names()]

    def closest(self, name: str, n: int = 3) -> list[str]:
        return difflib.get_close_matches(name, self.names(with_aliases=True), n=n, cutoff=0.6)
