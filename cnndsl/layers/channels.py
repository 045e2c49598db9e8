"""Channel rearrangements of ShuffleNet: shuffle, and chunk (one of N equal channel groups)."""

from __future__ import annotations

from .base import Arg, Call, Inferred, IntType, LayerKind, kw

# Keras has neither: small layers written into the module, exact on every backend
KERAS_CHANNEL_SHUFFLE = '''
class ChannelShuffle(layers.Layer):
    """PyTorch's F.channel_shuffle on the channels, the last axis here: the channels
    seen as (groups, channels / groups), transposed and flattened again."""

    def __init__(self, groups, **kwargs):
        super().__init__(**kwargs)
        self.groups = groups

    def call(self, x):
        channels = x.shape[-1]
        width = channels // self.groups
        order = [(o % self.groups) * width + o // self.groups for o in range(channels)]
        return keras.ops.take(x, order, axis=-1)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups}
'''

KERAS_CHUNK = '''
class Chunk(layers.Layer):
    """PyTorch's x.chunk(groups, dim=1)[index] on the channels, the last axis here: the
    index-th of `groups` equal groups of channels, counted from 0."""

    def __init__(self, groups, index, **kwargs):
        super().__init__(**kwargs)
        self.groups = groups
        self.index = index

    def call(self, x):
        width = x.shape[-1] // self.groups
        return x[..., self.index * width : (self.index + 1) * width]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // self.groups)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "index": self.index}
'''


class _ChannelLayer(LayerKind):
    def channels_of(self, shape, groups: int, what: str) -> int:
        if len(shape) < 2:
            raise self.fail(f"`{self.keyword}` needs channels and at least one spatial axis", hint=what)
        if shape[-1] % groups:
            raise self.fail(
                f"{shape[-1]} channels cannot be split into {groups} equal groups",
                "groups",
                "the input's channels must be a multiple of the group count",
            )
        return shape[-1] // groups


def shuffle_order(channels: int, groups: int) -> list[int]:
    """The input channel each output channel of F.channel_shuffle takes: the channels viewed as
    (groups, channels/groups), transposed and flattened again."""
    width = channels // groups
    return [(o % groups) * width + o // groups for o in range(channels)]


class ChannelShuffle(_ChannelLayer):
    KEYWORDS = ("shuffle", "channel_shuffle")
    ARGS = (Arg("groups", IntType(), positional=True, required=True, doc="channel groups", example="shuffle 2"),)
    SUMMARY = "interleaves the channels of G groups, as ShuffleNet does (PyTorch `ChannelShuffle`)"
    USAGE = "shuffle GROUPS"

    def infer(self, shapes):
        (shape,) = shapes
        self.channels_of(shape, self["groups"], "shuffle image-like tensors")
        return Inferred(shape, "ChannelShuffle")

    KERAS_HELPERS = {"ChannelShuffle": KERAS_CHANNEL_SHUFFLE}

    def keras(self, node):
        return Call("ChannelShuffle", [self["groups"]])

    def torch(self, node, step):
        return [lambda x: Call("F.channel_shuffle", [x, self["groups"]])]


class Chunk(_ChannelLayer):
    KEYWORDS = ("chunk",)
    ARGS = (
        Arg("groups", IntType(), positional=True, required=True, doc="equal channel groups", example="chunk 2 0"),
        Arg("index", IntType(0), positional=True, required=True, doc="which group, from 0", example="chunk 2 0"),
    )
    SUMMARY = "one of N equal groups of channels, counted from 0 (PyTorch's `x.chunk(N, dim=1)[i]`)"
    USAGE = "chunk GROUPS INDEX"

    def validate(self):
        if self["index"] >= self["groups"]:
            raise self.fail(
                f"group {self['index']} does not exist: there are {self['groups']}, counted from 0",
                "index",
                f"use 0 to {self['groups'] - 1}",
            )

    def infer(self, shapes):
        (shape,) = shapes
        width = self.channels_of(shape, self["groups"], "split image-like tensors")
        return Inferred(shape[:-1] + (width,), "Chunk")

    def explain_shape(self, node):
        g, i, width = self["groups"], self["index"], node.shape[-1]
        return [
            f"channels: {node.in_shapes[0][-1]}/{g} = {width}, the group {i} (channels {i * width} to {(i + 1) * width - 1})"
        ]

    KERAS_HELPERS = {"Chunk": KERAS_CHUNK}

    def keras(self, node):
        return Call("Chunk", [self["groups"], self["index"]])

    def torch(self, node, step):
        return [lambda x: f"{Call(f'{x}.chunk', [self['groups'], kw('dim', 1)])}[{self['index']}]"]
