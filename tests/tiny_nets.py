"""Small torch networks for the API, parallel and cluster tests: two convolutions and a classifier, widths apart,
weights from a fixed seed (the same net in every process, so its export is cached by content across tests)."""

SIDE = 32
INPUT_SIZE = (1, 3, SIDE, SIDE)


def tiny_net(width: int, seed: int = 0):
    import torch

    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, width, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(width, width, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(width, 10))


def tiny_nets(count: int, start: int = 8, step: int = 8) -> list:
    return [tiny_net(start + step * i) for i in range(count)]


def names(count: int, start: int = 8, step: int = 8) -> list[str]:
    return [f"tiny_w{start + step * i}" for i in range(count)]
