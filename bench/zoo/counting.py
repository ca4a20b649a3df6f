"""Parameters and multiply-accumulates of an inference model at batch 1, counted by PyTorch.

MACs, not FLOPs: FLOPs = 2 x MACs. torch's FlopCounterMode counts 2 per multiply-add of convolutions, matmuls and
attention, so MACs = counted / 2.
"""

from __future__ import annotations

COUNTING_VERSION = 3  # in the artifact cache key: graph figures stored with artifacts follow it (3: memory traffic)


def _cpu_attention_formulas() -> dict:
    """torch counts scaled_dot_product_attention only for its GPU kernels; on CPU it dispatches to a flash kernel
    the counter does not know, which would drop the attention matmuls of MobileViT/MNv4-Hybrid from the count."""
    import torch
    from torch.utils.flop_counter import sdpa_flop_count

    def formula(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
        return sdpa_flop_count(query_shape, key_shape, value_shape)

    op = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    return {op: formula} if op is not None else {}


def count_params_macs(model, resolution: int) -> tuple[int, int]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    params = sum(p.numel() for p in model.parameters())
    counter = FlopCounterMode(display=False, custom_mapping=_cpu_attention_formulas())
    with counter, torch.no_grad():
        model(torch.zeros(1, 3, resolution, resolution))
    return int(params), int(counter.get_total_flops() // 2)
