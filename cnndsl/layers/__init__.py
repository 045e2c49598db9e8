"""Every layer kind, one module per family; importing registers them."""

from . import activation, channels, conv, core, embedding, merge, norm, pool, resize, scaling  # noqa: F401
from .base import REGISTRY, Inferred, LayerKind, Shape, Value, to_snake_case

__all__ = ["REGISTRY", "Inferred", "LayerKind", "Shape", "Value", "to_snake_case"]
