"""Turn a randomly initialised training-time network into the network a phone would run."""

from __future__ import annotations

BATCHNORM_PASSES = 4
BATCHNORM_BATCH = 8
# In the artifact cache key of zoo models: bump when preparation changes what a model's weights are.
# 2: zero-initialised norm scales set to one (restore_silenced_branches).
PREPARATION_VERSION = 2


def restore_silenced_branches(model) -> list[str]:
    """Set to one every normalisation scale that is exactly zero; returns their names.

    timm initialises the last norm of each residual branch to zero (ResNet's, RegNet's `zero_init_last`, LeViT's,
    MobileViT's), a training trick: a trained network has no zero there. Left at zero, the branch adds exactly
    nothing, and converters fold it away: ResNet-50's TFLite export kept 5 of its 53 convolutions and still matched
    PyTorch, so its latency and graph figures were of a different network.
    """
    import torch

    norms = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.LayerNorm, torch.nn.GroupNorm)
    restored = []
    with torch.no_grad():
        for name, module in model.named_modules():
            weight = getattr(module, "weight", None) if isinstance(module, norms) else None
            if weight is not None and weight.numel() and not torch.count_nonzero(weight):
                weight.fill_(1.0)
                restored.append(name)
    return restored


def settle_batchnorm(model, resolution: int, seed: int = 0) -> None:
    """Give BatchNorm layers running statistics from a few train-mode passes on synthetic data.

    Random-init BN has mean 0 / var 1 running stats, which do not match the activations, so eval-mode outputs
    blow up or collapse and parity checks mean nothing. A cumulative average (momentum=None) over a few batches
    gives statistics that match what the layer sees.
    """
    import torch

    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    saved = [(m, m.momentum) for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    generator = torch.Generator().manual_seed(seed + 1)
    model.train()
    with torch.no_grad():
        for _ in range(BATCHNORM_PASSES):
            model(torch.randn(BATCHNORM_BATCH, 3, resolution, resolution, generator=generator))
    for m, momentum in saved:
        m.momentum = momentum
    model.eval()


def prepare_for_inference(entry, resolution: int, seed: int = 0):
    import torch

    torch.manual_seed(seed)
    model = entry.build()
    restore_silenced_branches(model)  # before the statistics are taken, so they are the restored network's
    settle_batchnorm(model, resolution, seed)
    try:
        from timm.utils.model import reparameterize_model
    except ImportError:  # older timm layout
        from timm.utils import reparameterize_model
    model = reparameterize_model(model)
    return model.eval()
