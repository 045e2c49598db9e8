"""Hostile .cnn inputs, one strategy per class of escape, hang and blow-up that fuzzing found.

    from hostile_inputs import STRATEGIES, hostile, check

    text, filename = hostile(seed)          # any strategy, chosen by the seed
    text, filename = STRATEGIES["bomb"](random.Random(seed))
    check(text, filename, run_sample=False)  # raises AssertionError on an escape

Strategies: grammar-aware networks (every layer kind, every argument in
positional and keyword form, blocks, merges, repeats, labels), token and
byte mutation and splicing of the examples, keyword rewrites, numbers from
0 to 10^5000 and non-finite floats in every numeric slot, deep nesting,
bombs of identity layers, empty blocks, exponential call trees and wide
merges, and hostile labels and file names (every Python keyword, builtin
and name the emitters use).

`check` runs one input through everything a user can ask for: `check`,
`summary` in every format and flag, JSON, both emitters, the generated code
compiled and, when asked, executed. The CI share is tests/test_hostile_fuzz.py
(a few hundred seeds per strategy); the long campaign is tests/fuzz/campaign.py.
Plain `random`, not hypothesis, so a seed names an input for good.
"""

from __future__ import annotations

import builtins
import json
import keyword
import random
import re
from pathlib import Path

import cnndsl
from cnndsl.core.errors import CnnError, render
from cnndsl.core.source import Source
from cnndsl.emit import generate
from cnndsl.layers import REGISTRY
from cnndsl.layers.base import Choice, Flag, FloatType, IntType, ShapeType, SizeType

EXAMPLES = sorted((Path(__file__).resolve().parent.parent.parent / "examples").glob("*.cnn"))
EXAMPLE_TEXTS = [path.read_text(encoding="utf-8") for path in EXAMPLES]
# Small examples more often: a mutated lenet finds as much as a mutated densenet, 20 times faster.
EXAMPLE_WEIGHTS = [1 / len(text) for text in EXAMPLE_TEXTS]


def example(rng: random.Random) -> str:
    return rng.choices(EXAMPLE_TEXTS, EXAMPLE_WEIGHTS)[0]


KINDS = sorted({cls for cls in REGISTRY.values()}, key=lambda cls: cls.KEYWORDS[0])
MERGES = ["add", "concat", "multiply", "average", "maximum", "minimum", "subtract", "residual"]
PIECES = re.compile(r"\w+|\s+|.")

EMITTER_NAMES = sorted(
    {*dir(builtins), *keyword.kwlist, *keyword.softkwlist}
    | {"keras", "layers", "inputs", "outputs", "x", "model", "build_model", "output", "torch", "nn", "F", "self"}
    | {"super", "AvgPoolSame", "Normalization", "nan", "inf", "math", "np", "Model"}
)

# Numbers a hostile user types: the edges of every bound, past them, and nowhere near them.
NUMBER_WORDS = [
    "0", "1", "2", "3", "7", "-1", "0.5", "1e-3", "1/3", "7//2", "0.0", "1.0",
    "2147483647", "2147483648", "2147483649", "4294967296",
    "9223372036854775807", "9223372036854775808", "18446744073709551616",
    "1e300", "1e308", "1e309", "1e999", "1e999-1e999", "-1e999", "1e-999", "2e308/2",
    "0.5+1e308*10", "9223372036854775807*2", "2147483648*2147483648*2147483648",
]  # fmt: skip


def number(rng: random.Random) -> str:
    """0 to 10^5000, non-finite floats, bound edges, or a plain small size."""
    roll = rng.random()
    if roll < 0.5:
        return str(rng.choice([1, 2, 3, 4, 8, 16]))
    if roll < 0.8:
        return rng.choice(NUMBER_WORDS)
    digits = rng.choice([10, 19, 20, 40, 41, 100, 309, 310, 1000, 4300, 4301, 5001])
    return "1" + "0" * (digits - 1) + rng.choice(["", "", ".5", "e5", "/3"])


