"""Installed versions of converter packages, read from metadata (no import of the heavy package)."""

from importlib import metadata


def package_versions(*names: str) -> dict:
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found
