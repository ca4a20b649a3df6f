"""On-device latency benchmarking harness for mobile vision models.

Flow: zoo -> exporters -> artifact -> devices -> protocols -> record -> store -> analysis / report / compare.
"""

__version__ = "0.1.0"
