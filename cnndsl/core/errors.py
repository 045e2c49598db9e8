"""Every mistake a user can make in a .cnn file, one class per diagnostic.

Detection raises these; `render` (the reporter) formats them. Nothing here
knows about the command line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .records import dataclass
from .source import Source, Span, use_chain, visible


class CnnError(Exception):
    """A mistake in a .cnn file, with where it is and, if we can, a fix."""

    code = "E000"  # each kind has its own stable code, listed in docs/errors.md
    severity = "error"  # "warning" for a CnnWarning: reported, but the model is made
    example: str | None = None  # a .cnn text that raises this kind, for the catalogue
    example_args: tuple[str, ...] = ()  # `check` options the example needs
    # More inputs of this kind, each with a hint a new user needs; the catalogue shows them too.
    hint_examples: tuple[str, ...] = ()

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        # (block name, call span), innermost first: how the text at `span` was reached
        self.called_from: tuple[tuple[str, Span], ...] = ()

    def fixes(self, source: Source) -> tuple[Fix, ...]:
        """The edits this error's hint proposes, placed in `source`; stale ones are dropped.
        An error in a used file (`use`) offers none: the edits are for the file analysed."""
        if self.span is not None and self.span.file is not None:
            return ()
        edits = getattr(self.hint, "edits", ())
        return tuple(fix for edit in edits if (fix := edit.place(self.span, source)) is not None)

    def __str__(self) -> str:
        where = f"{self.span.line}:{self.span.column}: " if self.span else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}{self.message}{hint}"


class SyntaxProblem(CnnError):
    """The text does not follow the grammar."""

    code = "E100"
    example = "input 28x28x1\nconv 8 3 |\n"
    hint_examples = ("input 8x8x3\nAdd(identity; identity)\n", "def f(c):\nconv c 3\ninput 8x8x3\nf(8)\n")


class UnknownLayer(CnnError):
    """A layer keyword that no layer kind or block defines."""

    code = "E200"
    example = "input 28x28x1\nconv 8 3\nmaxpol 2\n"


class BadArgument(CnnError):
    """A layer or block got an argument it cannot take."""

    code = "E201"
    example = "input 28x28x1\nconv 8 3 strid 2\n"
    hint_examples = ("input 28x28x1\nconv 8 3 x 3\n",)


class ParameterProblem(ValueError):
    """`--set NAME=VALUE` (or `analyze(params=...)`) names no `param` of the file, or gives no number.

    A mistake in the command or the call, not in the file: a ValueError, and exit 2 on the command line.
    """

    def __init__(self, message: str, span=None, hint: str | None = None):
        super().__init__(f"{message} ({hint})" if hint else message)
        self.message, self.hint = message, hint


class ShapeProblem(CnnError):
    """A layer cannot accept the shape that reaches it."""

    code = "E300"
    example = "input 4x4x3\nconv 8 5x5\n"
    hint_examples = (
        "input 28x28\nconv 32 3x3\n",
        "input 3x224x224\nconv 64 3 same | maxpool 2\nconv 128 3 same | maxpool 2\n",
    )


class BranchMismatch(ShapeProblem):
    """The branches of a merge have shapes it cannot combine."""

    code = "E301"
    example = "input 28x28x1\nadd(conv 8 3; conv 8 1)\n"
    hint_examples = (
        "input 64x64x3\nconv 32 3 stride 2 relu | conv 64 3 stride 2 relu\nadd(identity; conv 64 3 relu)\n",
    )


class UnknownSize(ShapeProblem):
    """A layer's weights depend on an axis of unknown size (`?`): a dense after a flatten of `?x?x3`."""

    code = "E302"
    example = "input ?x?x3\nconv 8 3 relu\nflatten\ndense 10\n"
    hint_examples = ()


class SizeNeeded(CnnError):
    """A figure that needs every size (a budget, a FLOP count) asked of a model with an unknown axis."""

    code = "E303"
    example = "input ?x?x3\nconv 8 3 relu\ngap\ndense 10\n"
    example_args = ("--max-macs", "1M")


