"""Options a target declares (name, type, default, help, choices), validated in one place.

The CLI hands `bench run`'s target flags (everything it does not itself define) to `parse_flags`; a sweep hands its
TOML table to `resolve`. An option the target does not declare is an error naming the options it does take.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from bench.core.errors import BenchError


@dataclass(frozen=True)
class Option:
    name: str  # python name, e.g. "compute_units"; the flag is --compute-units
    type: type = str  # str, int, float, bool or Path
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()
    multiple: bool = False  # repeatable flag, collected into a list

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def describe(self) -> str:
        kind = "flag" if self.type is bool else ("|".join(self.choices) if self.choices else self.type.__name__.upper())
        more = " (repeatable)" if self.multiple else ""
        default = "" if self.default in (None, False, ()) else f" [default: {self.default}]"
        return f"{self.flag} {kind if self.type is not bool else ''}".rstrip() + f": {self.help}{more}{default}"

    def convert(self, owner: str, value: Any) -> Any:
        if self.multiple:
            values = value if isinstance(value, (list, tuple)) else [value]
            return [self._one(owner, v) for v in values]
        return self._one(owner, value)

    def _one(self, owner: str, value: Any) -> Any:
        if self.type is bool:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "1", "yes"):
                return True
            if str(value).lower() in ("false", "0", "no"):
                return False
            raise BenchError(f"{self.flag} of target {owner} is a flag (true or false), not {value!r}")
        try:
            converted = str(value) if self.type is Path else self.type(value)
        except (TypeError, ValueError):
            raise BenchError(f"{self.flag} of target {owner} takes a {self.type.__name__}, not {value!r}") from None
        if self.choices and converted not in self.choices:
            raise BenchError(f"{self.flag} of target {owner} must be one of {', '.join(self.choices)} (got {value!r})")
        if self.type in (int, float) and converted < 0:
            raise BenchError(f"{self.flag} of target {owner} must not be negative (got {value!r})")
        return converted


def _unknown(owner: str, name: str, declared: Sequence[Option]) -> BenchError:
    flag = "--" + name.replace("_", "-")
    takes = ", ".join(o.flag for o in declared) or "none"
    return BenchError(f"target {owner} takes no option {flag}; its options: {takes} (see `bench targets --options`)")


def resolve(owner: str, declared: Sequence[Option], given: dict) -> dict:
    """Validate {name: value} against the declaration; fill defaults; unknown names are errors."""
    by_name = {o.name: o for o in declared}
    resolved = {}
    for name, value in given.items():
        key = name.replace("-", "_")
        if key not in by_name:
            raise _unknown(owner, key, declared)
        if value is not None:
            resolved[key] = by_name[key].convert(owner, value)
    for option in declared:
        if option.name not in resolved and option.default is not None:
            resolved[option.name] = option.default
    return resolved


def parse_flags(owner: str, declared: Sequence[Option], args: Sequence[str]) -> dict:
    """['--compute-units', 'cpu', '--op-profile'] -> {'compute_units': 'cpu', 'op_profile': True} (not resolved)."""
    by_flag = {o.flag: o for o in declared}
    given: dict = {}
    words = list(args)
    while words:
        word = words.pop(0)
        if not word.startswith("--"):
            raise BenchError(f"unexpected argument {word!r} (see `bench run --help`)")
        flag, _, inline = word.partition("=")
        option = by_flag.get(flag)
        if option is None and flag.startswith("--no-") and by_flag.get("--" + flag[5:], Option("")).type is bool:
            given[by_flag["--" + flag[5:]].name] = False
            continue
        if option is None:
            raise _unknown(owner, flag[2:], declared)
        if option.type is bool and not inline:
            value: Any = True
        elif inline:
            value = inline
        elif words and not words[0].startswith("--"):
            value = words.pop(0)
        else:
            raise BenchError(f"{flag} needs a value (target {owner})")
        if option.multiple:
            given.setdefault(option.name, []).append(value)
        else:
            given[option.name] = value
    return given


# Sizes a measurement may ask for, checked before anything is exported or allocated. A mobile vision model's
# activations grow with the square of its side: 4096 px is 334 times ImageNet's 224 px area, past which an export
# asks for hundreds of gigabytes. Raw samples are kept in every record (8 bytes each in memory, more as JSON).
MIN_RESOLUTION = 32
MAX_RESOLUTION = 4096
MAX_SAMPLES = 10_000_000  # timed runs x repeats in one record
MAX_WARMUP = 10_000_000


def check_resolution(resolution: int | None, flag: str = "--resolution") -> None:
    if resolution is None:
        return
    if resolution < MIN_RESOLUTION:
        raise BenchError(f"{flag} {resolution} is too small; use {MIN_RESOLUTION} or more")
    if resolution > MAX_RESOLUTION:
        raise BenchError(f"{flag} {resolution} is larger than bench measures (at most {MAX_RESOLUTION} px; its "
                         "activations would not fit in memory)")


def check_counts(warmup: int, runs: int, repeats: int, repeats_flag: str = "--repeats") -> None:
    """Protocol counts a record can hold: one line before anything is allocated."""
    if warmup > MAX_WARMUP:
        raise BenchError(f"--warmup {warmup} is more than bench runs (at most {MAX_WARMUP:,})")
    if runs > MAX_SAMPLES:
        raise BenchError(f"--runs {runs} is more than a record keeps (at most {MAX_SAMPLES:,} raw samples)")
    if runs * repeats > MAX_SAMPLES:
        raise BenchError(f"{repeats_flag} {repeats} x --runs {runs} is more than a record keeps (at most "
                         f"{MAX_SAMPLES:,} raw samples)")
