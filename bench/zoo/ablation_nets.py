"""The MobileOne paper's 30-layer ablation network and its variants, as PyTorch modules.

The paper (Vasu et al., 2023, Tables 1b and 3) says only "a 30-layer convolutional network"; the choices here:

- 30 conv layers, each 3x3 conv -> BatchNorm -> activation, in five stages of [2, 4, 8, 12, 4] layers with widths
  [16, 32, 64, 128, 256]; the first layer of each stage has stride 2 (224 -> 7), then global average pool and a
  1000-way linear classifier. Plain 3x3 convolutions (no depthwise) keep the net a clean baseline whose MACs are
  easy to check by hand: sum over layers of H_out * W_out * C_out * C_in * 9.
- Activations (Table 3): ReLU, GELU, SE-ReLU (a Squeeze-Excite block, reduction 4, after every ReLU),
  Hard-Swish, Dynamic Shift-Max (MicroNet, Li et al. 2021: J=2 circular group shifts, K=2 fused by a max, the
  2JK coefficients per channel from global pool -> FC(C/4) -> ReLU -> FC -> h-sigmoid), DynamicReLU-A (Chen et al.
  2020: K=2 linear pieces, coefficients shared by all channels) and DynamicReLU-B (coefficients per channel); both
  DY-ReLU variants compute their coefficients from global pool -> FC(C/4) -> ReLU -> FC -> 2*sigmoid - 1, as
  residuals around the ReLU-like initial pieces (a1=1, a2=0, b=0) with lambda_a=1 and lambda_b=0.5.
- Blocks (Table 1b): the plain ReLU net; the same net with identity skip connections around every pair of layers
  whose input and output shapes agree (a layer that changes stride or width has no skip); the same net with a
  Squeeze-Excite block (reduction 4) after every second layer, where a skip would close.
The activations that read global statistics (SE, Dynamic Shift-Max, DY-ReLU) are the "synchronising" ones: each
needs the whole feature map before any output can be produced.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

STAGE_DEPTHS = (2, 4, 8, 12, 4)
STAGE_WIDTHS = (16, 32, 64, 128, 256)
NUM_CLASSES = 1000


def layer_plan(in_channels: int = 3):
    """(in_channels, out_channels, stride) for each of the 30 conv layers."""
    plan = []
    channels = in_channels
    for depth, width in zip(STAGE_DEPTHS, STAGE_WIDTHS):
        for i in range(depth):
            plan.append((channels, width, 2 if i == 0 else 1))
            channels = width
    return plan


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        hidden = max(8, channels // reduction)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(s))))


class SEReLU(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.se = SqueezeExcite(channels)

    def forward(self, x):
        return self.se(F.relu(x))


class DynamicReLU(nn.Module):
    """DY-ReLU with K=2 pieces: y = max_k(a_k * x + b_k); A shares coefficients across channels, B does not."""

    def __init__(self, channels: int, per_channel: bool, k: int = 2, reduction: int = 4):
        super().__init__()
        self.k, self.per_channel, self.channels = k, per_channel, channels
        hidden = max(8, channels // reduction)
        outputs = 2 * k * (channels if per_channel else 1)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, outputs)
        self.register_buffer("init_a", torch.tensor([1.0] + [0.0] * (k - 1)))
        self.register_buffer("init_b", torch.zeros(k))

    def forward(self, x):
        n, c = x.shape[0], x.shape[1]
        theta = 2 * torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3)))))) - 1
        theta = theta.view(n, c if self.per_channel else 1, 2 * self.k)
        a = self.init_a + 1.0 * theta[..., : self.k]
        b = self.init_b + 0.5 * theta[..., self.k :]
        a = a.view(n, -1, self.k, 1, 1)
        b = b.view(n, -1, self.k, 1, 1)
        return (x.unsqueeze(2) * a + b).amax(dim=2)


class DynamicShiftMax(nn.Module):
    """y_i = max_k sum_j a_ijk(x) * x_{(i + j*C/G) mod C}, J=2 group shifts, K=2, G=2 groups."""

    def __init__(self, channels: int, groups: int = 2, j: int = 2, k: int = 2, reduction: int = 4):
        super().__init__()
        self.j, self.k, self.shift = j, k, channels // groups
        hidden = max(8, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels * j * k)

    def forward(self, x):
        n, c = x.shape[0], x.shape[1]
        coeff = F.hardsigmoid(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3)))))).view(n, c, self.j, self.k, 1, 1)
        # circular channel shifts written as slice + concat, which every exporter lowers
        shifted = [x] + [torch.cat([x[:, s:], x[:, :s]], dim=1) for s in (self.shift * m for m in range(1, self.j))]
        stacked = torch.stack(shifted, dim=2).unsqueeze(3)  # n, c, j, 1, h, w
        return (stacked * coeff).sum(dim=2).amax(dim=2)


ACTIVATIONS = {
    "relu": lambda c: nn.ReLU(),
    "gelu": lambda c: nn.GELU(),
    "se_relu": SEReLU,
    "hswish": lambda c: nn.Hardswish(),
    "dyshiftmax": DynamicShiftMax,
    "dyrelu_a": lambda c: DynamicReLU(c, per_channel=False),
    "dyrelu_b": lambda c: DynamicReLU(c, per_channel=True),
}


class ConvLayer(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, activation: str):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = ACTIVATIONS[activation](cout)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Pair(nn.Module):
    """Two layers with an optional identity skip or SE block closing them (Table 1b)."""

    def __init__(self, first: ConvLayer, second: ConvLayer, skip: bool, se: bool):
        super().__init__()
        self.first, self.second = first, second
        self.skip = skip
        self.se = SqueezeExcite(second.conv.out_channels) if se else nn.Identity()

    def forward(self, x):
        y = self.se(self.second(self.first(x)))
        return x + y if self.skip else y


class AblationNet(nn.Module):
    def __init__(self, activation: str = "relu", block: str = "plain"):
        super().__init__()
        layers = [ConvLayer(cin, cout, s, activation) for cin, cout, s in layer_plan()]
        pairs = []
        for first, second in zip(layers[0::2], layers[1::2]):
            same_shape = first.conv.in_channels == second.conv.out_channels and first.conv.stride == (1, 1)
            pairs.append(Pair(first, second, skip=block == "skip" and same_shape, se=block == "se"))
        self.features = nn.Sequential(*pairs)
        self.classifier = nn.Linear(STAGE_WIDTHS[-1], NUM_CLASSES)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(F.adaptive_avg_pool2d(x, 1).flatten(1))
