"""Parameters and multiply-accumulates of an inference model at batch 1, counted by PyTorch.

MACs, not FLOPs: FLOPs = 2 x MACs. torch's FlopCounterMode counts 2 per multiply-add of convolutions, matmuls and
attention, so MACs = counted / 2.
"""

from __future__ import annotations


def count_params_macs(model, resolution: int) -> tuple[int, int]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    params = sum(p.numel() for p in model.parameters())
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, 3, resolution, resolution))
    return int(params), int(counter.get_total_flops() // 2)
