"""The editor's incremental analysis against the analysis from nothing, edit after edit.

After each edit the Document made with the keystroke cache (statements parsed once, the expansion
resumed and unchanged statements replayed, inferred figures and quiet warnings kept) must give what a
Document made from nothing gives: the diagnostics, every node's figures, the hovers, the symbols and
the summary's JSON. Random sequences of edits, good and broken, on the examples and on a file that
uses every statement kind the replay must watch (`in.c`, `reuse`, labels on earlier tensors,
template labels, `output`, loops, params and lets).
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cnndsl.tools.editor import Document, ParseCache
from cnndsl.views.summary import summary_dict

ROOT = Path(__file__).parent.parent.parent
EXAMPLES = {path.stem: path.read_text() for path in sorted((ROOT / "examples").glob("*.cnn"))}

# Every read of a top-level statement that the replay must see: each line below depends on an
# earlier one in its own way.
EVERY_READ = """param width = 8
let wide = width * 2

def cbr(c, s=1):
    conv c 3 stride s same nobias | bn | relu

def pair(a, b):
    add(@a; @b)

input 32x32x3
stem: cbr(width)
branch: cbr(wide, 2)
@stem | side: cbr(wide, 2)
joined: pair(branch, side)
conv in.c 1 | relu
x: (conv 8 1 | output train | (@stem))
@x | again: reuse side
for i in range(2):
    cell{i}: cbr(wide)
