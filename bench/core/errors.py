"""Typed errors. Raised inside; turned into one line on stderr at the CLI edge (bench.cli)."""


class BenchError(Exception):
    """A problem the user can act on. The message is the whole story, one line."""

    exit_code = 2


class UnknownChoice(BenchError):
    def __init__(self, kind: str, value: str, choices, hint: str = "", close=()):
        msg = f"unknown {kind} '{value}'"
        if close:
            msg += f"; did you mean {', '.join(close)}?"
        listed = sorted(choices)
        if len(listed) <= 40:
            msg += f"; known: {', '.join(listed)}"
        if hint:
            msg += f" (see `{hint}`)"
        super().__init__(msg)


class ArtifactError(BenchError):
    """A model file is missing, unreadable or corrupt."""


class ExportError(BenchError):
    """An export failed or its parity check is above tolerance."""

    exit_code = 3


class UnsupportedFormat(BenchError):
    """A target was asked to run a (format, precision) it cannot run."""


class DeviceError(BenchError):
    """No device, several devices, or a device lost mid-run."""

    exit_code = 4


class NeedsOtherHost(BenchError):
    """The measurement must run on another kind of host (e.g. macOS with Xcode for an iPhone)."""

    exit_code = 5


class InputDataError(BenchError):
    """A malformed CSV, result JSON or log."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """An exception as one line for a typed error's message: its message's first line (its class name when it has
    none), cut at `limit` characters."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:limit]
