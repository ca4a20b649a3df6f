"""Reading the store for the commands that list or analyse it: names resolved as `bench run` resolves them (aliases
included), and an answer that is empty says what was looked for and why nothing matched."""

from __future__ import annotations

from pathlib import Path

from bench.core.errors import BenchError


class NothingStored(BenchError):
    """The store holds no record matching what the user named (exit 1, as grep finds nothing)."""

    exit_code = 1


def target_names(names, stored: set[str] = frozenset()) -> list[str] | None:
    """Each --target as the registry names it (`cpu` is host); a name the registry does not know is refused unless
    the store holds records under it (a target since renamed)."""
    if not names:
        return None
    names = [names] if isinstance(names, str) else names
    from bench.core.errors import UnknownChoice
    from devices import get_target

    resolved = []
    for name in names:
        try:
            resolved.append(get_target(name).name)
        except UnknownChoice:
            if name not in stored:
                raise
            resolved.append(name)
    return resolved


def protocol_name(name: str | None) -> str | None:
    if not name:
        return None
    from bench.core.protocols import get_protocol

    return get_protocol(name).name


def stored_records(store, *, flag: str = "--store", model=None, target=None, protocol=None, fmt=None,
                   precision=None, empty_ok: bool = False) -> list:
    """The records matching the filters. No match is one line naming the filters and what the store does hold;
    an empty store is a note (empty_ok) or that same line."""
    from bench.store.database import default_store_path, open_existing

    path = Path(store) if store else default_store_path()
    with open_existing(path, flag=flag) as s:
        held = s.distinct()
        targets = target_names(target, set(held["target"]))
        found = s.records(model=model, target=targets, protocol=protocol_name(protocol), fmt=fmt, precision=precision)
    if found:
        return found
    if not held["model"]:
        line = f"store {path} holds no records yet; measure with `bench run` or `bench import`"
        if empty_ok:
            from bench.commands import ui

            ui.notify(line)
            return []
        raise NothingStored(line)
    asked = {"model": model, "target": targets, "protocol": protocol_name(protocol), "format": fmt,
             "precision": precision}
    looked = ", ".join(f"{k} {'/'.join(v) if isinstance(v, (list, tuple)) else v}" for k, v in asked.items() if v)
    has = "; ".join(f"{k}s: {', '.join(held[k][:8])}{' ...' if len(held[k]) > 8 else ''}"
                    for k in ("model", "target", "protocol") if asked.get(k))
    raise NothingStored(f"no record in {path} matches {looked}" + (f"; it holds {has}" if has else ""))

