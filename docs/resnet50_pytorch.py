"""PyTorch model `resnet50`, written by cnndsl.

Tensors are channels first, (N, C, H, W), as PyTorch expects; the comment
after each step of the model's forward() gives its shape, N being the batch size.
Each block of the .cnn file is a module class; each call of it, an instance.
Padding, pooling, batch norm and flatten follow Keras exactly, so weights
copied from the Keras model (cnndsl.port.keras_to_torch) give its outputs.
"""

import torch
from torch import nn
from torch.nn import functional as F


class Projection(nn.Module):
    def __init__(self, in_channels, c, s):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, c * 4, kernel_size=1, stride=s)
        self.bn1 = nn.BatchNorm2d(c * 4, eps=1.001e-05, momentum=0.01)
        self.conv2 = nn.Conv2d(in_channels, c, kernel_size=1, stride=s)
        self.bn2 = nn.BatchNorm2d(c, eps=1.001e-05, momentum=0.01)
        self.conv3 = nn.Conv2d(c, c, kernel_size=3, padding=1)
        self.bn3 = nn.BatchNorm2d(c, eps=1.001e-05, momentum=0.01)
        self.conv4 = nn.Conv2d(c, c * 4, kernel_size=1)
        self.bn4 = nn.BatchNorm2d(c * 4, eps=1.001e-05, momentum=0.01)

    def forward(self, x):
        out = self.conv1(x)
        bn1 = self.bn1(out)
        out = self.conv2(x)
        out = self.bn2(out)
        out = F.relu(out)
        out = self.conv3(out)
        out = self.bn3(out)
        out = F.relu(out)
        out = self.conv4(out)
        out = self.bn4(out)
        out = bn1 + out
        out = F.relu(out)
        return out


class IdentityBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c * 4, c, kernel_size=1)
        self.bn1 = nn.BatchNorm2d(c, eps=1.001e-05, momentum=0.01)
        self.conv2 = nn.Conv2d(c, c, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(c, eps=1.001e-05, momentum=0.01)
        self.conv3 = nn.Conv2d(c, c * 4, kernel_size=1)
        self.bn3 = nn.BatchNorm2d(c * 4, eps=1.001e-05, momentum=0.01)

    def forward(self, x):
        out = self.conv1(x)
        out = self.bn1(out)
        out = F.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        out = F.relu(out)
        out = self.conv3(out)
        out = self.bn3(out)
        out = x + out
        out = F.relu(out)
        return out


class Resnet50(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.batch_normalization = nn.BatchNorm2d(64, eps=1.001e-05, momentum=0.01)
        self.max_pooling2d = nn.MaxPool2d(3, stride=2)
        self.layer1 = nn.Sequential(
            Projection(64, 64, 1),
            IdentityBlock(64),
            IdentityBlock(64),
        )
        self.layer2 = nn.Sequential(
            Projection(256, 128, 2),
            IdentityBlock(128),
            IdentityBlock(128),
            IdentityBlock(128),
        )
        self.layer3 = nn.Sequential(
            Projection(512, 256, 2),
            IdentityBlock(256),
            IdentityBlock(256),
            IdentityBlock(256),
            IdentityBlock(256),
            IdentityBlock(256),
        )
        self.layer4 = nn.Sequential(
            Projection(1024, 512, 2),
            IdentityBlock(512),
            IdentityBlock(512),
        )
        self.predictions = nn.Linear(2048, 1000)

    def forward(self, x):
        x = self.conv1(x)  # (N, 64, 112, 112)
        x = self.batch_normalization(x)  # (N, 64, 112, 112)
        x = F.relu(x)  # (N, 64, 112, 112)
        x = F.pad(x, (1, 1, 1, 1))  # (N, 64, 114, 114)
        x = self.max_pooling2d(x)  # (N, 64, 56, 56)
        x = self.layer1(x)  # (N, 256, 56, 56)
        x = self.layer2(x)  # (N, 512, 28, 28)
        x = self.layer3(x)  # (N, 1024, 14, 14)
        x = self.layer4(x)  # (N, 2048, 7, 7)
        x = x.mean(dim=(2, 3))  # (N, 2048)
        x = F.softmax(self.predictions(x), dim=1)  # (N, 1000)
        return x


def build_model():
    return Resnet50()


if __name__ == "__main__":
    model = build_model().eval()
    with torch.no_grad():
        output = model(torch.zeros(1, 3, 224, 224))
    print(tuple(output.shape))
