"""What share of a .pte's graph its backend took, as targets use it: refused under `--require-full-delegation`,
carried into the record (`extra["delegation"]`, `extra["partially_delegated"]`, which the tables flag) otherwise.
The facts come from the exporter (exporters/pte_graph.py), kept in the artifact's cache entry."""

from __future__ import annotations

from bench.core.errors import UnsupportedFormat


def partial_delegation(artifact) -> dict:
    """The exporter's delegation facts when XNNPACK did not take the whole graph, else {}."""
    facts = (getattr(artifact, "facts", None) or {}).get("delegation") or {}
    return facts if facts.get("graph") == "partial" else {}


def refuse_partial(artifact, options: dict) -> None:
    """`--require-full-delegation`: a .pte with ops left to the portable kernels is not measured."""
    facts = partial_delegation(artifact)
    if facts and options.get("require_full_delegation"):
        from exporters.pte_graph import describe_partial

        raise UnsupportedFormat(f"{artifact.model}: XNNPACK took {facts['delegated_ops']} of {facts['total_ops']} ops; "
                                f"{describe_partial(facts)}; --require-full-delegation refuses it (drop the flag to "
                                f"measure it marked partial)")


def delegation_extra(artifact) -> dict:
    """What the record carries: the share XNNPACK took, and `partially_delegated` for the tables' flag."""
    facts = (getattr(artifact, "facts", None) or {}).get("delegation")
    if not facts:
        return {}
    return {"delegation": facts, "partially_delegated": facts.get("graph") == "partial"}
