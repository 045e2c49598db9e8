"""embedding: token ids (an `input L int`) to vectors, Keras's Embedding and PyTorch's nn.Embedding."""

from __future__ import annotations

from .base import Arg, Call, Inferred, IntType, LayerKind, TorchModule, figure, method

EMBED_HINT = "`embedding VOCAB DIM` turns each token id into a vector of DIM numbers"


class Embedding(LayerKind):
    NEEDS_LAST_AXIS = False  # `input ? int`: a sequence of any length
    READS_INTEGERS = True
    KEYWORDS = ("embedding", "embed")
    ARGS = (
        Arg("vocab", IntType(), positional=True, required=True, doc="how many token ids (0 to VOCAB − 1)", example="embedding 20000 128"),
        Arg("dim", IntType(), positional=True, required=True, doc="the length of each token's vector", example="embedding 20000 128"),
    )
    SUMMARY = "token ids to vectors: a sequence of L ids (`input L int`) becomes L positions of DIM channels"
    USAGE = "embedding VOCAB DIM"
    FOREIGN = (
        ("PyTorch", "Embedding", "num_embeddings=vocab embedding_dim=dim"),
        ("Keras", "Embedding", "input_dim=vocab output_dim=dim"),
    )

    def infer(self, shapes):
        (shape,) = shapes
        return Inferred((*shape, self["dim"]), "Embedding", trainable=self["vocab"] * self["dim"])

    def explain_shape(self, node):
        (length,) = node.in_shapes[0]
        return [f"each of the {'unknown number of' if length is None else length} token ids becomes {self['dim']} channels"]

    def explain_params(self, node):
        return [f"{self['vocab']}·{self['dim']} = {figure(node.info.params)}", "one row of the table per token id"]

    def keras(self, node):
        return Call("layers.Embedding", [self["vocab"], self["dim"]])

    def torch(self, node, step):
        """nn.Embedding adds the channels last: moved to dim 1, as every tensor of the module is laid out."""
        table = step.module(Call("nn.Embedding", [self["vocab"], self["dim"]]))
        return [lambda x: method(Call(table, [x]), "movedim", [-1, 1])]

    def torch_modules(self, node):
        return [TorchModule("Embedding", node.shape, node.info.trainable)]

    def counts(self, node):
        """A lookup, no arithmetic; torchinfo counts each parameter of a module with weights once."""
        return {"torchinfo": node.info.trainable}
