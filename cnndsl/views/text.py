"""How every view writes a shape, a count, a byte size, a block call and a tensor's name.

One place, so the summary, explain, diagrams, diff and the editor's hovers
cannot drift apart. Nothing here computes a figure: it only writes one.
"""

from __future__ import annotations

from ..core.source import visible
from ..layers.base import to_layout


def shape_text(shape, batch: int | None = None, layout: str = "channels_last") -> str:
    """Keras's `(None, 28, 28, 8)`; `layout` reorders the axes, `batch` replaces None."""
    if layout != "channels_last":
        shape = to_layout(shape, layout)
    return "(" + ", ".join(["None" if batch is None else str(batch), *map(str, shape)]) + ")"


def count_text(value: int | None) -> str:
    """`1,234`, or `?` for a figure that depends on an axis of unknown size."""
    return "?" if value is None else f"{value:,}"


def params_text(count: int) -> str:
    return f"{count:,} param" + ("" if count == 1 else "s")


def readable_memory_size(size: float) -> str:
    """Keras's own formatting of a byte count (`245.93 KB`: 1 KB is 1024 bytes, as Keras's footer has it)."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def binary_size(size: float) -> str:
    """A byte count in IEC units, `1.01 MiB` (1 MiB is 1024² bytes): cnndsl's own memory figures. Keras's
    footer keeps Keras's `KB` (also 1024), torchinfo's table torchinfo's `MB` (10⁶), and budgets
    read `2MB` as 2·10⁶ bytes and `2MiB` as 2·1024² bytes."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PiB"


def option_text(value) -> str:
    """An option as a file writes it: `3x3`, `0.5 0.4`, `relu`; `-` for none."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (tuple, list)):
        if all(isinstance(v, (tuple, list)) for v in value):  # pads: ((top, bottom), (left, right))
            return " ".join("+".join(map(str, v)) for v in value) or "-"
        joiner = "x" if all(isinstance(v, int) for v in value) else " "
        return joiner.join(map(str, value)) or "-"
    return str(value)


def layer_options(layer) -> str:
    """A layer's defining options as a file writes them, defaults left out: `conv 64 3x3 /2 same relu`,
    `maxpool 3 /2`, `dense 10 softmax`, `bn`. Each is the value the layer was built with, however written."""
    from ..layers.base import Choice, Flag

    kind = type(layer)
    defaults, *_, choice_words = kind._binding_tables(layer.conventions)
    parts = [layer.keyword]
    for arg in kind.ARGS:
        value = layer.options.get(arg.name)
        if value is None or (not arg.positional and value == defaults[arg.name]):
            continue  # a positional value is shown even at its default: `maxpool 2 /2`, not `maxpool /2`
        if isinstance(arg.type, Flag):
            word = arg.type.word or arg.name
            parts.append(word if value == (not arg.default) else f"{word} 0")
        elif arg.name == "stride":
            parts.append("/" + option_text(value))
        elif isinstance(arg.type, Choice):
            parts.append(str(value) if choice_words.get(value) is arg else f"{arg.name} {value}")
        elif arg.positional:
            parts.append(_option_value(value))
        else:
            parts.append(f"{arg.name} {_option_value(value)}")
    return " ".join(parts)


def _option_value(value) -> str:
    """option_text with a float in at most 6 significant digits (`droppath 0.0190476`)."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, tuple) and any(isinstance(v, float) for v in value):
        return " ".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in value)
    return option_text(value)


def readable_count(count: int) -> str:
    """3,857,973,248 as `3.86 G`: decimal prefixes, as MACs and FLOPs are quoted."""
    for prefix, size in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if count >= size:
            return f"{count / size:.2f} {prefix}"
    return str(count)


def axes_text(values) -> str:
    """A receptive field's or stride's axes, `7x7`; `-` where there is none, `?` on an axis where
    it depends on an unknown input size."""
    from ..model.receptive import plain

    return "-" if values is None else "x".join("?" if v is None else str(plain(v)) for v in values)


def line_place(span) -> str:
    """`line 3`, or `blocks.cnn line 3` for a line of a used file."""
    if span.file is None:
        return f"line {span.line}"
    return f"{visible(span.file.filename)} line {span.line}"


def call_text(call, source) -> str | None:
    """The call as written (`stack(128, 4)`), white space folded; None when the source is unknown."""
    if source is None:
        return None
    span = call.span
    line = span.source(source).line(span.line)
    end = span.end_column - 1 if span.end_line == span.line else len(line)
    # a call over several lines shows its first, whose comment may hold control characters
    return visible(" ".join(line[span.column - 1 : end].split())) or call.name


def call_label(call, source) -> str:
    """The call with its evaluated arguments and its label, `stem: cbr(192, 1x7)`; else as written,
    or `name(…)` when the source is unknown too."""
    return call.written or call_text(call, source) or f"{call.name}(…)"


def layer_title(node) -> str:
    """A summary row's first cell: `conv2d (Conv2D)`."""
    return f"{node.name} ({node.keras_type})"


def tensor_name(node) -> str:
    """Keras's name of a layer's output in "Connected to": `conv2d[0][0]`."""
    return f"{node.name}[{node.call_index}][0]"


# What GFM reads as markup inside a table cell: emphasis, code, the cell rule, HTML, entities, strike.
# A cell is inline text only (no heading, list or link definition can start there), so brackets,
# `#` and the like stay as they are, and an underscore between two letters or digits is no emphasis.
_MARKDOWN_SPECIAL = frozenset("\\`*|<>&~")


def markdown_text(text: str) -> str:
    """A table cell's text for Markdown: markup characters backslash-escaped, leading spaces (depth
    indentation) kept as `&nbsp;`, which a renderer does not trim as it trims a cell's white space."""
    body = text.lstrip(" ")
    out = ["&nbsp;" * (len(text) - len(body))]
    for i, c in enumerate(body):
        intraword = c == "_" and 0 < i < len(body) - 1 and body[i - 1].isalnum() and body[i + 1].isalnum()
        out.append("\\" + c if c in _MARKDOWN_SPECIAL or (c == "_" and not intraword) else c)
    return "".join(out)


def listed(names: list[str]) -> list[str]:
    """A cell of several names, one a line, each but the last followed by a comma; `-` for none."""
    if not names:
        return ["-"]
    return [name + ("," if i < len(names) - 1 else "") for i, name in enumerate(names)]
