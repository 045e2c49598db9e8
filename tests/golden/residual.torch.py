"""PyTorch model `residual`, written by cnndsl.

Tensors are channels first, (N, C, H, W), as PyTorch expects; the comment
after each step of forward() gives its shape, N being the batch size.
Padding, pooling, batch norm and flatten follow Keras exactly, so weights
copied from the Keras model (cnndsl.port.keras_to_torch) give its outputs.
"""

import torch
from torch import nn
from torch.nn import functional as F


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False)
        self.batch_normalization = nn.BatchNorm2d(16, eps=0.001, momentum=0.01)
        self.conv2d = nn.Conv2d(16, 16, kernel_size=1)
        self.batch_normalization_1 = nn.BatchNorm2d(16, eps=0.001, momentum=0.01)
        self.conv2d_1 = nn.Conv2d(16, 16, kernel_size=3, padding=1)
        self.batch_normalization_2 = nn.BatchNorm2d(16, eps=0.001, momentum=0.01)
        self.conv2d_2 = nn.Conv2d(16, 16, kernel_size=3, padding=1)
        self.batch_normalization_3 = nn.BatchNorm2d(16, eps=0.001, momentum=0.01)
        self.conv2d_3 = nn.Conv2d(16, 16, kernel_size=1)
        self.batch_normalization_4 = nn.BatchNorm2d(16, eps=0.001, momentum=0.01)
        self.conv2d_4 = nn.Conv2d(16, 16, kernel_size=3, padding=1)
        self.batch_normalization_5 = nn.BatchNorm2d(16, eps=0.001, momentum=0.01)
        self.conv2d_5 = nn.Conv2d(16, 16, kernel_size=3, padding=1)
        self.batch_normalization_6 = nn.BatchNorm2d(16, eps=0.001, momentum=0.01)
        self.conv2d_6 = nn.Conv2d(16, 32, kernel_size=1, stride=2)
        self.batch_normalization_7 = nn.BatchNorm2d(32, eps=0.001, momentum=0.01)
        self.conv2d_7 = nn.Conv2d(16, 32, kernel_size=3, stride=2)
        self.batch_normalization_8 = nn.BatchNorm2d(32, eps=0.001, momentum=0.01)
        self.conv2d_8 = nn.Conv2d(32, 32, kernel_size=3, padding=1)
        self.batch_normalization_9 = nn.BatchNorm2d(32, eps=0.001, momentum=0.01)
        self.conv2d_9 = nn.Conv2d(32, 8, kernel_size=1)
        self.max_pooling2d = nn.MaxPool2d(3, stride=1, padding=1)
        self.conv2d_10 = nn.Conv2d(32, 8, kernel_size=1)
        self.conv2d_11 = nn.Conv2d(16, 16, kernel_size=1)
        self.dense = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)  # (N, 16, 32, 32)
        x = self.batch_normalization(x)  # (N, 16, 32, 32)
        activation = F.relu(x)  # (N, 16, 32, 32)
        x = self.conv2d(activation)  # (N, 16, 32, 32)
        batch_normalization_1 = self.batch_normalization_1(x)  # (N, 16, 32, 32)
        x = self.conv2d_1(activation)  # (N, 16, 32, 32)
        x = self.batch_normalization_2(x)  # (N, 16, 32, 32)
        x = F.relu(x)  # (N, 16, 32, 32)
        x = self.conv2d_2(x)  # (N, 16, 32, 32)
        x = self.batch_normalization_3(x)  # (N, 16, 32, 32)
        x = batch_normalization_1 + x  # (N, 16, 32, 32)
        activation_2 = F.relu(x)  # (N, 16, 32, 32)
        x = self.conv2d_3(activation_2)  # (N, 16, 32, 32)
        batch_normalization_4 = self.batch_normalization_4(x)  # (N, 16, 32, 32)
        x = self.conv2d_4(activation_2)  # (N, 16, 32, 32)
        x = self.batch_normalization_5(x)  # (N, 16, 32, 32)
        x = F.relu(x)  # (N, 16, 32, 32)
        x = self.conv2d_5(x)  # (N, 16, 32, 32)
        x = self.batch_normalization_6(x)  # (N, 16, 32, 32)
        x = batch_normalization_4 + x  # (N, 16, 32, 32)
        activation_4 = F.relu(x)  # (N, 16, 32, 32)
        x = self.conv2d_6(activation_4)  # (N, 32, 16, 16)
        batch_normalization_7 = self.batch_normalization_7(x)  # (N, 32, 16, 16)
        x = self.conv2d_7(F.pad(activation_4, (0, 1, 0, 1)))  # (N, 32, 16, 16)
        x = self.batch_normalization_8(x)  # (N, 32, 16, 16)
        x = F.relu(x)  # (N, 32, 16, 16)
        x = self.conv2d_8(x)  # (N, 32, 16, 16)
        x = self.batch_normalization_9(x)  # (N, 32, 16, 16)
        x = batch_normalization_7 + x  # (N, 32, 16, 16)
        activation_6 = F.relu(x)  # (N, 32, 16, 16)
        conv2d_9 = self.conv2d_9(activation_6)  # (N, 8, 16, 16)
        x = self.max_pooling2d(activation_6)  # (N, 32, 16, 16)
        x = self.conv2d_10(x)  # (N, 8, 16, 16)
        concatenate = torch.cat([conv2d_9, x], dim=1)  # (N, 16, 16, 16)
        x = concatenate.mean(dim=(2, 3), keepdim=True)  # (N, 16, 1, 1)
        x = torch.sigmoid(self.conv2d_11(x))  # (N, 16, 1, 1)
        x = concatenate * x  # (N, 16, 16, 16)
        x = x.mean(dim=(2, 3))  # (N, 16)
        x = F.softmax(self.dense(x), dim=1)  # (N, 10)
        return x


def build_model():
    return Residual()


if __name__ == "__main__":
    model = build_model().eval()
    with torch.no_grad():
        output = model(torch.zeros(1, 3, 32, 32))
    print(tuple(output.shape))
