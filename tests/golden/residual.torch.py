"""PyTorch model `residual`, written by cnndsl.

Tensors are channels first, (N, C, H, W), as PyTorch expects; the comment
after each step of the model's forward() gives its shape, N being the batch size.
Each block of the .cnn file is a module class; each call of it, an instance.
Padding, pooling, batch norm and flatten follow Keras exactly, so weights
copied from the Keras model (cnndsl.port.keras_to_torch) give its outputs.
"""

import torch
from torch import nn
from torch.nn import functional as F


class Basic(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(16, 16, kernel_size=1)
        self.bn1 = nn.BatchNorm2d(16, eps=0.001, momentum=0.01)
        self.conv2 = nn.Conv2d(16, 16, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(16, eps=0.001, momentum=0.01)
        self.conv3 = nn.Conv2d(16, 16, kernel_size=3, padding=1)
        self.bn3 = nn.BatchNorm2d(16, eps=0.001, momentum=0.01)

    def forward(self, x):
        out = self.conv1(x)
        bn1 = self.bn1(out)
        out = self.conv2(x)
        out = self.bn2(out)
        out = F.relu(out)
        out = self.conv3(out)
        out = self.bn3(out)
        out = bn1 + out
        out = F.relu(out)
        return out


class Basic2(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(16, 32, kernel_size=1, stride=2)
        self.bn1 = nn.BatchNorm2d(32, eps=0.001, momentum=0.01)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, stride=2)
        self.bn2 = nn.BatchNorm2d(32, eps=0.001, momentum=0.01)
        self.conv3 = nn.Conv2d(32, 32, kernel_size=3, padding=1)
        self.bn3 = nn.BatchNorm2d(32, eps=0.001, momentum=0.01)

    def forward(self, x):
        out = self.conv1(x)
        bn1 = self.bn1(out)
        out = self.conv2(F.pad(x, (0, 1, 0, 1)))
        out = self.bn2(out)
        out = F.relu(out)
        out = self.conv3(out)
        out = self.bn3(out)
        out = bn1 + out
        out = F.relu(out)
        return out


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False)
        self.batch_normalization = nn.BatchNorm2d(16, eps=0.001, momentum=0.01)
        self.layer1 = nn.Sequential(Basic(), Basic())
        self.basic = Basic2()
        self.conv2d_9 = nn.Conv2d(32, 8, kernel_size=1)
        self.max_pooling2d = nn.MaxPool2d(3, stride=1, padding=1)
        self.conv2d_10 = nn.Conv2d(32, 8, kernel_size=1)
        self.conv2d_11 = nn.Conv2d(16, 16, kernel_size=1)
        self.dense = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)  # (N, 16, 32, 32)
        x = self.batch_normalization(x)  # (N, 16, 32, 32)
        x = F.relu(x)  # (N, 16, 32, 32)
        x = self.layer1(x)  # (N, 16, 32, 32)
        basic = self.basic(x)  # (N, 32, 16, 16)
        conv2d_9 = self.conv2d_9(basic)  # (N, 8, 16, 16)
        x = self.max_pooling2d(basic)  # (N, 32, 16, 16)
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
