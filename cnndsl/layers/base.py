"""What a layer kind is: its arguments, its shape and parameter rules, its code.

Each kind is a subclass of `LayerKind`; subclassing registers it under its
keywords. The expander binds source arguments to a kind's declared `ARGS`,
the inferrer calls `infer`, and each backend asks the kind for its code.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence

from ..core.errors import BadArgument, Edit, Hint, ShapeProblem, UnsupportedByTarget, did_you_mean
from ..core.frozen import frozen
from ..core.limits import check_size
from ..core.records import dataclass, field
from ..core.sizes import Size
from ..core.source import Span
from ..core.writer import BinOp, Call, List, axes, kw, literal, method  # noqa: F401  (re-exported for the layer kinds)

TYPE_CHECKING = False  # typing's constant without importing typing: ~2.5 ms of every start, for annotations only
if TYPE_CHECKING:
    from typing import Any, ClassVar

Shape = tuple[int | None, ...]
"""A tensor shape without the batch axis, channels last; None is an axis of unknown size
(`input ?x?x3`), as Keras writes it. Inference also runs each rule on the expressions of those
sizes (cnndsl.core.sizes.Size, in place of None): a rule sees a Size only then, and one it cannot
follow (a comparison that depends on the size raises Undecided) leaves the axis unknown."""

REGISTRY: dict[str, type[LayerKind]] = {}

# Whose defaults a file's layers take: `defaults pytorch` on a file's first line picks PyTorch's.
CONVENTIONS = ("keras", "pytorch")
_KERAS_DEFAULT = object()  # an Arg's PyTorch default when it is the same as Keras's

# Keras argument names people type from habit, and how cnndsl writes them.
KERAS_ARGUMENTS = {
    "kernel_size": "given by its place here, after the filters: `conv 32 3x3`",
    "strides": "`stride` here: `stride 2`",
    "dilation_rate": "`dilation` here: `dilation 2`",
    "depth_multiplier": "`mult` here: `mult 2`",
    "use_bias": "on by default here; write `nobias` to leave the bias out",
    "pool_size": "given by its place here: `maxpool 2`",
    "units": "given by its place here: `dense 128`",
    "negative_slope": "given by its place here: `leakyrelu 0.2`",
}

# Keras layer classes, lower case without `_` or 1D/2D/3D, that cnndsl spells differently.
KERAS_LAYERS = {
    "batchnormalization": "bn",
    "layernormalization": "layernorm",
    "maxpooling": "maxpool",
    "averagepooling": "avgpool",
    "globalaveragepooling": "gap",
    "globalmaxpooling": "gmp",
    "depthwiseconv": "dwconv",
    "separableconv": "sepconv",
    "convtranspose": "deconv",
    "zeropadding": "zeropad",
    "upsampling": "upsample",
    "activation": "an activation is a layer by its own name here: `relu`, `gelu`, `softmax`...",
    "inputlayer": "input",
}


def keras_layer_hint(word: str) -> str | None:
    """`BatchNormalization`, `max_pooling2d`: Keras's names for a layer cnndsl writes otherwise."""
    plain = re.sub(r"[123]d", "", word.lower().replace("_", ""))
    ours = KERAS_LAYERS.get(plain)
    if ours is None:
        return None
    if " " in ours:
        return ours
    return Hint(f"cnndsl writes this layer `{ours}`", Edit(f"Change to `{ours}`", ours, original=word))


def keras_layer_word(word: str) -> str | None:
    """The cnndsl keyword for a Keras layer class (`BatchNormalization` -> `bn`, `Conv2D` -> `conv2d`)."""
    from . import REGISTRY  # the registry imports this module

    plain = re.sub(r"[123]d", "", word.lower().replace("_", ""))
    ours = KERAS_LAYERS.get(plain)
    if ours is not None and ours in REGISTRY:
        return ours
    if word == word.lower():
        return None  # a lower-case word is ours, or a typo: did-you-mean answers it
    return next((w for w in (word.lower(), plain) if w in REGISTRY), None)


@frozen
class Value:
    """An evaluated argument: a number, a size (AxB), or a bare word."""

    value: int | float | str | tuple[int, ...]
    span: Span

    def describe(self) -> str:
        if isinstance(self.value, tuple):
            return describe_shape(self.value)
        if isinstance(self.value, float):
            return f"{self.value:.6g}"
        return str(self.value)