class StructureProblem(CnnError):
    """The network as a whole is malformed (no input, two inputs, ...)."""

    code = "E400"
    example = "input 8x8x1\ninput 8x8x1\n"


class MissingInput(StructureProblem):
    """A layer comes before any `input`."""

    code = "E401"
    example = "conv 8 3\n"

    def __init__(self, span: Span):
        super().__init__("the network must start with `input`", span, "add a first line such as `input 28x28x1`")


class UnknownReference(CnnError):
    """`@name` or `reuse name` names no earlier layer or block call."""

    code = "E202"
    example = "input 28x28x1\nconv 8 3\nadd(identity; @stem)\n"


class UseProblem(CnnError):
    """A `use` that cannot be followed: the file is missing, is no `.cnn` file, uses itself in a cycle,
    or the text has no place on disk to look from (standard input, the playground)."""

    code = "E410"
    example = 'use "blocks.cnn"\ninput 32x32x3\nconv 8 3\n'


class BlockProblem(CnnError):
    """A `def` block is undefined, recursive, or called wrongly."""

    code = "E500"
    example = "def stem(c):\n    conv c 3\ninput 32x32x3\nstem(8, 16)\n"
    hint_examples = ("input 32x32x3\nBatchNormalization()\n",)


class DuplicateName(CnnError):
    """Two layers would get the same name."""

    code = "E600"
    example = "input 8x8x4\nx: conv 4 1\nx: conv 4 1\n"
    hint_examples = ("input 8x8x3\n(s: conv 3 1) * 2\n",)


class LimitExceeded(CnnError):
    """The file asks for more than cnndsl computes: a size, a number or an amount of work
    past a bound in cnndsl/limits.py that no real network reaches. `diagram --depth N` says it too
    when the diagram at that depth would have more boxes than a diagram has (its hint names a depth that fits)."""

    code = "E900"
    example = "input 28x28x1\ndense 3000000000\n"


class UnsupportedByTarget(CnnError):
    """A code generator cannot express a layer."""

    code = "E700"
    # Every layer kind can be written for both targets today, so no input reaches this.
    example = None


class CnnWarning(CnnError):
    """A design that works but is probably not what was meant: reported, never raised.

    Each kind says why (its docstring) and where that is taught (`reference`).
    `check --warnings error` makes them fail like errors.
    """

    code = "W100"
    severity = "warning"
    reference = ""  # a framework's guide, a paper or a textbook that gives the reason


class ChannelsFirstInput(CnnWarning):
    """The input's first axis looks like channels (1, 3 or 4, much smaller than the others): cnndsl
    writes shapes channels last, as Keras does, so `input 3x224x224` is a 3x224 image of 224 channels.
    PyTorch writes NCHW; a shape copied from it must be turned round."""

    code = "W101"
    example = "input 3x224x224\nconv 64 3 same relu\ngap\ndense 10\n"
    reference = (
        'Keras, `Conv2D` (data_format: "channels_last", the default, is `(batch, height, width, channels)`); '
        "PyTorch, `torch.nn.Conv2d` (input `(N, C, H, W)`)"
    )


class BiasBeforeBatchNorm(CnnWarning):
    """A bias right before a batch norm does nothing: the norm subtracts each channel's mean, and the
    bias with it. torchvision's ResNets (`bias=False`) and keras.applications' EfficientNet (`use_bias=False`) leave it out."""

    code = "W102"
    example = "input 32x32x3\nconv 16 3 same\nbn\nrelu\n"
    reference = (
        'Ioffe & Szegedy, Batch Normalization (ICML 2015), section 3.2: "the bias b can be ignored since '
        'its effects will be canceled by the subsequent mean subtraction"; torchvision `resnet.py` (`conv3x3`: bias=False)'
    )


