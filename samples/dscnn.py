"""The MLCommons Tiny keyword-spotting DS-CNN (kws_ref_model) as a PyTorch module.

Same layers, order and hyper-parameters as the Keras reference: Conv(64, 10x4, stride 2,
TF 'same' padding) + BN + ReLU, four [depthwise 3x3 + BN + ReLU, pointwise 1x1 + BN +
ReLU] blocks, average pool over the whole 25x5 map, Dense(12) + softmax. Input is NCHW
[N, 1, 49, 10] (10 MFCCs per 20 ms frame, 49 frames); BatchNorm eps 1e-3 as in Keras.
`convert_kws_weights.py` fills it with the reference weights.
"""
from __future__ import annotations

import torch
from torch import nn


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3)


class DSBlock(nn.Sequential):
    def __init__(self, c: int):
        super().__init__(
            nn.Conv2d(c, c, 3, padding=1, groups=c), _bn(c), nn.ReLU(),
            nn.Conv2d(c, c, 1), _bn(c), nn.ReLU(),
        )


class DSCNN(nn.Module):
    def __init__(self, n_classes: int = 12, c: int = 64, blocks: int = 4):
        super().__init__()
        # TF 'same' for a 49x10 input, 10x4 kernel, stride 2: pad (top 4, bottom 5, left 1, right 1)
        self.pad = nn.ZeroPad2d((1, 1, 4, 5))
        self.conv = nn.Conv2d(1, c, (10, 4), stride=2)
        self.bn = _bn(c)
        self.relu = nn.ReLU()
        self.drop1 = nn.Dropout(0.2)
        self.blocks = nn.Sequential(*[DSBlock(c) for _ in range(blocks)])
        self.drop2 = nn.Dropout(0.4)
        self.pool = nn.AvgPool2d((25, 5))
        self.fc = nn.Linear(c, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop1(self.relu(self.bn(self.conv(self.pad(x)))))
        x = self.pool(self.drop2(self.blocks(x)))
        return torch.softmax(self.fc(torch.flatten(x, 1)), dim=1)


def example_input(batch: int = 1) -> torch.Tensor:
    return torch.zeros(batch, 1, 49, 10)
