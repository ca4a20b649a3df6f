"""On-device latency benchmarking harness for mobile vision models.

Flow: zoo -> exporters -> artifact -> devices -> protocols -> record -> store -> analysis / report / compare.

`bench.measure` and `bench.measure_many` (bench/api.py) are the library's door; they load on first use, so
`import bench` and `bench --help` stay light.
"""

from bench.core.version import __version__

__all__ = ["__version__", "measure", "measure_many"]
_API = ("measure", "measure_many")


def __getattr__(name: str):
    if name in _API:
        from bench import api

        return getattr(api, name)
    raise AttributeError(f"module 'bench' has no attribute {name!r}")
