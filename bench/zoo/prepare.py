"""Turn a randomly initialised training-time network into the network a phone would run."""

from __future__ import annotations

BATCHNORM_PASSES = 4
BATCHNORM_BATCH = 8


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
    settle_batchnorm(model, resolution, seed)
    try:
        from timm.utils.model import reparameterize_model
    except ImportError:  # older timm layout
        from timm.utils import reparameterize_model
    model = reparameterize_model(model)
    return model.eval()
