"""Facts of an ExecuTorch program: what share of its graph the XNNPACK backend took, and MACs and params counted
on the graph that was lowered (the exported program, after torch.export's decompositions).

The delegated operators are counted by ExecuTorch's own `get_delegation_info` (devtools/backend_debug), over the
nodes inside the lowered subgraphs; the ones left to ExecuTorch's portable kernels are the top-level graph's
operator nodes. `getitem` nodes only unpack a delegate's outputs, so they are not operators of the model and are
left out of the share.
"""

from __future__ import annotations

_NOT_OPERATORS = {"getitem"}


def delegation_facts(edge_graph_module, backend: str = "XnnpackBackend") -> dict:
    """{"backend", "delegated_ops", "total_ops", "share", "subgraphs", "graph": full|partial, "not_delegated"}."""
    from executorch.devtools.backend_debug import get_delegation_info

    info = get_delegation_info(edge_graph_module)
    delegated = sum(row.delegated for op, row in info.delegation_by_operator.items() if op not in _NOT_OPERATORS)
    left = _not_delegated(edge_graph_module)
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


def _not_delegated(edge_graph_module) -> dict:
    """The operators left in the top-level graph, by their full name ("aten.sum.dim_IntList"): what runs on
    ExecuTorch's portable kernels. get_delegation_info's keys lower-case and join these names, so they are read from
    the nodes themselves."""
    left: dict = {}
    for node in edge_graph_module.graph.nodes:
        name = getattr(node.target, "__name__", str(node.target)) if node.op == "call_function" else None
        if name and name not in _NOT_OPERATORS and name != "executorch_call_delegate":
            left[name] = left.get(name, 0) + 1
    return dict(sorted(left.items()))


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
