"""Facts of an ExecuTorch program: what share of its graph the XNNPACK backend took, and MACs and params counted
on the graph that was lowered (the exported program, after torch.export's decompositions).

The share comes from ExecuTorch's own `get_delegation_info` (devtools/backend_debug), which counts the operator
nodes inside the lowered subgraphs and the ones left to ExecuTorch's portable kernels. `getitem` nodes only unpack
a delegate's outputs, so they are not operators of the model and are left out of the share.
"""

from __future__ import annotations

_NOT_OPERATORS = {"getitem"}


def delegation_facts(edge_graph_module, backend: str = "XnnpackBackend") -> dict:
    """{"backend", "delegated_ops", "total_ops", "share", "subgraphs", "graph": full|partial, "not_delegated"}."""
    from executorch.devtools.backend_debug import get_delegation_info

    info = get_delegation_info(edge_graph_module)
    rows = {op: row for op, row in info.delegation_by_operator.items() if op not in _NOT_OPERATORS}
    delegated = sum(row.delegated for row in rows.values())
    left = {_op_name(op): row.non_delegated for op, row in sorted(rows.items()) if row.non_delegated}
    total = delegated + sum(left.values())
    return {
        "backend": backend,
        "delegated_ops": delegated,
        "total_ops": total,
        "share": round(delegated / total, 4) if total else 0.0,
        "subgraphs": info.num_delegated_subgraphs,
        "graph": "full" if total and not left else "partial",
        "not_delegated": left,
    }


def _op_name(key: str) -> str:
    """get_delegation_info's "aten_cumsum_default" as the op a user reads: "aten.cumsum.default"."""
    for prefix in ("aten_", "quantized_decomposed_"):
        if key.startswith(prefix):
            rest = key[len(prefix):]
            base, _, overload = rest.rpartition("_")
            return f"{prefix[:-1]}.{base}.{overload}" if base else f"{prefix[:-1]}.{rest}"
    return key


def describe_partial(facts: dict) -> str:
    """"12 of 90 ops outside XNNPACK (aten.erf.default x1, ...)" for a partly delegated program."""
    left = facts.get("not_delegated") or {}
    ops = ", ".join(f"{op} x{n}" for op, n in left.items())
    return f"{sum(left.values())} of {facts.get('total_ops')} ops outside XNNPACK ({ops})"


def graph_counts(exported_program, example) -> dict:
    """Params (float tensors of the program's state and constants) and MACs of the exported program itself, counted
    by torch's FlopCounterMode the way the zoo counts modules (MACs = FLOPs / 2)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    tensors = list(exported_program.state_dict.values()) + list(exported_program.constants.values())
    params = sum(t.numel() for t in tensors if isinstance(t, torch.Tensor) and t.is_floating_point())
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        exported_program.module()(example)
    return {"params": int(params), "macs": int(counter.get_total_flops() // 2)}
