"""On-device latency benchmarking harness for mobile vision models.

Flow: zoo -> exporters -> artifact -> devices -> protocols -> record -> store -> analysis / report / compare.
"""

from bench.core.version import __version__

__all__ = ["__version__"]