def _whole_number_hint(value: Value, arg: Arg) -> str | None:
    if isinstance(value.value, float) and not value.value.is_integer():
        return (
            "`//` rounds down where `/` gives a fraction; or make it whole in the file: "
            "`round(...)`, `int(...)`, or `divisible(..., 8)` for a multiple of 8"
        )
    return arg.example_hint()


# Argument types: each converts a Value, or raises BadArgument.


class ArgType:
    words = "a value"

    def convert(self, value: Value, arg: Arg) -> Any:
        raise NotImplementedError


class IntType(ArgType):
    def __init__(self, minimum: int = 1):
        self.minimum = minimum
        self.words = "a whole number" if minimum < 1 else "a positive whole number"

    def convert(self, value, arg):
        v = value.value
        if isinstance(v, float) and v.is_integer() and not isinstance(v, bool):
            v = int(v)
        if not isinstance(v, int) or v < self.minimum:
            raise BadArgument(
                f"`{arg.name}` must be {self.words}, not `{value.describe()}`",
                value.span,
                _whole_number_hint(value, arg),
            )
        return check_size(v, value.span, f"`{arg.name}`")


class FloatType(ArgType):
    def __init__(self, low: float | None = None, high: float | None = None, words: str = "a number"):
        self.low, self.high, self.words = low, high, words

    def convert(self, value, arg):
        v = value.value
        if (
            not isinstance(v, (int, float))
            or (self.low is not None and v < self.low)
            or (self.high is not None and v >= self.high)
        ):
            raise BadArgument(
                f"`{arg.name}` must be {self.words}, not `{value.describe()}`", value.span, arg.example_hint()
            )
        return float(v)


class SizeType(ArgType):
    """An int `3` (all axes) or dims `3x5` (one per axis), all positive."""

    words = "a size such as 3 or 3x3"

    def __init__(self, minimum: int = 1):
        self.minimum = minimum

    def convert(self, value, arg):
        v = value.value
        values = (v,) if isinstance(v, int) else v
        if not isinstance(values, tuple) or any(not isinstance(x, int) or x < self.minimum for x in values):
            hint = _whole_number_hint(value, arg)
            if isinstance(values, tuple) and None in values:
                hint = f"only `input` takes `?` (an axis of unknown size); {hint or 'give every axis a size'}"
            raise BadArgument(f"`{arg.name}` must be {self.words}, not `{value.describe()}`", value.span, hint)
        for x in values:
            check_size(x, value.span, f"`{arg.name}`")
        return values


class ShapeType(ArgType):
    """Dims `7x7x64`, or an int for a flat vector; -1 allowed where said, `?` (None) where said."""

    words = "a shape such as 28x28x1"

    def __init__(self, allow_unknown: bool = False, allow_unknown_size: bool = False):
        self.allow_unknown = allow_unknown  # -1: reshape's "whatever is left"
        self.allow_unknown_size = allow_unknown_size  # `?`: an axis of any size (None)

    def convert(self, value, arg):
        v = value.value
        values = (v,) if isinstance(v, int) else v
        low = -1 if self.allow_unknown else 1
        if not isinstance(values, tuple) or any(
            not (x is None and self.allow_unknown_size) and (not isinstance(x, int) or x < low or x == 0)
            for x in values
        ):
            hint = arg.example_hint()
            if isinstance(values, tuple) and None in values:
                hint = f"only `input` takes `?` (an axis of unknown size); {hint or 'give every axis a size'}"
            raise BadArgument(f"`{arg.name}` must be {self.words}, not `{value.describe()}`", value.span, hint)
        if values.count(-1) > 1:
            raise BadArgument("only one axis of a shape can be -1", value.span)
        for x in values:
            if x is not None:
                check_size(x, value.span, f"an axis of `{arg.name}`")
        return values


class Choice(ArgType):
    """One of a set of bare words; the word alone selects it (`same`)."""

    def __init__(self, *choices: str, aliases: Mapping[str, str] | None = None):
        self.choices = choices
        self.aliases = dict(aliases or {})
        self.words = "one of " + ", ".join(f"`{c}`" for c in choices)

    def lookup(self, word: str) -> str | None:
        if word in self.choices:
            return word
        return self.aliases.get(word)

    def convert(self, value, arg):
        found = self.lookup(value.value) if isinstance(value.value, str) else None
        if found is None:
            raise BadArgument(
                f"`{arg.name}` must be {self.words}, not `{value.describe()}`",
                value.span,
                did_you_mean(str(value.value), (*self.choices, *self.aliases)),
            )
        return found


