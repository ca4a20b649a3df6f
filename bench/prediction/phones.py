"""Phones as data: phones.toml beside this file, each fact with its source."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bench.core.errors import UnknownChoice

PHONES_FILE = Path(__file__).with_name("phones.toml")
FACTS = ("soc", "big_core", "big_cores", "clock_ghz", "l1d_kib", "l2_kib", "l3_kib", "system_cache_kib",
         "device_model_prefixes")


@dataclass(frozen=True)
class Phone:
    key: str
    name: str
    aliases: tuple[str, ...] = ()
    facts: dict = field(default_factory=dict)  # fact -> value, only those a source gives
    sources: dict = field(default_factory=dict)  # fact -> the source's full citation

    def fact(self, name: str):
        return self.facts.get(name)

    def is_called(self, name: str) -> bool:
        """Whether a record's name for its phone (a target, adb's ro.product.model, AI Hub's device name) is this
        phone, case, spaces and hyphens apart: "Pixel 6" and "pixel6"; "SM-S911B" by its model-number prefix; AI Hub's
        "Samsung Galaxy S23 (Family)" (a pool of the series, one SoC) as "Samsung Galaxy S23"."""
        plain = _plain(str(name).removesuffix("(Family)"))
        return bool(plain) and (plain in {_plain(n) for n in (self.key, self.name, *self.aliases)}
                                or any(plain.startswith(_plain(p)) for p in self.facts.get("device_model_prefixes", ())))

    def summary(self) -> str:
        """One line: SoC, big core, clock and caches, as far as the sources go."""
        f = self.facts
        parts = [f.get("soc"), f.get("big_core")]
        if f.get("clock_ghz"):
            parts.append(f"{f['clock_ghz']:g} GHz")
        caches = [f"{label} {_kib(f[key])}" for key, label in
                  (("l1d_kib", "L1D"), ("l2_kib", "L2"), ("l3_kib", "L3"), ("system_cache_kib", "SLC")) if f.get(key)]
        return ", ".join(str(p) for p in parts + caches if p)


def _plain(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def _kib(kib: int) -> str:
    return f"{kib // 1024} MiB" if kib >= 1024 and kib % 1024 == 0 else f"{kib} KiB"


@lru_cache(maxsize=1)
def _load() -> dict[str, Phone]:
    data = tomllib.loads(PHONES_FILE.read_text())
    citations = data.get("sources", {})
    phones = {}
    for key, entry in data["phones"].items():
        source_keys = entry.get("sources", {})
        facts = {k: entry[k] for k in FACTS if k in entry}
        phones[key] = Phone(key=key, name=entry["name"], aliases=tuple(entry.get("aliases", ())), facts=facts,
                            sources={k: citations[v] for k, v in source_keys.items()})
    return phones


def list_phones() -> list[Phone]:
    return list(_load().values())


def phone(name: str) -> Phone:
    """The phone called `name`, as Phone.is_called matches it (its key, name or an alias, any case, spaces and hyphens
    apart; adb's model number), or a typed error naming the known phones."""
    for p in _load().values():
        if p.is_called(name):
            return p
    wanted = name.strip().lower()
    known = sorted(_load())
    close = [k for k in known if wanted and (wanted in k or k in wanted)]
    raise UnknownChoice("phone", name, known, hint="bench phones", close=close[:3])
