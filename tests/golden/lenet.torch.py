"""PyTorch model `lenet`, written by cnndsl.

Tensors are channels first, (N, C, H, W), as PyTorch expects; the comment
after each step of forward() gives its shape, N being the batch size.
Padding, pooling, batch norm and flatten follow Keras exactly, so weights
copied from the Keras model (cnndsl.port.keras_to_torch) give its outputs.
"""

import torch
from torch import nn
from torch.nn import functional as F


class Lenet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv2d = nn.Conv2d(3, 8, kernel_size=5)
        self.max_pooling2d = nn.MaxPool2d(2)
        self.conv2d_1 = nn.Conv2d(8, 16, kernel_size=5)
        self.max_pooling2d_1 = nn.MaxPool2d(2)
        self.dense = nn.Linear(400, 120)
        self.dense_1 = nn.Linear(120, 84)
        self.dense_2 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.relu(self.conv2d(x))  # (N, 8, 28, 28)
        x = self.max_pooling2d(x)  # (N, 8, 14, 14)
        x = F.relu(self.conv2d_1(x))  # (N, 16, 10, 10)
        x = self.max_pooling2d_1(x)  # (N, 16, 5, 5)
        # Keras flattens NHWC, PyTorch NCHW: channels go last first, as in Keras
        x = x.movedim(1, -1).flatten(1)  # (N, 400)
        x = F.relu(self.dense(x))  # (N, 120)
        x = F.relu(self.dense_1(x))  # (N, 84)
        x = F.softmax(self.dense_2(x), dim=1)  # (N, 10)
        return x


def build_model():
    return Lenet()


if __name__ == "__main__":
    model = build_model().eval()
    with torch.no_grad():
        output = model(torch.zeros(1, 3, 32, 32))
    print(tuple(output.shape))