_SWITCH_WORDS = {"True": True, "true": True, "False": False, "false": False}


def _switch_value(value: Value | None, numbers_too: bool) -> bool | None:
    """The truth value `value` gives a switch written before it, or None when it is something else."""
    if value is None:
        return None
    if isinstance(value.value, str):
        return _SWITCH_WORDS.get(value.value)
    if numbers_too and type(value.value) is int and value.value in (0, 1):
        return bool(value.value)
    return None


def _switch_setting(value: Value, name: str) -> bool:
    """`name=True`, `name=0`: a switch's setting, or a located error."""
    setting = _switch_value(value, True)
    if setting is None:
        raise BadArgument(
            f"`{name}` is a switch: True or False (or 1 or 0), not `{value.describe()}`",
            value.span,
            f"write `{name}=True` or `{name}=False`",
        )
    return setting


class Flag(ArgType):
    """A bare word that flips a default (`nobias` turns `bias` off)."""

    words = "a switch"

    def __init__(self, word: str | None = None):
        self.word = word

    def convert(self, value, arg):
        raise BadArgument(f"`{arg.name}` takes no value", value.span)


@dataclass(frozen=True)
class Arg:
    """One argument a layer kind accepts."""

    name: str
    type: ArgType
    default: Any = None
    positional: bool = False
    required: bool = False
    variadic: bool = False  # positional only: takes every remaining value
    doc: str = ""
    example: str = ""
    torch_default: Any = _KERAS_DEFAULT  # the default under `defaults pytorch`, where PyTorch's differs

    def default_for(self, conventions: str) -> Any:
        if conventions == "pytorch" and self.torch_default is not _KERAS_DEFAULT:
            return self.torch_default
        return self.default

    def example_hint(self) -> str | None:
        return f"for example `{self.example}`" if self.example else None


