"""PyTorch model `padding`, written by cnndsl.

Tensors are channels first, (N, C, H, W), as PyTorch expects; the comment
after each step of forward() gives its shape, N being the batch size.
Padding, pooling, batch norm and flatten follow Keras exactly, so weights
copied from the Keras model (cnndsl.port.keras_to_torch) give its outputs.
"""

import torch
from torch import nn
from torch.nn import functional as F


class AvgPoolSame(nn.Module):
    """Average pooling with Keras's `same` padding, which may be asymmetric.

    As in Keras, the padding is left out of each average: each window's sum
    is divided by the number of real input values in it, not by its size.
    """

    def __init__(self, pool, pad):
        super().__init__()
        self.pool = pool
        self.pad = pad

    def forward(self, x):
        ones = torch.ones_like(x[:1, :1])
        return self.pool(F.pad(x, self.pad)) / self.pool(F.pad(ones, self.pad))


class Normalization(nn.Module):
    """Keras's `Normalization`: (x - mean) / sqrt(variance), per channel.

    The statistics are buffers (Keras's non-trainable weights, set by its
    `adapt()`); cnndsl.port.keras_to_torch copies them from a Keras model.
    """

    def __init__(self, channels):
        super().__init__()
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("variance", torch.ones(channels))
        self.register_buffer("count", torch.zeros((), dtype=torch.int64))

    def forward(self, x):
        shape = (1, -1) + (1,) * (x.dim() - 2)
        std = self.variance.sqrt().clamp(min=1e-7)
        return (x - self.mean.view(shape)) / std.view(shape)


class Padding(nn.Module):
    def __init__(self):
        super().__init__()
        self.normalization = Normalization(3)
        self.conv2d = nn.Conv2d(3, 8, kernel_size=4, stride=2)
        self.max_pooling2d = nn.MaxPool2d(2, stride=1)
        self.average_pooling2d = AvgPoolSame(
            nn.AvgPool2d(3, stride=2),
            pad=(0, 1, 0, 1),
        )
        self.separable_conv2d = nn.Sequential(
            nn.Conv2d(8, 16, kernel_size=3, padding=1, groups=8, bias=False),
            nn.Conv2d(16, 16, kernel_size=1),
        )
        self.depthwise_conv2d = nn.Conv2d(
            16,
            16,
            kernel_size=3,
            stride=2,
            groups=16,
            bias=False,
        )
        self.batch_normalization = nn.BatchNorm2d(
            16,
            eps=1.001e-05,
            momentum=0.1,
            affine=False,
        )
        # Keras keeps only beta
        self.batch_normalization.bias = nn.Parameter(torch.zeros(16))
        self.conv2d_transpose = nn.ConvTranspose2d(16, 8, kernel_size=3, stride=2)
        self.dropout = nn.Dropout(0.25)
        self.dense = nn.Linear(128, 10)

    def forward(self, x):
        x = x * 0.00392156862745098  # (N, 3, 15, 15)
        x = self.normalization(x)  # (N, 3, 15, 15)
        x = F.relu6(self.conv2d(F.pad(x, (1, 2, 1, 2))))  # (N, 8, 8, 8)
        x = F.pad(x, (0, 1, 0, 1), value=float("-inf"))
        x = self.max_pooling2d(x)  # (N, 8, 8, 8)
        x = self.average_pooling2d(x)  # (N, 8, 4, 4)
        # depthwise then pointwise convolution, as Keras's SeparableConv2D
        x = self.separable_conv2d(x)  # (N, 16, 4, 4)
        x = self.depthwise_conv2d(F.pad(x, (0, 1, 0, 1)))  # (N, 16, 2, 2)
        x = self.batch_normalization(x)  # (N, 16, 2, 2)
        # Keras cuts one more pixel at the end than PyTorch's `padding` does
        x = self.conv2d_transpose(x)[:, :, :4, :4]  # (N, 8, 4, 4)
        x = F.leaky_relu(x, 0.1)  # (N, 8, 4, 4)
        x = self.dropout(x)  # (N, 8, 4, 4)
        # Keras flattens NHWC, PyTorch NCHW: channels go last first, as in Keras
        x = x.movedim(1, -1).flatten(1)  # (N, 128)
        x = self.dense(x)  # (N, 10)
        return x


def build_model():
    return Padding()


if __name__ == "__main__":
    model = build_model().eval()
    with torch.no_grad():
        output = model(torch.zeros(1, 3, 15, 15))
    print(tuple(output.shape))