class DroppedBorder(CnnWarning):
    """A window and stride that do not tile the input: the last rows or columns are never read.
    The output size is floor((n + padding − k)/s) + 1, so (n + padding − k) mod s positions are dropped."""

    code = "W103"
    example = "input 7x7x8\nmaxpool 2\nflatten\ndense 10\n"
    reference = (
        "Dumoulin & Visin, A guide to convolution arithmetic for deep learning (arXiv:1603.07285), "
        'section 2.4, relationship 5: "the last possible step does not coincide with the kernel reaching the end '
        'of the input, i.e., some input units are left out"'
    )


class StackedActivation(CnnWarning):
    """An activation applied to the output of another: `relu | relu` is relu, and anything after a
    `softmax` squashes probabilities that already sum to 1 (a loss on them is then wrong)."""

    code = "W104"
    example = "input 8\ndense 10 softmax\nrelu\n"
    reference = (
        "Goodfellow, Bengio & Courville, Deep Learning (MIT Press, 2016), 6.2.2.3 (softmax units for the "
        "output) and 6.3 (one activation after each affine transformation)"
    )


class DominantLayer(CnnWarning):
    """One layer holds most of the network's parameters: usually a dense layer reading a flattened
    feature map, which global average pooling (`gap`) replaces with far fewer weights."""

    code = "W105"
    example = "input 64x64x3\nconv 32 3 relu\nflatten\ndense 512 relu\ndense 10 softmax\n"
    reference = (
        "Lin, Chen & Yan, Network In Network (ICLR 2014), section 3.2: global average pooling instead of "
        "fully connected layers, which hold most parameters and overfit"
    )


class DropoutAtOutput(CnnWarning):
    """The network's output comes straight from a dropout: while training it zeroes predictions
    themselves, not hidden units. Dropout goes before the last dense layer."""

    code = "W106"
    example = "input 16\ndense 64 relu\ndense 10 softmax\ndropout 0.5\n"
    reference = (
        "Srivastava et al., Dropout: A Simple Way to Prevent Neural Networks from Overfitting (JMLR 15, 2014), "
        "section 4: dropout is applied to input and hidden units"
    )


class ZeroEpsilon(CnnWarning):
    """A normalisation with `eps 0` divides by the standard deviation alone: a constant input (a blank
    image, a dead channel) has none, and gives NaN (Keras); PyTorch refuses a batch norm's eps 0 while training."""

    code = "W107"
    example = "input 8x8x4\nbn eps 0\n"
    reference = (
        'Ioffe & Szegedy, Batch Normalization (ICML 2015), algorithm 1: ε is "a constant added to the '
        'mini-batch variance for numerical stability"; Keras `BatchNormalization` (epsilon: "small float '
        'added to variance to avoid dividing by zero")'
    )


class SizeCondition(CnnWarning):
    """A merge whose branches agree only at some sizes of the `?` axes: `concat(identity; avgpool 2 | upsample 2)`
    joins n and 2·floor(n/2), equal when n is even. The model runs at those sizes alone (the emitted demo
    picks one); Keras builds it and fails at run time at any other."""

    code = "W108"
    example = "input ?x?x8\nconcat(identity; maxpool 2 | upsample 2)\n"
    reference = (
        "Dumoulin & Visin, A guide to convolution arithmetic for deep learning (arXiv:1603.07285), section 2.4, "
        "relationship 5: the output size floor((i + 2p − k)/s) + 1 drops the remainder of the division by s"
    )


@dataclass(frozen=True)
class Fix:
    """A concrete text edit: replace `span` (end exclusive) with `text`."""

    title: str
    span: Span
    text: str


@dataclass(frozen=True)
class Edit:
    """A hint's proposed edit, before it is placed in a source.

    `span` None means the start of the error's own span. When `original` is
    given the edit replaces exactly that text, and is dropped if the source
    there says something else (e.g. the word came in through a block parameter).
    """

    title: str
    text: str
    original: str | None = None
    span: Span | None = None

    def place(self, error_span: Span | None, source: Source) -> Fix | None:
        span = self.span or error_span
        if span is None:
            return None
        if self.original is not None:
            span = span.at(span.line, span.column, span.line, span.column + len(self.original))
            if span.source(source).line(span.line)[span.column - 1 : span.end_column - 1] != self.original:
                return None
        return Fix(self.title, span, self.text)