@dataclass(frozen=True)
class Inferred:
    """What inference learns about one layer."""

    shape: Shape
    keras_type: str
    trainable: int = 0
    non_trainable: int = 0
    macs: int = 0
    resolved: Mapping[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable


@dataclass(frozen=True)
class Window:
    """What one output position reads on one axis: `size` input positions starting at
    `position·stride − before` (in input steps). Up-sampling layers have a fractional stride."""

    size: Any = 1
    stride: Any = 1
    before: Any = 0


def conv_windows(kernel, stride, dilation, pads) -> tuple[Window, ...]:
    """A sliding window per axis; `before` is None where the padding depends on an unknown size."""
    return tuple(
        Window((k - 1) * d + 1, s, same_before((k - 1) * d + 1, s) if pad is None else pad[0])
        for k, s, d, pad in zip(kernel, stride, dilation, pads)
    )


def same_before(kernel: int, stride: int) -> int | None:
    """`same` padding's zeros before an axis of unknown size, where every size gives the same count.

    With n = out·s − r (0 ≤ r < s) TF pads max(k − s + r, 0) in all, half of it (rounded down)
    before: a 1x1 or 2x2 window with stride 2 pads 0 before at every size; a 3x3 one pads 0 or 1.
    """
    # the count grows with r, so it is one count when the smallest r's and the largest r's agree (a
    # set over every r cost a step per unit of stride: 2^31 steps for `stride 2147483647`)
    fewest, most = max(kernel - stride, 0) // 2, max(kernel - 1, 0) // 2
    return fewest if fewest == most else None


@functools.cache  # one name per Keras class; inference asks for every layer
@dataclass(frozen=True)
class TorchModule:
    """One call of an nn.Module in the emitted PyTorch code, as torchinfo lists it."""

    cls: str  # `Conv2d`
    shape: Shape  # its output without the batch axis, laid out as PyTorch has it (channels first)
    params: int = 0  # its own parameters; a container's are its children's
    children: tuple[TorchModule, ...] = ()


def channels_first(shape: Shape) -> Shape:
    return (shape[-1], *shape[:-1])


@functools.cache  # a handful of class names, asked once per layer
def to_snake_case(name: str) -> str:
    """Keras's own rule for a layer's default name from its class name."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


class LayerKind:
    """A configured layer: a kind plus the arguments the user gave it."""

    KEYWORDS: ClassVar[tuple[str, ...]] = ()
    ARGS: ClassVar[tuple[Arg, ...]] = ()
    SUMMARY: ClassVar[str] = ""
    USAGE: ClassVar[str] = ""
    MERGE: ClassVar[bool] = False
    # Whether the layer needs the size of its input's last axis (its weights or channel groups
    # depend on it); the few that work on any last axis say False.
    NEEDS_LAST_AXIS: ClassVar[bool] = True
    # Whether the layer reads token ids (an `input L int`) rather than numbers: only `embedding` does.
    READS_INTEGERS: ClassVar[bool] = False
    # Classes the generated Keras module defines for this layer (name -> source), when Keras has none.
    KERAS_HELPERS: ClassVar[dict[str, str]] = {}
    # The PyTorch and Keras classes this kind stands for, for the hints of a line written in them
    # (cnndsl/language/foreign.py): (framework, "Class Class:keyword ...", "their_arg=our_arg ...").
    FOREIGN: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    conventions: str = "keras"  # `pytorch` when the file starts with `defaults pytorch`
    worked: tuple = ()  # what each computed argument evaluated to (language.expressions.Worked)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for keyword in cls.KEYWORDS:
            REGISTRY[keyword] = cls

    def __init__(self, keyword: str, options: dict[str, Any], spans: dict[str, Span], span: Span):
        self.keyword = keyword
        self.options = options
        self.spans = spans
        self.span = span

    def __getitem__(self, name: str) -> Any:
        return self.options[name]

    def span_of(self, name: str) -> Span:
        return self.spans.get(name, self.span)

    def __repr__(self) -> str:
        given = " ".join(f"{k}={v!r}" for k, v in self.options.items() if k in self.spans)
        return f"<{self.keyword} {given}>"

    @classmethod
    def usage(cls, keyword: str | None = None) -> str:
        """The usage line, spelt with the keyword the file wrote (`linear`, not the kind's `relu`)."""
        if not cls.USAGE or keyword is None or keyword not in cls.KEYWORDS:
            return cls.USAGE
        first, _, rest = cls.USAGE.partition(" ")
        return f"{keyword} {rest}".rstrip() if first in cls.KEYWORDS else cls.USAGE

    # Binding

    @classmethod
    def bind(
        cls,
        keyword: str,
        values: Sequence[Value],
        keywords: Sequence[tuple[str, Value, Span]],
        span: Span,
        conventions: str = "keras",
    ) -> LayerKind:
        """Match source arguments to ARGS; raises BadArgument with a span."""
        defaults, by_name, positional, _choices, flags, choice_words = cls._binding_tables(conventions)
        options = dict(defaults)
        spans: dict[str, Span] = {}

        def assign(arg: Arg, result: Any, where: Span) -> None:
            if arg.name in spans and not arg.variadic:
                raise BadArgument(f"`{arg.name}` is given twice", where, "remove one of the two")
            options[arg.name] = result
            spans[arg.name] = where if arg.name not in spans else spans[arg.name].to(where)

        i = 0
        next_positional = 0
        while i < len(values):
            value = values[i]
            word = value.value if isinstance(value.value, str) else None
            if word is not None and word in flags:
                arg = flags[word]
                after = values[i + 1] if i + 1 < len(values) else None
                # `keepdims 1`, `nobias False`: a switch and its value; a bare 0 or 1 is the
                # switch's only once every required position is filled (`dense nobias 1` is 1 unit)
                setting = _switch_value(after, next_positional >= sum(a.required for a in positional))
                if setting is None:
                    assign(arg, not arg.default, value.span)
                else:
                    i += 1
                    assign(arg, arg.default != setting, value.span.to(after.span))
            elif word is not None and word in by_name and not isinstance(by_name[word].type, (Flag, Choice)):
                arg = by_name[word]
                if i + 1 >= len(values) or isinstance(values[i + 1].value, str):
                    raise BadArgument(f"`{word}` needs a value", value.span, arg.example_hint())
                if arg.variadic and not arg.positional:  # `mean 0.5 0.4 0.3`: every number that follows
                    given = []
                    while i + 1 < len(values) and not isinstance(values[i + 1].value, str):
                        i += 1
                        given.append(arg.type.convert(values[i], arg))
                    assign(arg, tuple(given), value.span.to(values[i].span))
                    i += 1
                    continue
                i += 1
                assign(arg, arg.type.convert(values[i], arg), value.span.to(values[i].span))
            elif (
                word is not None
                and word in by_name
                and isinstance(by_name[word].type, Choice)
                and i + 1 < len(values)
                and isinstance(values[i + 1].value, str)
                and by_name[word].type.lookup(values[i + 1].value)
            ):
                i += 1  # `padding same`, `activation relu`: the choice after its name
                arg = by_name[word]
                assign(arg, arg.type.lookup(values[i].value), value.span.to(values[i].span))
            elif word is not None and (arg := choice_words.get(word)) is not None:
                assign(arg, arg.type.lookup(word), value.span)
            elif word is None and next_positional < len(positional):
                arg = positional[next_positional]
                if arg.variadic:
                    options[arg.name] = (
                        *(options[arg.name] if arg.name in spans else ()),
                        arg.type.convert(value, arg),
                    )
                    spans[arg.name] = spans[arg.name].to(value.span) if arg.name in spans else value.span
                else:
                    assign(arg, arg.type.convert(value, arg), value.span)
                    next_positional += 1
            else:
                spaced = cls._spaced_size(keyword, values, i)
                raise spaced or cls._unexpected(keyword, value, positional, next_positional)
            i += 1

        for name, value, where in keywords:
            arg = next((a for a in cls.ARGS if a.name == name), None)
            if arg is None and name in flags:  # `nobias=True`: the switch's word, given a truth value
                arg = flags[name]
                assign(arg, arg.default != _switch_setting(value, name), where)
                continue
            if arg is None:
                raise BadArgument(f"`{keyword}` has no option `{name}`", where, cls._unknown_option_hint(name, keyword))
            if isinstance(arg.type, Flag):  # `bias=False`, `keepdims=1`: the setting itself
                assign(arg, _switch_setting(value, name), where)
            elif name == "padding" and isinstance(arg.type, Choice) and not isinstance(value.value, str):
                raise cls._numeric_padding(value, where)
            elif arg.variadic:  # `reshape target=7x7x64`: one value of the several it takes
                if arg.name in spans:
                    raise BadArgument(f"`{arg.name}` is given twice", where, "remove one of the two")
                assign(arg, (arg.type.convert(value, arg),), where)
            else:
                assign(arg, arg.type.convert(value, arg), where)

        missing = [arg for arg in positional if arg.required and arg.name not in spans]
        if missing:
            names = " and ".join(f"`{arg.name}`" for arg in missing)
            raise BadArgument(f"`{keyword}` needs {names}", span, f"usage: {cls.usage(keyword)}" if cls.USAGE else None)
        layer = cls(keyword, options, spans, span)
        layer.conventions = conventions
        layer.validate()
        return layer

    @classmethod
    def _binding_tables(cls, conventions: str) -> tuple:
        """The lookup tables `bind` reads, built once per class and conventions (ARGS never change)."""
        cache = cls.__dict__.get("_BINDING_TABLES")
        if cache is None:
            cache = {}
            cls._BINDING_TABLES = cache  # on this class itself: a subclass has ARGS of its own
        tables = cache.get(conventions)
        if tables is None:
            tables = cache[conventions] = (
                {arg.name: arg.default_for(conventions) for arg in cls.ARGS},
                {arg.name: arg for arg in cls.ARGS if not arg.positional or not arg.required},
                [arg for arg in cls.ARGS if arg.positional],
                [arg for arg in cls.ARGS if isinstance(arg.type, Choice) and not arg.positional],
                {arg.type.word or arg.name: arg for arg in cls.ARGS if isinstance(arg.type, Flag)},
                {},  # a choice's word -> the first choice argument that takes it (`same` -> padding)
            )
            choices, choice_words = tables[3], tables[5]
            for arg in choices:
                for word in (*arg.type.choices, *arg.type.aliases):
                    if arg.type.lookup(word):
                        choice_words.setdefault(word, arg)
        return tables

    @classmethod
    def option_words(cls) -> list[str]:
        """Every bare word the layer accepts after its keyword: option names, flags, choices."""
        words = [a.type.word or a.name if isinstance(a.type, Flag) else a.name for a in cls.ARGS if not a.positional]
        for arg in cls.ARGS:
            if isinstance(arg.type, Choice):
                words += [*arg.type.choices, *arg.type.aliases]
        return words

    @classmethod
    def _unknown_option_hint(cls, word: str, keyword: str | None = None) -> str | None:
        ours = KERAS_ARGUMENTS.get(word)
        if ours is not None:
            # "`stride` here: ..." names the word to write instead: that is the edit
            renamed = re.match(r"`(\w+)` here", ours)
            edits = (Edit(f"Change to `{renamed[1]}`", renamed[1], original=word),) if renamed else ()
            return Hint(f"Keras's `{word}` is {ours}", *edits)
        named = next((a for a in cls.ARGS if a.name == word and a.positional), None)
        if named is not None:
            return f"`{word}` is given by its place, without its name (or as `{word}=...`): {cls.usage(keyword)}"
        return did_you_mean(word, cls.option_words()) or cls._options_hint(keyword)

    @classmethod
    def _numeric_padding(cls, value: Value, where: Span) -> BadArgument:
        """`padding=1`: PyTorch's number of zeros, which cnndsl writes `pad 1` (Keras's padding is a word)."""
        choices = next(a.type for a in cls.ARGS if a.name == "padding")
        message = f"`padding` must be {choices.words}, not `{value.describe()}`"
        if not any(a.name == "pad" for a in cls.ARGS):
            return BadArgument(
                message, value.span, f"PyTorch's `padding={value.describe()}` adds zeros: put `zeropad {value.describe()}` before it"
            )
        ours = f"pad {value.describe()}"
        return BadArgument(
            message,
            value.span,
            Hint(
                f"PyTorch's `padding={value.describe()}` (zeros on each side) is `{ours}` here",
                Edit(f"Change to `{ours}`", ours, span=where),
            ),
        )

    @classmethod
    def _spaced_size(cls, keyword: str, values: list[Value], i: int) -> BadArgument | None:
        """`conv 32 3 x 3`: a size written with spaces around its `x`."""
        if values[i].value not in ("x", "X") or i == 0 or i + 1 == len(values):
            return None
        before, after = values[i - 1], values[i + 1]
        if not all(isinstance(v.value, (int, tuple)) and not isinstance(v.value, bool) for v in (before, after)):
            return None
        if before.span.line != after.span.line:
            return None

        def sizes(value: Value) -> tuple:
            return value.value if isinstance(value.value, tuple) else (value.value,)

        parts = [*sizes(before), *sizes(after)]
        # `input 32 x 32 x 3`: every further `x N` on the line belongs to the same size
        j = i + 2
        while j + 1 < len(values) and values[j].value in ("x", "X") and values[j + 1].span.line == before.span.line:
            following = values[j + 1]
            if not isinstance(following.value, (int, tuple)) or isinstance(following.value, bool):
                break
            parts += sizes(following)
            after, j = following, j + 2
        size = describe_shape(parts)
        whole = before.span.to(after.span)
        return BadArgument(
            f"`{keyword}` has no option `{values[i].value}`",
            values[i].span,
            Hint(f"a size is one word, without spaces: `{size}`", Edit(f"Change to `{size}`", size, span=whole)),
        )

    @classmethod
    def _unexpected(cls, keyword: str, value: Value, positional: list[Arg], next_positional: int) -> BadArgument:
        if isinstance(value.value, str):
            return BadArgument(
                f"`{keyword}` has no option `{value.value}`",
                value.span,
                cls._unknown_option_hint(value.value, keyword),
            )
        return BadArgument(
            f"`{keyword}` takes {len(positional)} plain value{'s' if len(positional) != 1 else ''}; `{value.describe()}` is one too many",
            value.span,
            f"usage: {cls.usage(keyword)}" if cls.USAGE else None,
        )

    @classmethod
    def _options_hint(cls, keyword: str | None = None) -> str | None:
        return f"usage: {cls.usage(keyword)}" if cls.USAGE else None

    def validate(self) -> None:
        """Checks that need several arguments at once; shapes are not known yet."""

    def lower(self) -> list[LayerKind]:
        """The layers this one stands for; most layers stand for themselves."""
        return [self]

    # Inference

    def implicit_before(self, shapes: Sequence[Shape]) -> LayerKind | None:
        """A layer to insert before this one (dense's implicit flatten)."""
        return None

    def infer(self, shapes: Sequence[Shape]) -> Inferred:
        raise NotImplementedError

    # Code generation: each backend asks the layer kind how to write it.

    def keras(self, node) -> Call:
        """The Keras layer for `node`, e.g. `layers.Conv2D(32, 3)`; the emitter adds its name."""
        raise self.unsupported("Keras")

    def keras_helpers(self, node) -> dict[str, str]:
        """Classes the Keras module needs for this node's layer (name -> source)."""
        return self.KERAS_HELPERS

    def keras_before(self, node) -> list[Call]:
        """Keras layers without weights to call before this one's (a flatten's channels-first Permute)."""
        return []

    def torch(self, node, step) -> list:
        """PyTorch steps for `node`: functions from the input expression to the output's.

        `step.module(expr)` makes `expr` an attribute of the model and returns its
        `self.` name; `step.inputs` are the input variables, `step.helper(name)`
        asks for a helper class in the file, `step.comment(text)` adds a comment.
        """
        raise self.unsupported("PyTorch")

    def counts(self, node) -> dict[str, int]:
        """What each FLOP counter reports for this layer's emitted PyTorch code, one example.

        Keys are cnndsl.views.flops.COUNTERS; a counter left out counts 0. Each rule is
        that tool's own for the modules and calls `torch()` writes (see cnndsl/flops.py).
        """
        return {"cnndsl": node.info.macs}

    def torch_modules(self, node) -> list[TorchModule]:
        """The nn.Module calls `torch()` writes for this node, in order (none for plain tensor ops)."""
        return []

    def torch_own_parameters(self, node) -> int:
        """The parameters `torch()` makes a bare nn.Parameter of the module around the node (0: none)."""
        return 0

    def unsupported(self, target: str, why: str = "") -> UnsupportedByTarget:
        return UnsupportedByTarget(
            f"{target} code cannot express `{self.keyword}`" + (f": {why}" if why else ""), self.span
        )

    # Explanation: the arithmetic behind the node's figures, with its own numbers.
    # Each returns lines of text; `cnndsl.views.explain` adds the shapes, activations and totals.

    def explain_shape(self, node) -> list[str]:
        """How the output shape follows from the input's, one line per rule or axis."""
        if node.in_shapes and node.shape == node.in_shapes[0]:
            return ["same shape as its input"]
        return []

    def explain_shape_in(self, node, layout: str) -> list[str]:
        """`explain_shape` with shapes shown in `layout`; only a kind whose lines list a shape's axes in
        order (flatten's product) writes them differently."""
        return self.explain_shape(node)

    def explain_params(self, node) -> list[str]:
        """The parameter count as a sum of the parts (weights, bias, ...); empty when there are none."""
        return []

    def explain_macs(self, node) -> list[str]:
        """The multiply-accumulates as a product; empty when the layer counts none."""
        return []

    def window(self, node) -> tuple[Window, ...] | None:
        """Per spatial axis, the input positions one output position reads (receptive fields).

        The default suits layers that keep the shape and work position by
        position (activations, normalisation, dropout); any other layer whose
        output has no spatial axes has none.
        """
        shape = node.shape
        if len(shape) > 1 and node.in_shapes and node.in_shapes[0][:-1] == shape[:-1]:
            return (Window(),) * (len(shape) - 1)
        return None

    # Helpers for subclasses

    def fail(self, message: str, name: str | None = None, hint: str | None = None) -> ShapeProblem:
        return ShapeProblem(message, self.span_of(name) if name else self.span, hint)


def spatial_rank(shape: Shape) -> int:
    return len(shape) - 1


def describe_shape(shape: Shape) -> str:
    """`?x?x3`: a shape as the language writes it, `?` for an unknown axis."""
    return "x".join("?" if n is None else str(n) for n in shape)


def fit_size(
    layer: LayerKind, name: str, size: tuple[int, ...], rank: int, shape: Shape | None = None
) -> tuple[int, ...]:
    """Broadcast `3` to (3, 3) on a 2-D input; reject a size of the wrong rank."""
    if len(size) == 1:
        return size * rank
    if len(size) != rank:
        hint = f"write it as {describe_shape(size[:1] * rank)} or as one number"
        if shape is not None and len(size) == len(shape) and shape[-1] > 4:
            # `input 28x28` then `conv 32 3x3`: an image written without its channel axis
            hint = (
                f"channels come last, so {describe_shape(shape)} is {shape[0]} steps of {shape[-1]} channels; "
                f"for a one-channel image give `input` a channel axis: `input {describe_shape(shape)}x1`"
            )
        raise layer.fail(
            f"`{name}` {describe_shape(size)} has {len(size)} axes but the input has {rank} spatial "
            f"ax{'is' if rank == 1 else 'es'} here",
            name,
            hint,
        )
    return size


def prod(values) -> int | None:
    """The product, or None when a factor is unknown: a figure that depends on an axis of unknown size."""
    values = tuple(values)
    return None if None in values else math.prod(values)


def same_pads(size: int | None, kernel: int, stride: int) -> tuple[int, int] | None:
    """Keras/TF `same` padding of one axis: the extra pixel goes after. With a stride of 1 it is
    k − 1 whatever the size; otherwise it depends on the size, so None where that is unknown."""
    if size is None or isinstance(size, Size):
        return ((kernel - 1) // 2, kernel - 1 - (kernel - 1) // 2) if stride == 1 else None
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def torch_pad(pads) -> tuple[int, ...]:
    """Per-axis (before, after) pads in `F.pad`'s order: last axis first."""
    return tuple(p for pair in reversed(pads) for p in pair)


def require_rank(layer: LayerKind, shape: Shape, ranks: Sequence[int], what: str) -> int:
    """The spatial rank, or a clear error when the input is not an image-like tensor."""
    if len(shape) - 1 not in ranks:
        kinds = {1: "a sequence (LxC)", 2: "an image (HxWxC)", 3: "a volume (DxHxWxC)"}
        names = [kinds[r] for r in ranks]
        wanted = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
        got = "a flat vector" if len(shape) == 1 else kinds.get(len(shape) - 1, f"a rank-{len(shape)} tensor")
        raise layer.fail(
            f"`{layer.keyword}` needs {wanted}, but its input is {got} ({describe_shape(shape)}) here",
            hint=f"{what}" if what else None,
        )
    return len(shape) - 1


def dot(*factors) -> str:
    """`5·5·8`: a product written out, as the tutorials write it; `?` for an unknown size."""
    return "·".join("?" if f is None else str(f) for f in factors)


def figure(value: int | None) -> str:
    if value is None:
        return "?"  # depends on an axis of unknown size
    return f"{value:,}"


AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
AXIS_WORDS = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def axis_word(axis: int, length: int) -> str:
    """`height`: axis `axis` of a shape of `length` axes, channels last, in words."""
    if axis == length - 1:
        return "channels" if length > 1 else "size"
    return AXIS_WORDS.get(length - 1, ())[axis : axis + 1] and AXIS_WORDS[length - 1][axis] or f"axis {axis + 1}"


def axis_names(rank: int) -> tuple[str, ...]:
    return AXIS_NAMES.get(rank, tuple(f"axis {i + 1}" for i in range(rank)))


def to_layout(shape: Shape, layout: str = "channels_last") -> Shape:
    """The shape as Keras (channels last) or PyTorch (channels first) writes it."""
    if layout == "channels_first" and len(shape) > 1:
        return shape[-1:] + shape[:-1]
    return shape


def window_lines(
    in_shape: Shape, out_shape: Shape, kernel, stride, dilation, padding: str, pads, what="k"
) -> list[str]:
    """Keras's rule for a sliding window (conv or pool), with each axis worked out."""
    lines = []
    if padding == "valid":
        lines.append("valid padding: out = floor((n − d·(k−1) − 1)/s) + 1")
    elif padding == "causal":
        lines.append("causal padding: out = floor((n − 1)/s) + 1 = ceil(n/s); d·(k−1) zeros before")
    else:
        lines.append(
            "same padding: out = floor((n − 1)/s) + 1 = ceil(n/s); Keras pads (out−1)·s + d·(k−1) + 1 − n, the odd pixel after"
        )
    for name, n, out, k, s, d, pad in zip(axis_names(len(kernel)), in_shape, out_shape, kernel, stride, dilation, pads):
        if n is None:
            known = "" if pad is None else f"; pads {pad[0]} before, {pad[1]} after"
            lines.append(f"{name}: unknown, as the input's{known or ' (and so are the pads)'}")
            continue
        before, after = pad
        if padding == "valid":
            span = str(k) if d == 1 else f"{d}·({k}−1) − 1"
            if d == 1 and s == 1:
                worked = f"{n} − {k} + 1"
            elif d == 1:
                worked = f"floor(({n} − {k})/{s}) + 1"
            else:
                worked = f"floor(({n} − {span})/{s}) + 1"
            lines.append(f"{name}: {worked} = {out}")
        else:
            lines.append(f"{name}: ceil({n}/{s}) = {out}; pads {before} before, {after} after")
    return lines