@cell1 | gap | dense 10 softmax
"""

TEXTS = {**{name: EXAMPLES[name] for name in ("resnet50", "nasnet_mobile", "siamese", "mobilenet_v2")}}
TEXTS["every_read"] = EVERY_READ

_KINDS = ["digit", "digit", "digit", "char", "drop", "line", "unline", "swap", "label", "output", "back"]
_EDITS = st.lists(st.tuples(st.sampled_from(_KINDS), st.integers(0, 10_000)), min_size=1, max_size=7)


def _edited(text: str, original: str, kind: str, where: int) -> str:
    """One edit as a person makes it: a digit typed over, a character typed or deleted (often
    breaking the line for a moment), a line copied or removed, two lines swapped, a label renamed,
    an output marked, or the text put back as it was."""
    lines = text.split("\n")
    line = where % len(lines)
    if kind == "digit":
        places = [(n, i) for n, text_ in enumerate(lines) for i, c in enumerate(text_) if c.isdigit()]
        if places:
            n, i = places[where % len(places)]
            lines[n] = lines[n][:i] + str((int(lines[n][i]) + 1 + where % 8) % 10) + lines[n][i + 1 :]
    elif kind == "char":
        at = where % (len(text) + 1)
        return text[:at] + " x(1;@|\n"[where % 8] + text[at:]
    elif kind == "drop":
        at = where % max(1, len(text))
        return text[:at] + text[at + 1 :]
    elif kind == "line":
        lines.insert(line, lines[(where // 7) % len(lines)])
    elif kind == "unline":
        del lines[line]
    elif kind == "swap":
        other = (where // 7) % len(lines)
        lines[line], lines[other] = lines[other], lines[line]
    elif kind == "label":
        words = sorted({w.split(":")[0].strip() for w in lines if ":" in w and not w.lstrip().startswith(("def", "#", "for"))})
        words = [w for w in words if w.isidentifier()]
        if words:
            word = words[where % len(words)]
            return text.replace(word, word + "z")
    elif kind == "output":
        lines[line] += " | output"
    else:
        return original
    return "\n".join(lines)


def _state(document: Document):
    """What an editor can ask a Document, as plain values."""
    found = [(d.span, d.message, d.code, d.related, d.severity, d.fixes) for d in document.diagnostics()]
    model = document.model
    figures = None
    if model is not None:
        figures = (
            [(n.id, n.name, n.layer.span, repr(n.layer), n.inputs, n.in_shapes, n.info, n.implicit, n.blocks, n.shares, n.call_index, n.label) for n in model.nodes],
            model.outputs,
            model.inputs,
            json.dumps(summary_dict(model), sort_keys=True),
        )
    prefix = document.prefix_model
    lines = document.source.text.split("\n")
    hovers = [document.hover(n, c) for n in range(1, len(lines) + 1) for c in {1, 3, 9, len(lines[n - 1])} if c >= 1]
    return found, figures, prefix and [(n.name, n.in_shapes, n.info) for n in prefix.nodes], hovers, document.symbols()


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(TEXTS)), edits=_EDITS)
def test_every_edit_gives_the_analysis_from_nothing(name, edits):
    cache = ParseCache()
    original = text = TEXTS[name]
    Document(text, cache=cache)
    for kind, where in edits:
        text = _edited(text, original, kind, where)
        incremental = Document(text, cache=cache)
        incremental.settle()
        assert _state(incremental) == _state(Document(text))


def _digit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1
    return text.replace(old, new)


def test_a_block_call_with_other_arguments_replays_the_statements_after_it():
    """`stack(128, 4)` made `stack(128, 5)`: one more block, so every later node moves by its 10 layers;
    the two stacks after it are not expanded again (their layers are the last expansion's objects),
    and the model is the one made from nothing: Keras's ResNet50 with one more identity block of
    128·4 channels: 1x1 512→128 (65,664), 3x3 128→128 (147,584), 1x1 128→512 (66,048) convolutions with
    their biases, and three batch norms of 4·(128 + 128 + 512) = 3,072 parameters: 282,368 in all."""
    cache = ParseCache()
    text = EXAMPLES["resnet50"]
    first = Document(text, cache=cache)
    edited = Document(_digit(text, "stack(128, 4)", "stack(128, 5)"), cache=cache)
    assert edited.model.total == first.model.total + 65_664 + 147_584 + 66_048 + 3_072
    assert len(edited.model.nodes) == len(first.model.nodes) + 10
    # A stack's first block has 12 layers (the shortcut's conv and bn, three convs with their bns, two
    # relus, the add and its relu), each other block 10: stack(256, 6) and stack(512, 3) end the model
    # before its two head layers (gap, dense).
    stacks = slice(-(12 + 5 * 10) - (12 + 2 * 10) - 2, -2)
    assert all(new.layer is old.layer for new, old in zip(edited.model.nodes[stacks], first.model.nodes[stacks]))
    assert _state(edited) == _state(Document(edited.source.text))


def test_a_number_near_the_top_keeps_what_the_layers_below_inferred():
    """NASNetMobile's stem with 33 filters instead of 32: every statement after it is replayed, and
    past the layers whose input shapes changed, each layer's figures are the last inference's own."""
    cache = ParseCache()
    text = EXAMPLES["nasnet_mobile"]
    first = Document(text, cache=cache)
    edited = Document(_digit(text, "stem_conv1: conv 32 3", "stem_conv1: conv 33 3"), cache=cache)
    # 3x3 conv, 3 channels in: 3·3·3·33 weights, no bias; then its batch norm's 4·33
    assert edited.model.nodes[1].info.params == 3 * 3 * 3 * 33
    assert edited.model.nodes[2].info.params == 4 * 33
    tail = edited.model.nodes[-100:]
    assert all(new.info is old.info for new, old in zip(tail, first.model.nodes[-100:]))
    assert _state(edited) == _state(Document(edited.source.text))


def test_a_label_on_an_earlier_tensor_after_a_broken_text_keeps_no_typed_node():
    """`x: (... | (@stem))` renames the node of `stem`'s statement. Moved below the line that reads `@x`,
    the text is broken (the statements above the error are kept); moved back, the kept `stem` node is
    renamed `x` again: its typed node from the last inference (named `stem`) must not be taken."""
    cache = ParseCache()
    lines = EVERY_READ.rstrip("\n").split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("x:"))
    broken = "\n".join(lines[:at] + lines[at + 1 :] + [lines[at]]) + "\n"
    for text in (EVERY_READ, broken, EVERY_READ):
        document = Document(text, cache=cache)
        assert _state(document) == _state(Document(text))
    assert [n.name for n in document.model.nodes if n.name in ("x", "stem")] == ["x"]


def test_an_edit_inside_a_def_replays_the_statements_that_do_not_call_it():
    """NASNet's `squeeze` with a 3x3 `same` convolution instead of 1x1 (the shapes stay): the statements
    that call it are expanded again, the cells (`normal`, `reduce`), which do not, are replayed with
    their layers; the model is the one made from nothing, each squeeze's conv with 9 times the weights."""
    cache = ParseCache()
    text = EXAMPLES["nasnet_mobile"]
    first = Document(text, cache=cache)
    edited = Document(_digit(text, "relu | conv c 1 same nobias | bn3", "relu | conv c 3 same nobias | bn3"), cache=cache)
    pairs = list(zip(first.model.nodes, edited.model.nodes))
    assert len(pairs) == len(first.model.nodes) == len(edited.model.nodes)
    cells = [(old, new) for old, new in pairs if new.blocks and new.blocks[0].name in ("normal", "reduce")]
    squeezes = [(old, new) for old, new in pairs if new.blocks and new.blocks[0].name == "squeeze"]
    assert cells and squeezes
    assert all(new.layer is old.layer for old, new in cells)
    convs = [(old, new) for old, new in squeezes if new.layer.keyword == "conv"]
    assert convs and all(new.info.params == 9 * old.info.params for old, new in convs)  # no bias: k·k·in·out
    assert _state(edited) == _state(Document(edited.source.text))