class Hint(str):
    """A hint that proposes concrete edits; everywhere else it is the plain text."""

    edits: tuple[Edit, ...] = ()

    def __new__(cls, text: str, *edits: Edit) -> Hint:
        hint = super().__new__(cls, text)
        hint.edits = edits
        return hint


class OverBudget(CnnError):
    """A model's parameters, MACs or memory are over a budget given to `check`."""

    code = "E800"
    example = "input 32x32x3\nconv 8 5x5 relu\nflatten\ndense 10\n"
    example_args = ("--max-params", "50K")


def did_you_mean(word: str, choices: Iterable[str]) -> Hint | None:
    """A hint naming the closest other choice, if one is close enough; it carries the replacement."""
    others = sorted(set(choices) - {word})
    by_case = [choice for choice in others if choice.lower() == word.lower()]
    if by_case:
        return Hint(
            f"did you mean `{by_case[0]}`? names are case-sensitive",
            Edit(f"Change to `{by_case[0]}`", by_case[0], original=word),
        )
    import difflib  # only when a name is wrong: `summary` of a good file must not pay for it

    close = difflib.get_close_matches(word.lower(), others, n=1, cutoff=0.6)
    if not close:
        return None
    return Hint(f"did you mean `{close[0]}`?", Edit(f"Change to `{close[0]}`", close[0], original=word))


MAX_NOTES = 6


def render(error: CnnError, source: Source) -> str:
    """`file:line:col: message`, the source line, a caret, and a hint.

    An error inside a block is followed by the calls that reached it, each
    with its own line and caret, innermost first.
    """
    said = f"warning: {error.message}" if error.severity == "warning" else error.message
    lines = _located(source, error.span, f"{said} [{error.code}]")
    if error.hint:
        lines.append(f"hint: {visible(str(error.hint), chr(10))}")
    calls = error.called_from
    # A long chain shows its innermost calls and the outermost one.
    shown = calls if len(calls) <= MAX_NOTES else calls[: MAX_NOTES - 2]
    for block, span in shown:
        lines += _located(source, span, f"note: in block `{block}`, called here")
    if len(shown) < len(calls):
        lines.append(f"{visible(source.filename)}: note: ... {len(calls) - len(shown) - 1} more calls ...")
        block, span = calls[-1]
        lines += _located(source, span, f"note: in block `{block}`, called here")
    for used, use in use_chain(error.span):
        lines += _located(source, use, f"note: `{os.path.basename(used.filename)}` is used here")
    return "\n".join(lines)


def _located(source: Source, span: Span | None, message: str) -> list[str]:
    # Everything from the file (its name, its line, a name quoted in the message) is shown with its
    # control characters escaped, so a quoted comment cannot retitle or clear the user's terminal.
    source = span.source(source) if span is not None else source
    filename, message = visible(source.filename), visible(message, "\n")
    if span is None:
        return [f"{filename}: {message}"]
    raw = source.line(span.line).replace("\t", "→")  # a tab shown as one visible column, as columns count it
    text = visible(raw)
    gutter = " " * len(str(span.line))
    width = (span.end_column - span.column) if span.end_line == span.line else len(raw) - span.column + 1
    start = span.column - 1
    # the caret sits under the escaped text: `\x1b` is four columns where ESC was one
    column, width = len(visible(raw[:start])), len(visible(raw[start : start + max(0, width)]))
    return [
        f"{filename}:{span.line}:{span.column}: {message}",
        f"{gutter} |",
        f"{span.line} | {text}",
        f"{gutter} | {' ' * column}{'^' * max(1, width)}",
    ]
