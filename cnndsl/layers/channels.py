"""Channel rearrangements of ShuffleNet: shuffle, and chunk (one of N equal channel groups)."""

from __future__ import annotations

from .base import Arg, Call, Inferred, IntType, LayerKind, kw


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

    def keras(self, node):
        raise self.unsupported("Keras", "Keras has no channel shuffle layer")

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

    def keras(self, node):
        raise self.unsupported("Keras", "Keras has no layer that takes a slice of the channels")

    def torch(self, node, step):
        return [lambda x: f"{Call(f'{x}.chunk', [self['groups'], kw('dim', 1)])}[{self['index']}]"]
