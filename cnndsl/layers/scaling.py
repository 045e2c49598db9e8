"""Residual-branch scaling: LayerScale (ConvNeXt) and stochastic depth (ConvNeXt, EfficientNet)."""

from __future__ import annotations

from .base import Arg, BinOp, Call, FloatType, Inferred, LayerKind, TorchModule, channels_first, kw, literal
from .core import drop_rate_arg

KERAS_LAYER_SCALE = '''
class LayerScale(layers.Layer):
    """A learned factor per channel, as keras.applications' ConvNeXt has it."""

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape):
        self.gamma = self.add_weight(
            shape=(self.projection_dim,),
            initializer=keras.initializers.Constant(self.init_values),
            trainable=True,
            name="gamma",
        )

    def call(self, x):
        return x * self.gamma
'''


class LayerScale(LayerKind):
    KEYWORDS = ("layerscale", "layer_scale")
    ARGS = (
        Arg(
            "init",
            FloatType(),
            default=1e-6,
            positional=True,
            doc="the factors' first value, 1e-6 as in ConvNeXt",
            example="layerscale 1e-6",
        ),
    )
    SUMMARY = "multiplies each channel by a learned factor (ConvNeXt's LayerScale): C parameters"
    USAGE = "layerscale [1e-6]"
    KERAS_HELPERS = {"LayerScale": KERAS_LAYER_SCALE}

    def infer(self, shapes):
        (shape,) = shapes
        return Inferred(shape, "LayerScale", trainable=shape[-1])

    def explain_params(self, node):
        return [f"{node.shape[-1]}: one factor per channel"]

    def keras(self, node):
        return Call("LayerScale", [literal(self["init"]), node.shape[-1]])

    def torch(self, node, step):
        """Under `defaults pytorch` the factor is torchvision's ConvNeXt `layer_scale`: an nn.Parameter of
        the module around it, shaped (C, 1, 1), which its state lists before its submodules'."""
        if self.conventions == "pytorch":
            shape = (node.shape[-1], *(1 for _ in node.shape[:-1]))
            factor = step.module(Call("nn.Parameter", [Call("torch.full", [literal(shape), literal(self["init"])])]))
            return [lambda x: BinOp("*", [factor, x])]
        helper = Call(step.helper("LayerScale"), [literal(self["init"]), literal((node.shape[-1],))])
        scale = step.module(helper)
        return [lambda x: Call(scale, [x])]

    def torch_modules(self, node):
        if self.conventions == "pytorch":
            return []  # a parameter of the module around it: see torch_own_parameters
        return [TorchModule("LayerScale", channels_first(node.shape), node.info.trainable)]

    def torch_own_parameters(self, node) -> int:
        return node.info.trainable if self.conventions == "pytorch" else 0


class StochasticDepth(LayerKind):
    NEEDS_LAST_AXIS = False
    KEYWORDS = ("droppath", "stochastic_depth")
    ARGS = (drop_rate_arg("droppath 0.2"),)
    SUMMARY = (
        "stochastic depth: drops a whole example's branch while training, identity at inference "
        "(Keras `Dropout` with noise shape (None, 1, 1, 1), as EfficientNet writes it)"
    )
    USAGE = "droppath 0.2"

    def infer(self, shapes):
        return Inferred(shapes[0], "Dropout")

    def keras(self, node):
        noise = (None, *(1 for _ in node.shape))
        return Call("layers.Dropout", [literal(self["rate"]), kw("noise_shape", literal(noise))])

    def torch(self, node, step):
        drop = step.module(Call(step.helper("DropPath"), [literal(self["rate"])]))
        return [lambda x: Call(drop, [x])]

    def torch_modules(self, node):
        return [TorchModule("DropPath", channels_first(node.shape))]