def size(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return str(rng.choice([1, 2, 3]))
    if rng.random() < 0.5:
        return "x".join(str(rng.choice([1, 2, 3])) for _ in range(rng.choice([2, 3])))
    return number(rng)


def value_for(arg, rng: random.Random) -> str:
    kind = arg.type
    if isinstance(kind, Choice):
        return rng.choice([*kind.choices, *kind.aliases] or ["same"])
    if isinstance(kind, Flag):
        return rng.choice(["0", "1", "2", "yes"])
    if isinstance(kind, ShapeType):
        return (
            rng.choice(["8", "4x4x3", "2x-1", "-1", "1x1x1x1x1x8", "2x2x2x2x2"]) if rng.random() < 0.8 else number(rng)
        )
    if isinstance(kind, SizeType):
        return size(rng)
    if isinstance(kind, FloatType):
        return rng.choice(["0.5", "0.1", "1e-3", "2"]) if rng.random() < 0.6 else number(rng)
    if isinstance(kind, IntType):
        return str(rng.choice([1, 2, 3, 4, 8])) if rng.random() < 0.7 else number(rng)
    return number(rng)


def layer(rng: random.Random, depth: int = 0) -> str:
    """One layer of any kind, each argument positional, by keyword, by name, or left out."""
    cls = rng.choice(KINDS)
    if cls.MERGE:
        return merge(rng, depth)
    words = [rng.choice(cls.KEYWORDS)]
    for arg in cls.ARGS:
        roll = rng.random()
        if arg.positional and arg.required and roll < 0.85 or roll < 0.3:
            value = value_for(arg, rng)
            style = rng.random()
            if style < 0.25:
                words.append(f"{arg.name}={value}")  # the keyword form of every argument
            elif isinstance(arg.type, Flag):
                words.append(arg.type.word or arg.name)
            elif isinstance(arg.type, Choice) or arg.positional:
                words.append(value)
            else:
                words.append(f"{arg.name} {value}")
            if arg.variadic and rng.random() < 0.3:
                words.append(value_for(arg, rng))
    return " ".join(words)


def merge(rng: random.Random, depth: int) -> str:
    op = rng.choice(MERGES)
    count = 1 if op == "residual" else rng.choice([1, 2, 2, 3])
    return f"{op}(" + "; ".join(pipeline(rng, depth + 1) for _ in range(count)) + ")"


def stage(rng: random.Random, depth: int) -> str:
    roll = rng.random()
    if depth < 3 and roll < 0.12:
        return merge(rng, depth)
    if depth < 3 and roll < 0.2:
        return f"({pipeline(rng, depth + 1)}) * {rng.choice(['2', '3', number(rng)])}"
    if roll < 0.25:
        return "identity"
    if roll < 0.3:
        return f"{rng.choice(EMITTER_NAMES)}: {layer(rng, depth)}"
    return layer(rng, depth)


def pipeline(rng: random.Random, depth: int = 0) -> str:
    return " | ".join(stage(rng, depth) for _ in range(rng.choice([1, 1, 2, 3])))


def input_line(rng: random.Random) -> str:
    return "input " + rng.choice(["8", "16x4", "8x8x3", "6x6x2", "4x4x4x2", "12x12x1", "2x2x2x3"])


UNKNOWN_INPUTS = ["?", "?x4", "8x?x3", "?x8x3", "?x?x3", "?x?x2", "6x?x2", "?x4x4x2", "?x?x?x2"]


def unknown_axes(rng: random.Random) -> str:
    """A network on inputs with axes of unknown size (`?`): one input, or several joined by a merge."""
    if rng.random() < 0.5:
        return generated(rng, lambda r: "input " + r.choice(UNKNOWN_INPUTS))
    inputs = rng.choice([2, 3])
    lines = [f"i{k}: input {rng.choice(UNKNOWN_INPUTS)}" for k in range(inputs)]
    branches = "; ".join(f"@i{k}" + (f" | {pipeline(rng, 1)}" if rng.random() < 0.5 else "") for k in range(inputs))
    lines.append(f"{rng.choice(['add', 'concat', 'multiply', 'average', 'maximum'])}({branches})")
    lines.append(pipeline(rng))
    return "\n".join(lines) + "\n"


# Layers that take an input of any height and width, so that most `?` graphs below are models and their code
# runs: windows, strides, `same` and `valid` padding, resizing, crops and pads that change an unknown size.
SIZE_FREE_LAYERS = [
    "conv 4 3 same", "conv 4 3", "conv 2 1", "conv 4 3 stride 2 same", "conv 4 2 stride 2", "dwconv 3 same",
    "sepconv 4 3 same", "deconv 4 3 stride 2 same", "deconv 2 2 stride 2", "maxpool 2", "maxpool 3 stride 2 same",
    "avgpool 3 stride 2 same", "avgpool 2 same", "upsample 2", "zeropad 1", "crop 1", "bn", "ln", "relu", "sigmoid",
    "dropout 0.5", "layer_scale", "rescaling 2", "multiply(identity; gap keepdims | sigmoid)", "conv 4 3 dilation 2 same", "adaptive_avg_pool 3",
]  # fmt: skip
SIZE_FREE_TOPS = ["gap", "gmp", "gap | dense 5", "gap keepdims | conv 3 1", "adaptive_avg_pool 2 | flatten | dense 3"]


def unknown_graph(rng: random.Random) -> str:
    """A graph on `?` axes from layers that take any size: branches that merge (sizes equal, or that differ
    for some sizes), repeats, blocks called with different sizes, several inputs; mostly valid."""

    def pipe(depth: int) -> str:
        stages = []
        for _ in range(rng.choice([1, 2, 3])):
            roll = rng.random()
            if depth < 2 and roll < 0.2:
                op = rng.choice(["add", "concat", "multiply", "maximum", "average"])
                stages.append(
                    f"{op}(identity; {pipe(depth + 1)})"
                    if rng.random() < 0.6
                    else f"{op}({pipe(depth + 1)}; {pipe(depth + 1)})"
                )
            elif depth < 2 and roll < 0.3:
                stages.append(f"({pipe(depth + 1)}) * {rng.choice([2, 3])}")
            elif depth < 2 and roll < 0.35:
                stages.append(f"residual({pipe(depth + 1)})")
            else:
                stages.append(rng.choice(SIZE_FREE_LAYERS))
        return " | ".join(stages)

    lines = []
    if rng.random() < 0.3:
        lines.append(f"def blk0(c):\n    conv c 3 same | {pipe(1)}")
    shapes = [s for s in UNKNOWN_INPUTS if s != "?" and s.count("x") == 2]
    if rng.random() < 0.7:
        lines.append("input " + rng.choice(shapes))
        lines.append(pipe(0))
    else:
        inputs = rng.choice([2, 3])
        lines += [f"i{k}: input {rng.choice(shapes[:4])}" for k in range(inputs)]
        op = rng.choice(["add", "concat", "maximum"])
        lines.append(f"{op}(" + "; ".join(f"@i{k} | conv 4 1" for k in range(inputs)) + ")")
    if len(lines) > 2 and lines[0].startswith("def") or rng.random() < 0.2 and lines[0].startswith("def"):
        lines.append(f"blk0({rng.choice([4, 8])})")
    if rng.random() < 0.5:
        lines.append(pipe(0))
    if rng.random() < 0.6:
        lines.append(rng.choice(SIZE_FREE_TOPS))
    return "\n".join(lines) + "\n"


def generated(rng: random.Random, first_line=None) -> str:
    """A network built from the grammar: blocks with parameters, calls, merges, repeats, labels."""
    lines = []
    blocks = []
    for b in range(rng.choice([0, 0, 1, 2])):
        name = f"blk{b}"
        params = ["c", "s"][: rng.choice([0, 1, 2])]
        body = pipeline(rng, 1)
        for p in params:
            body = body.replace(" 8", f" {p}", 1)
        lines.append(f"def {name}({', '.join(params)}):\n    {body}")
        blocks.append((name, params))
    lines.append((first_line or input_line)(rng))
    for _ in range(rng.choice([1, 2, 3, 4])):
        if blocks and rng.random() < 0.3:
            name, params = rng.choice(blocks)
            args = ", ".join(rng.choice([size(rng), f"{p}={size(rng)}"]) for p in params)
            lines.append(f"{name}({args})")
        else:
            lines.append(pipeline(rng))
    return "\n".join(lines) + "\n"


def token_mutation(rng: random.Random) -> str:
    pieces = PIECES.findall(example(rng))
    vocabulary = [*(cls.KEYWORDS[0] for cls in KINDS), "def", "identity", "|", ";", "(", ")", ":", "=", ",", "*"]
    for _ in range(rng.choice([1, 2, 3, 5])):
        at = rng.randrange(len(pieces))
        edit = rng.random()
        if edit < 0.25:
            del pieces[at]
        elif edit < 0.45:
            pieces.insert(at, pieces[at])
        elif edit < 0.7:
            pieces[at] = rng.choice(vocabulary)
        else:
            pieces[at] = number(rng)
    return "".join(pieces)


ODD_CHARS = ["\f", "\u2028", "\u2029", "\x85", "\x00", "\t", "\r", "\ufeff", "\u200b", "×", "α", "\\", "#", "\v"]


def byte_mutation(rng: random.Random) -> str:
    data = bytearray(example(rng).encode())
    for _ in range(rng.choice([1, 2, 4, 8])):
        at = rng.randrange(len(data))
        roll = rng.random()
        if roll < 0.3:
            data[at] = rng.randrange(256)
        elif roll < 0.5:
            del data[at]
        else:
            data[at:at] = rng.choice(ODD_CHARS).encode()
    return data.decode("utf-8", "replace")


def splice(rng: random.Random) -> str:
    a, b = example(rng), example(rng)
    return a[: rng.randrange(len(a))] + b[rng.randrange(len(b)) :]


def keyword_rewrite(rng: random.Random) -> str:
    """An example with positional arguments rewritten to keywords (`conv filters=8 kernel=3`)."""
    lines = example(rng).split("\n")
    for i, line in enumerate(lines):
        words = line.split(" ")
        for j, word in enumerate(words):
            cls = REGISTRY.get(word)
            if cls is None or rng.random() < 0.5:
                continue
            positional = [a for a in cls.ARGS if a.positional]
            for k, arg in enumerate(positional, start=j + 1):
                if k < len(words) and re.fullmatch(r"[\w.x-]+", words[k]) and not words[k].endswith(":"):
                    words[k] = f"{arg.name}={words[k]}"
        lines[i] = " ".join(words)
    return "\n".join(lines)


def huge_numbers(rng: random.Random) -> str:
    """A real network with numbers replaced by huge, tiny or non-finite ones."""
    text = example(rng) if rng.random() < 0.5 else generated(rng)
    numbers = list(re.finditer(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", text))
    if not numbers:
        return text
    for found in sorted(rng.sample(numbers, min(len(numbers), rng.choice([1, 2, 3]))), key=lambda m: -m.start()):
        text = text[: found.start()] + number(rng) + text[found.end() :]
    return text


def nesting(rng: random.Random) -> str:
    depth = rng.choice([10, 49, 50, 51, 100, 199, 200, 201, 400, 1000, 3000])
    form = rng.random()
    if form < 0.25:
        return "input 8x8x3\n" + "(" * depth + "relu" + ")" * depth + "\n"
    if form < 0.5:
        return "input 8x8x3\n" + "add(identity; " * depth + "relu" + ")" * depth + "\n"
    if form < 0.7:
        calls = min(depth, 200)
        return (
            "".join(f"def b{i}():\n    b{i + 1}()\n" for i in range(calls))
            + f"def b{calls}():\n    relu\ninput 8\nb0()\n"
        )
    if form < 0.85:
        blocks, brackets = rng.choice([2, 5, 10, 40]), rng.choice([10, 30, 49])
        text = "".join(
            f"def b{i}():\n    "
            + "(" * brackets
            + (f"b{i + 1}()" if i + 1 < blocks else "relu")
            + ")" * brackets
            + "\n"
            for i in range(blocks)
        )
        return text + "input 8\nb0()\n"
    return "input 8\ndense " + "+".join(["1"] * depth) + "\n"


def bomb(rng: random.Random) -> str:
    count = rng.choice(["10", "1000", "99999", "1000000000000", number(rng)])
    form = rng.random()
    if form < 0.2:
        return f"input 8\n(identity) * {count}\n"
    if form < 0.35:
        return f"def e():\n    identity\ninput 8\n(e()) * {count}\n"
    if form < 0.55:
        levels = rng.choice([5, 10, 16, 20, 40])
        body = rng.choice(["identity", "relu", "add(identity; identity)"])
        text = f"def b0(): {body}\n" + "".join(f"def b{i}(): b{i - 1}()|b{i - 1}()\n" for i in range(1, levels + 1))
        return text + f"input 8\nb{levels}()\n"
    if form < 0.8:
        width = rng.choice([2, 16, 64, 100])
        op = rng.choice(["concat", "add", "maximum"])
        return f"input 8\n({op}(" + ";".join(["identity"] * width) + f")) * {rng.choice(['3', '40', '900', count])}\n"
    return f"input 8x8x3\n((conv 8 3 same) * {rng.choice(['10', '100'])}) * {rng.choice(['10', '100', count])}\n"


def hostile_names(rng: random.Random) -> str:
    """Labels named like every builtin, keyword and name the emitters use, read by several layers."""
    lines = [rng.choice(["input 6x6x3", "input 8", "input 4x4x4x2"])]
    for _ in range(rng.choice([1, 3, 6])):
        name = rng.choice(EMITTER_NAMES)
        lines.append(
            f"{name}: {rng.choice(['relu', 'bn', 'dropout 0.5'])} | add(identity; {rng.choice(['relu', 'bn'])})"
        )
    if rng.random() < 0.5:
        lines.append(layer(rng))
    return "\n".join(lines) + "\n"


STRATEGIES = {
    "generated": generated,
    "token mutation": token_mutation,
    "byte mutation": byte_mutation,
    "splice": splice,
    "keyword rewrite": keyword_rewrite,
    "huge numbers": huge_numbers,
    "nesting": nesting,
    "bomb": bomb,
    "hostile names": hostile_names,
    "unknown axes": unknown_axes,
    "unknown graphs": unknown_graph,
}


def file_name(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(EMITTER_NAMES) + ".cnn"
    return rng.choice(["net.cnn", "my-net.cnn", "1net.cnn", "ñet.cnn", "a b.cnn", ".cnn", "x.y.cnn"])


# How often the campaign picks each strategy: a bomb costs up to a second, the rest milliseconds.
SHARES = {name: 10 for name in STRATEGIES} | {"bomb": 1, "nesting": 3}


def hostile(seed: int, rotate: bool = False) -> tuple[str, str, str]:
    """(strategy, text, filename) for a seed: by SHARES, or each strategy in turn with `rotate`."""
    rng = random.Random(seed)
    name = list(STRATEGIES)[seed % len(STRATEGIES)] if rotate else rng.choices(list(SHARES), list(SHARES.values()))[0]
    return name, STRATEGIES[name](rng), file_name(rng)


def check(
    text: str, filename: str = "fuzz.cnn", run_sample: bool = False, every_flag: bool = True, cli: bool = False
) -> str:
    """Everything a user can ask of one input; 'model' or 'error'. Raises AssertionError on an escape.

    Without `every_flag`, one combination of the summary's flags, chosen by the text, stands for all;
    with `cli`, every command of COMMANDS runs on it too, through `cnndsl.cli.main`; with `run_sample`
    the emitted PyTorch model runs at three sizes (run_at_sizes), and with `run_sample="keras"` Keras's too.
    """
    if cli:
        run_cli(text)
    try:
        model = cnndsl.analyze(text, filename)
    except CnnError as error:
        source = Source.of(text, filename)
        if error.span is not None:
            assert 1 <= error.span.line <= source.text.count("\n") + 2, error
            assert error.span.column >= 1, error
        assert render(error, source).startswith(filename), error
        return "error"
    except Exception as error:  # noqa: BLE001 - the property: analyze raises only CnnError
        raise AssertionError(f"analyze escaped with {type(error).__name__}: {error}") from error
    from cnndsl.views.summary import format_summary, summary_dict

    flags = [(m, a) for m in (False, True) for a in (False, True)]
    for macs, ascii_only in flags if every_flag else [flags[len(text) % 4]]:
        format_summary(model, None, macs=macs, ascii_only=ascii_only)
    json.dumps(summary_dict(model, 4))
    views(model, text, filename)
    emitted = []
    for target in ("keras", "pytorch"):
        try:
            code = generate(model, target)
        except CnnError as error:  # a target that cannot express a layer says where
            assert error.span is not None, error
            continue
        compile(code, f"<{target}>", "exec")
        emitted.append(target)
    if run_sample and "pytorch" in emitted:
        run_at_sizes(model, keras=run_sample == "keras" and "keras" in emitted)
    return "model"


def views(model, text: str, filename: str) -> None:
    """explain, the summary's other forms and flags, the torchinfo style and flops (or their refusals on
    `?` axes), the diagram, the diff of the model with itself (JSON too) and fmt, through the API."""
    from cnndsl.tools.fmt import format_source
    from cnndsl.views.diagram import to_dot, to_mermaid
    from cnndsl.views.diff import diff_dict, diff_models, format_diff
    from cnndsl.views.explain import explain_text
    from cnndsl.views.flops import flops_dict
    from cnndsl.views.summary import format_csv, format_html, format_markdown, summary_dict
    from cnndsl.views.torchinfo_style import format_torchinfo

    explain_text(model)
    explain_text(model, layout="channels_first")
    json.dumps(summary_dict(model, 32, "float16", "sgd", "channels_first"))
    format_markdown(model, 8, macs=True)
    format_csv(model, 2, layout="channels_first")
    format_html(model, macs=True)
    for refusable in (format_torchinfo, flops_dict):  # they need every size: `?` axes are a located refusal
        try:
            refusable(model)
        except CnnError as error:
            assert error.span is not None and model.unknown_inputs, error
    to_dot(model)  # within MAX_DIAGRAM_BOXES whatever the model: repeats and calls collapse
    to_mermaid(model)
    if len(model.nodes) <= 300:  # the diff's alignment is bounded, not linear (MAX_ALIGN_CELLS)
        same = diff_models(model, model)
        assert same.same, format_diff(same, filename, filename)
        json.dumps(diff_dict(same, filename, filename))
    format_source(text, filename)


# Every command a user can run on one file, with its flags: exit 0 or 1, never 3 (a bug) or a traceback.
# `-` is the text on standard input; FILE the text written to a file; OUT a file to write beside it.
COMMANDS = [
    ["check", "-"],
    ["check", "--max-params", "1M", "--max-macs", "500M", "--max-memory", "2GB", "-"],
    ["check", "--warnings", "error", "-"],
    ["check", "--error-format", "json", "-"],
    ["check", "--error-format", "sarif", "-"],
    ["check", "--error-format", "github", "-"],
    ["summary", "-"],
    ["summary", "--macs", "--ascii", "-"],
    ["summary", "--json", "--batch", "4", "-"],
    ["summary", "--all", "-"],
    ["summary", "--format", "markdown", "--macs", "-"],
    ["summary", "--format", "csv", "-"],
    ["summary", "--format", "html", "-"],
    ["summary", "--style", "torchinfo", "-"],
    ["summary", "--depth", "1", "--width", "40", "-"],
    ["summary", "--layout", "channels_first", "--dtype", "float16", "-"],
    ["emit", "--keras", "-"],
    ["emit", "--pytorch", "-"],
    ["emit", "--pytorch", "-o", "OUT.py", "FILE"],
    ["explain", "-"],
    ["explain", "--flops", "--layout", "channels_first", "--batch", "2", "-"],
    ["flops", "-"],
    ["flops", "--json", "-"],
    ["diagram", "-"],
    ["diagram", "--format", "mermaid", "-"],
    ["diagram", "--depth", "1", "--compact", "--rankdir", "LR", "-"],
    ["diagram", "--format", "svg", "-o", "OUT.svg", "FILE"],
    ["fmt", "-"],
    ["fmt", "--check", "FILE"],
    ["diff", "FILE", "FILE"],
    ["diff", "--json", "FILE", "-"],
]
# Commands that need more than the text: a `param` to sweep; the emitted ONNX model, imported back.
SWEEP = ["sweep", "--set", "PARAM=1,2", "--format", "json", "-"]
ONNX_ROUND_TRIP = [["emit", "--onnx", "-o", "OUT.onnx", "FILE"], ["import", "OUT.onnx"]]
PARAM = re.compile(r"^param\s+([A-Za-z_]\w*)", re.MULTILINE)


def cli_commands(text: str, onnx: bool = False) -> list[list[str]]:
    """COMMANDS, a sweep of the text's first `param` if it has one, and with `onnx` the ONNX round trip."""
    commands = list(COMMANDS)
    found = PARAM.search(text)
    if found:
        commands.append([word.replace("PARAM", found.group(1)) for word in SWEEP])
    if onnx:
        commands += ONNX_ROUND_TRIP
    return commands


def run_cli(text: str, onnx: bool = False) -> list[tuple[str, int]]:
    """Each of cli_commands(text) on the text, through `cnndsl.cli.main` in this process; (command, exit code)."""
    import contextlib
    import io
    import sys
    import tempfile

    from cnndsl.cli import main

    codes = []
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no file can hold it, standard input only
        data = None
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/fuzz.cnn"
        if data is not None:
            with open(path, "wb") as file:
                file.write(data)
        for command in cli_commands(text, onnx):
            if data is None and "FILE" in command:
                continue
            argv = [path if word == "FILE" else word.replace("OUT", f"{folder}/out") for word in command]
            out, err = io.StringIO(), io.StringIO()
            stdin, sys.stdin = sys.stdin, io.StringIO(text)
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    try:
                        code = main(argv)
                    except SystemExit as done:  # argparse
                        code = done.code
            finally:
                sys.stdin = stdin
            assert code in (0, 1), (command, code, err.getvalue()[-500:])
            assert "Traceback" not in err.getvalue(), (command, err.getvalue()[-500:])
            if command[0] == "emit" and "--onnx" in command and code != 0:
                break  # nothing to import
            codes.append((" ".join(command), code))
    return codes


MAX_RUN_VALUES = 1_000_000  # the emitted code runs when every tensor of a sized model is this small
MAX_RUN_PARAMS = 2_000_000


def sizes_to_run(model) -> list[tuple[int | str, object]]:
    """(size, the model at it): for `?` axes the three sizes the model states (Model.run_sizes: the demo's and
    two others meeting its conditions) that fit the bounds; for fixed sizes three batch sizes of the one model."""
    import math

    def small(sized) -> bool:
        return max(math.prod(node.shape) for node in sized.nodes) <= MAX_RUN_VALUES and sized.total <= MAX_RUN_PARAMS

    if not model.unknown_inputs:
        return [(batch, model) for batch in (1, 2, 5)] if small(model) else []
    lines = model.source.text.split("\n")
    runs = []
    for values in model.run_sizes(3):  # the demo's sizes and two others, each meeting the model's conditions
        size = ", ".join(f"{name}={value}" for name, value in values.items())
        sized_lines = list(lines)
        for node in model.unknown_inputs:
            at = model.example_shape(node, values)
            # the `?`s in the order written are the unknown axes in shape order (a layout keeps H before W)
            fill = iter(str(at[axis]) for axis, n in enumerate(node.shape) if n is None)
            code, hash_, comment = sized_lines[node.span.line - 1].partition("#")
            sized_lines[node.span.line - 1] = re.sub(r"\?", lambda _, fill=fill: next(fill), code) + hash_ + comment
        try:
            sized = cnndsl.analyze("\n".join(sized_lines), model.source.filename, name=model.name)
        except CnnError:
            continue  # a size the model's conditions rule out (too small for a window, a merge that differs)
        assert len(sized.nodes) == len(model.nodes) and not sized.unknown_inputs, size
        if small(sized):
            runs.append((size, sized))
    return runs


def served_shapes(model, batch: int) -> list[tuple]:
    """The channels-last output shapes a built model gives in inference (training-only outputs left out)."""
    return [(batch, *model.nodes[i].shape) for i in model.outputs if i not in model.training_outputs]


def run_at_sizes(model, keras: bool = False) -> int:
    """The emitted PyTorch (and with `keras`, Keras) model built once and run at each of sizes_to_run:
    its outputs' shapes must be the sized model's. The number of runs."""
    import types

    runs = sizes_to_run(model)
    if not runs:
        return 0
    import torch

    module = types.ModuleType("fuzz_torch")
    exec(compile(generate(model, "pytorch"), "<fuzz_torch>", "exec"), module.__dict__)
    built = module.build_model().eval()
    done = 0
    for size, sized in runs:
        batch = size if not model.unknown_inputs else 2
        xs = [torch.zeros(batch, shape[-1], *shape[:-1]) for shape in (sized.nodes[i].shape for i in sized.inputs)]
        with torch.no_grad():
            out = built(*xs)
        outs = out if isinstance(out, tuple) else (out,)
        got = [(o.shape[0], *o.shape[2:], o.shape[1]) for o in outs]
        assert got == served_shapes(sized, batch), ("pytorch", size, got, served_shapes(sized, batch))
        done += 1
    if keras:
        import keras as keras_module
        import numpy as np

        module = types.ModuleType("fuzz_keras")
        exec(compile(generate(model, "keras"), "<fuzz_keras>", "exec"), module.__dict__)
        try:
            built = module.build_model()
            for size, sized in runs:
                batch = size if not model.unknown_inputs else 2
                xs = [np.zeros((batch, *sized.nodes[i].shape), "float32") for i in sized.inputs]
                out = built(xs if len(xs) > 1 else xs[0], training=False)
                outs = out if isinstance(out, (list, tuple)) else [out]
                got = [tuple(o.shape) for o in outs]
                expected = [(batch, *sized.nodes[i].shape) for i in sized.outputs]  # Keras keeps every output
                assert got == expected, ("keras", size, got, expected)
                done += 1
        finally:
            keras_module.backend.clear_session()
    return done
