"""Small classifiers trained by the experiments."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from repro.zoo.registry import register_model


class MnistCNN(nn.Module):
    """The official PyTorch MNIST example network (MTAdam's Table 1): two convolutions, two
    fully connected layers, dropout 0.25 / 0.5; log-softmax over the 10 classes."""

    input_shape = (1, 28, 28)  # (C, H, W) of one example, for the zoo's forward test

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(self.dropout1(x), 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


@register_model
def mnist_cnn() -> MnistCNN:
    return MnistCNN()
