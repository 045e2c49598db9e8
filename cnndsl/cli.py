"""The `cnndsl` command: summary, check, emit, layers.

Exit codes: 0 ok, 1 the model has an error, 2 usage (bad flag, a file that
cannot be read or written), 3 a bug in cnndsl (reported without a traceback).
"""

from __future__ import annotations

import gc
import sys

from . import __version__
from .core import choices

OK, MODEL_ERROR, USAGE, INTERNAL = 0, 1, 2, 3


TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def _type_error(message: str) -> Exception:
    import argparse

    return argparse.ArgumentTypeError(message)


def _parser_class() -> type:
    """argparse's parser, made quieter; argparse is imported only for a line that needs it."""
    global _Parser
    if _Parser is not None:
        return _Parser
    import argparse

    class Parser(argparse.ArgumentParser):
        # While the parser is built, argparse makes a help formatter for every argument (only to check its metavar)
        # and for add_subparsers; a formatter without a width imports shutil to ask the terminal's. Building with a
        # fixed width keeps that import off every command's path; help and usage text still get the terminal's width.
        _building = True

        def _get_formatter(self):
            if self._building:
                return self.formatter_class(prog=self.prog, width=80)
            return super()._get_formatter()

        def error(self, message):  # argparse's own exit code is already 2; keep the text short
            self.print_usage(sys.stderr)
            self.exit(USAGE, f"{self.prog}: error: {message}\n")

    _Parser = Parser
    return Parser


_Parser = None


class _Unbuilt:
    """Stands in for the parser of a command not on the command line: everything done to it is skipped."""

    _actions = ()

    def __getattr__(self, name):
        return self._skip

    def _skip(self, *args, **kwargs):
        return self


class _OneCommand:
    """The subparsers action, building only `wanted`'s parser (the others' options cost ~2 ms of every start)."""

    def __init__(self, commands, wanted: str):
        self.commands, self.wanted = commands, wanted

    def add_parser(self, name, **kwargs):
        return self.commands.add_parser(name, **kwargs) if name == self.wanted else _Unbuilt()


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; given `only`, the command on the line, only its options are built."""
    Parser = _parser_class()
    parser = Parser(prog="cnndsl", description="Write a CNN once: shapes, parameters, Keras and PyTorch code.")
    parser.add_argument("--version", action="version", version=f"cnndsl {__version__}")
    subparsers = commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    if only is not None:
        commands = _OneCommand(subparsers, only)

    summary = commands.add_parser("summary", help="print the Keras-style summary table")
    summary.add_argument("file", help="a .cnn file, or - for standard input")
    summary.add_argument(
        "--format",
        choices=choices.SUMMARY_FORMATS,
        help="table (default), markdown, csv (a row per layer), json, or html (one self-contained table)",
    )
    summary.add_argument("--json", dest="json_alias", action="store_true", help="same as --format json")
    summary.add_argument("--batch", type=_positive, metavar="N", help="show N instead of None as the batch size")
    summary.add_argument("--macs", action="store_true", help="add a column of multiply-accumulates")
    summary.add_argument("--ascii", action="store_true", help="draw the table with ASCII characters")
    summary.add_argument(
        "--columns",
        type=_columns,
        metavar="LIST",
        help=f"columns to show, comma-separated: {', '.join(choices.SUMMARY_COLUMNS)}",
    )
    summary.add_argument("--all", action="store_true", help="show every column and the memory figures")
    summary.add_argument(
        "--width",
        type=_positive,
        metavar="N",
        help="fit the table in N columns (default: the terminal's width; a pipe or file gets the whole table)",
    )
    summary.add_argument(
        "--style",
        choices=choices.SUMMARY_STYLES,
        default="keras",
        help="keras (default), or torchinfo's table for the emitted PyTorch model",
    )
    summary.add_argument(
        "--depth",
        type=_positive,
        metavar="N",
        help="group rows by block call: calls down to N levels, a call at level N one row (1: each top-level call)",
    )
    _add_view_options(summary)

    check = commands.add_parser("check", help="validate only; print nothing when the files are fine")
    check.add_argument("files", nargs="+", metavar="FILE", help="a .cnn file, or - for standard input")
    for flag, example, what in (
        ("--max-params", "1M", "parameters"),
        ("--max-macs", "500M", "multiply-accumulates per example"),
        ("--max-memory", "2GB", "bytes at the inference peak of one float32 example"),
    ):
        check.add_argument(flag, metavar="N", help=f"fail when the model has more {what} than N (e.g. {example})")
    check.add_argument(
        "--warnings",
        choices=choices.WARNING_MODES,
        help="show warnings (default), count them as errors (exit 1), or leave them out",
    )

    emit = commands.add_parser("emit", help="write Keras or PyTorch code, or an ONNX model")
    target = emit.add_mutually_exclusive_group(required=True)
    target.add_argument("--keras", dest="target", action="store_const", const="keras", help="Keras 3 code")
    target.add_argument(
        "--pytorch", "--torch", dest="target", action="store_const", const="pytorch", help="PyTorch code"
    )
    target.add_argument(
        "--onnx",
        dest="target",
        action="store_const",
        const="onnx",
        help='an ONNX model (opset 18), needs -o (pip install "cnndsl[onnx]")',
    )
    emit.add_argument("file", help="a .cnn file, or - for standard input")
    emit.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of standard output")

    explain = commands.add_parser("explain", help="work out every shape, parameter count and size, step by step")
    explain.add_argument("file", help="a .cnn file, or - for standard input")
    explain.add_argument(
        "--layer", action="append", metavar="NAME", help="only this layer (its summary name); may be repeated"
    )
    explain.add_argument(
        "--flops", action="store_true", help="also each FLOP counter's count (torchinfo, fvcore, ptflops, thop)"
    )
    _add_view_options(explain)

    sweep = commands.add_parser(
        "sweep", help="one row per combination of --set values: parameters, MACs and inference memory"
    )
    sweep.add_argument("file", help="a .cnn file, or - for standard input")
    sweep.add_argument(
        "--set",
        dest="sweep_values",
        action="append",
        type=_values,
        metavar="NAME=V1,V2,...",
        help="the values of a `param` of the file to try (e.g. --set alpha=0.35,0.5,1.0); may be repeated",
    )
    sweep.add_argument(
        "--format", choices=choices.SWEEP_FORMATS, default="table", help="table (default), csv, markdown or json"
    )
    sweep.add_argument("--ascii", action="store_true", help="draw the table with ASCII characters")

    layers = commands.add_parser("layers", help="list every layer and its usage")
    layers.add_argument("names", nargs="*", metavar="NAME", help="only these layers (a keyword or an alias each)")

    importer = commands.add_parser(
        "import", help="a Keras (.keras) or ONNX (.onnx) model file as .cnn text; reads the file, never runs it"
    )
    importer.add_argument("file", nargs="?", help="a .keras or .onnx file")
    importer.add_argument(
        "--pytorch",
        metavar="MODULE:FUNCTION",
        help="the nn.Module FUNCTION() in MODULE returns, traced with torch.onnx.export (runs that code)",
    )
    importer.add_argument(
        "--keras",
        metavar="MODULE:FUNCTION",
        help="the keras.Model FUNCTION() in MODULE returns, read from its config (runs that code)",
    )
    importer.add_argument("--input", metavar="CxHxW", help="with --pytorch: the input's shape, channels first")
    importer.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of standard output")
    importer.add_argument(
        "--no-blocks", dest="blocks", action="store_false", help="write every layer out, without def blocks"
    )

    diagram = commands.add_parser("diagram", help="draw the network: DOT, Mermaid, or SVG/PNG through Graphviz")
    diagram.add_argument("file", help="a .cnn file, or - for standard input")
    diagram.add_argument(
        "--format",
        choices=choices.DIAGRAM_FORMATS,
        help="dot (default, or from OUT's extension), mermaid; svg and png need Graphviz's `dot`",
    )
    diagram.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of standard output")
    diagram.add_argument(
        "--depth",
        type=_positive,
        metavar="N",
        help="as in summary: block calls down to N levels, a call at level N one node (1: each top-level call)",
    )
    diagram.add_argument(
        "--rankdir",
        type=str.upper,
        choices=choices.DIAGRAM_RANKDIRS,
        default="TB",
        help="the direction the network runs: TB top to bottom (default), LR left to right (for wide networks), BT, RL",
    )
    diagram.add_argument(
        "--compact", action="store_true", help="boxes without the layers' options: name, type, shape, parameters"
    )
    flops = commands.add_parser(
        "flops", help="each FLOP counter's number for the emitted PyTorch model, and what it counts"
    )
    flops.add_argument("file", help="a .cnn file, or - for standard input")
    flops.add_argument("--json", action="store_true", help="print JSON instead of a table")
    lsp = commands.add_parser(
        "lsp", help='run the language server on standard input and output (pip install "cnndsl[lsp]")'
    )
    diff = commands.add_parser("diff", help="what changed between two models, layer by layer; exit 1 when they differ")
    diff.add_argument("file_a", metavar="A", help="the model before: a .cnn file, or - for standard input")
    diff.add_argument("file_b", metavar="B", help="the model after")
    diff.add_argument("--json", action="store_true", help="print JSON instead of text")
    fmt = commands.add_parser("fmt", help="lay files out canonically; comments kept, the model never changed")
    fmt.add_argument("files", nargs="+", metavar="FILE", help="a .cnn file, or - for standard input")
    fmt_mode = fmt.add_mutually_exclusive_group()
    fmt_mode.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 naming the files that would change"
    )
    fmt_mode.add_argument(
        "-w", "--write", action="store_true", help="rewrite the files in place (standard input: print)"
    )
    for command in (summary, check, emit, diagram, explain, diff, flops, fmt, sweep):
        _add_error_format(command)
    for command in (summary, check, emit, diagram, explain, diff, flops):
        command.add_argument(
            "--set",
            dest="params",
            action="append",
            type=_assignment,
            metavar="NAME=VALUE",
            help="give a `param` of the file this value (e.g. --set alpha=0.5); may be repeated",
        )
    for command in (summary, check, emit, layers, diagram, explain, lsp, diff, flops, fmt, importer, sweep):
        command.set_defaults(command_parser=command)
    if only is not None and only not in subparsers.choices:
        return build_parser()  # not a command: the full parser says so, listing them
    for built in (parser, *subparsers.choices.values()):
        built._building = False
    return parser


def _add_view_options(command) -> None:
    """Options that change how figures are shown: the batch, layout, number type and optimizer."""
    if not any("--batch" in action.option_strings for action in command._actions):
        command.add_argument("--batch", type=_positive, metavar="N", help="show N instead of None as the batch size")
    command.add_argument(
        "--layout",
        choices=choices.LAYOUTS,
        default="channels_last",
        help="channels_first shows PyTorch's NCHW shapes",
    )
    command.add_argument(
        "--dtype",
        choices=tuple(choices.DTYPE_BYTES),
        help="the number type memory figures assume (default float32)",
    )
    command.add_argument(
        "--optimizer",
        choices=tuple(choices.OPTIMIZER_STATES),
        help="the optimizer whose state training memory counts (default adam)",
    )


def _assignment(text: str) -> tuple[str, str]:
    """`--set alpha=0.5`: (name, value text); the file's own `param` list checks the name."""
    name, equals, value = text.partition("=")
    name = name.strip()
    if not equals or not name.isidentifier() or not value.strip():
        raise _type_error(f"expected NAME=VALUE, as in alpha=0.5, not {text!r}")
    return name, value


def _values(text: str) -> tuple[str, list[str]]:
    """`--set alpha=0.35,0.5`: (name, the values as written)."""
    name, value = _assignment(text)
    values = [part.strip() for part in value.split(",")]
    if not all(values):
        raise _type_error(f"expected NAME=V1,V2,..., as in alpha=0.35,0.5, not {text!r}")
    return name, values


def _params(args) -> dict | None:
    """The `--set` values by name (the last one given wins)."""
    pairs = getattr(args, "params", None)
    return dict(pairs) if pairs else None


def _natural(text: str) -> int:
    try:
        value = _whole(text)
    except ValueError:
        raise _type_error(f"not a whole number: {text!r}") from None
    if value < 0:
        raise _type_error("must be 0 or more")
    return value


def _add_error_format(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--error-format",
        choices=choices.ERROR_FORMATS,
        default="text",
        help="how to report errors in the model: text (standard error), or json, sarif, github (standard output)",
    )
    command.add_argument(
        "--max-errors",
        type=_positive,
        default=20,
        metavar="N",
        help="report at most N errors and warnings per file (default 20), then how many more there are",
    )


def _whole(text: str) -> int:
    """A whole number from the command line, no larger than any size cnndsl takes (2^31)."""
    digits = text.strip().lstrip("+-").replace("_", "")
    if digits.isdigit() and (len(digits) > 10 or int(digits) > 2**31):
        raise _type_error("must be at most 2^31 (2,147,483,648)")
    return int(text)


def _columns(text: str) -> tuple[str, ...]:
    from .views.columns import parse_columns

    try:
        return parse_columns(text)
    except ValueError as err:
        raise _type_error(
            f"{err}; choose from {', '.join(choices.SUMMARY_COLUMNS)}"
        ) from None


def _view(args):
    """The summary's View, or None for Keras's own table."""
    columns = args.columns
    if args.all:
        from .views.columns import COLUMNS

        columns = COLUMNS
    if columns is None and args.depth is None and args.layout == "channels_last" and not (args.dtype or args.optimizer):
        return None
    from .views.columns import View

    memory = bool(args.all or args.dtype or args.optimizer or (columns and "memory" in columns))
    return View(columns, args.layout, args.depth, args.dtype or "float32", args.optimizer or "adam", memory)


def _positive(text: str) -> int:
    try:
        value = _whole(text)
    except ValueError:
        raise _type_error(f"not a whole number: {text!r}") from None
    if value < 1:
        raise _type_error("must be at least 1")
    return value


class _TooLarge(OSError):
    """A file past MAX_FILE_BYTES: refused before it is read whole (/dev/zero never ends)."""


def _read(path: str) -> tuple[str, str]:
    """The UTF-8 text of a file or of standard input, read up to a bound."""
    from .core.limits import MAX_FILE_BYTES

    if path == "-":
        if sys.stdin is None:  # started with standard input closed
            raise OSError(0, "standard input is closed")
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # replaced by a text stream (an embedding program, a test)
            text = sys.stdin.read(MAX_FILE_BYTES + 1)
            data = text.encode("utf-8", "surrogateescape")
        else:
            data = stream.read(MAX_FILE_BYTES + 1)
        name = "<stdin>"
    else:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        name = path
    if len(data) > MAX_FILE_BYTES:
        raise _TooLarge(0, f"larger than {MAX_FILE_BYTES // 2**20} MB, more than any .cnn file needs")
    return data.decode("utf-8"), name


class _VisibleStream:
    """Standard error as the commands see it: every control character is written escaped (`\\x1b`),
    so a file name, an argument or a quoted line cannot drive the user's terminal."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        from .core.source import visible

        return self._stream.write(visible(text, "\n\t"))

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    stderr = sys.stderr
    if stderr is not None:
        sys.stderr = _VisibleStream(stderr)
    collecting = gc.isenabled()
    try:
        return _main(argv)
    finally:
        sys.stderr = stderr
        if argv is not None:
            # Called by a program that goes on (a test, a notebook, a fuzzer), not as the process: the
            # collector back as it was, and the model a command froze (_run_text) collectable again. Left
            # off and frozen, every later cycle was kept: 80 MB per 1,000 fuzzed inputs.
            gc.unfreeze()
            if collecting:
                gc.enable()


def _command_parsers(parser) -> dict:
    """Each command's own parser, by name."""
    import argparse

    return next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction)).choices


def plain_commands() -> dict:
    """For each command that a line of positionals and value-less flags can fully give (no required
    option taking a value): its positionals (name, nargs), its defaults, its flags (option string:
    flag number, dest, value) and its mutually exclusive groups of flags (required, flag numbers),
    as argparse gives them (`python -m cnndsl.build` writes this to cnndsl/_plain_commands.py)."""
    import argparse

    valueless = (argparse._StoreConstAction, argparse._StoreTrueAction, argparse._StoreFalseAction)
    table = {}
    for name, command in _command_parsers(build_parser()).items():
        positionals = tuple((action.dest, action.nargs) for action in command._actions if not action.option_strings)
        options = [action for action in command._actions if action.option_strings and action.dest != "help"]
        flag_actions = [action for action in options if type(action) in valueless]
        groups = []
        for group in command._mutually_exclusive_groups:
            members = tuple(flag_actions.index(action) for action in group._group_actions if action in flag_actions)
            if group.required and len(members) < len(group._group_actions):
                break  # a required choice that may take a value: only argparse reads it
            groups.append((group.required, members))
        else:
            if any(action.required for action in options):
                continue
            if not (all(nargs is None for _, nargs in positionals) or [nargs for _, nargs in positionals] == ["+"]):
                continue
            if any(isinstance(action.default, str) and action.type is not None for action in options):
                continue  # argparse would convert that default with the type
            defaults = {action.dest: action.default for action in options}
            defaults.update((key, value) for key, value in command._defaults.items() if key != "command_parser")
            flags = {
                option: (number, action.dest, action.const)
                for number, action in enumerate(flag_actions)
                for option in action.option_strings
            }
            simple = (type(None), bool, int, str)
            if all(type(value) in simple for value in defaults.values()) and all(
                type(value) in simple for _, _, value in flags.values()
            ):
                table[name] = (positionals, defaults, flags, tuple(groups))
    return table


def _plain_arguments(argv: list[str]):
    """The arguments of a line of positionals and value-less flags (`summary lenet.cnn`,
    `emit --pytorch resnet50.cnn`), as argparse would parse them, without importing or building
    argparse's parser (~3.5 ms of such a start); None for any other line, which argparse reads."""
    if not argv or argv[0].startswith("-"):
        return None
    from ._plain_commands import PLAIN_COMMANDS

    known = PLAIN_COMMANDS.get(argv[0])
    if known is None:
        return None
    positionals, defaults, flags, groups = known
    words, given, at = [], {}, []
    for place, word in enumerate(argv[1:]):
        if word.startswith("-"):
            if word not in flags:
                return None  # a value, an abbreviation, `-` or `--`: argparse's rules
            number, dest, value = flags[word]
            given[number] = (dest, value)
        else:
            words.append(word)
            at.append(place)
    if at and at[-1] - at[0] != len(at) - 1:
        return None  # flags between positionals
    for required, members in groups:
        chosen = sum(number in given for number in members)
        if chosen > 1 or (required and not chosen):
            return None  # argparse's own message
    if [nargs for _, nargs in positionals] == ["+"]:
        if not words:
            return None
        values = {positionals[0][0]: words}
    elif len(words) == len(positionals):
        values = {name: word for (name, _), word in zip(positionals, words)}
    else:
        return None
    from types import SimpleNamespace

    arguments = {**defaults, **dict(given.values()), **values}
    return SimpleNamespace(command=argv[0], **arguments, command_parser=_ParserWhenNeeded(argv[0]))


class _ParserWhenNeeded:
    """A command's parser, built the first time something asks it for anything (an error to report)."""

    def __init__(self, command: str):
        self._command = command

    def __getattr__(self, name):
        return getattr(_command_parsers(build_parser(self._command))[self._command], name)


def _main(argv: list[str] | None) -> int:
    # Lark imports the third-party `regex` module when it is installed, but
    # our grammar needs only `re`; skipping it saves ~7 ms of start-up.
    sys.modules.setdefault("regex", None)
    argv = sys.argv[1:] if argv is None else argv
    args = _plain_arguments(argv)
    if args is None:
        parser = build_parser(argv[0] if argv else None)
        args, extra = parser.parse_known_args(argv)
        if extra:  # reported by the command's own parser, so its usage line is the one shown
            getattr(args, "command_parser", parser).error(f"unrecognized arguments: {' '.join(extra)}")
    else:
        parser = args.command_parser
    if args.command == "layers":
        from .views.reference import layer_table

        try:
            table = layer_table(args.names)
        except ValueError as err:
            args.command_parser.error(str(err))
        return _write(table + "\n")
    if args.command == "lsp":
        from .tools.lsp import serve

        return serve()
    if args.command == "import":
        return _import(args)
    if args.command == "summary":
        conflict = _summary_format(args)
        if conflict:
            print(f"cnndsl summary: {conflict}", file=sys.stderr)
            return USAGE
    found: list = []  # (error, source) for the machine-readable formats, written at the end
    if args.command == "check":
        from .tools.budgets import BadBudget, from_flags

        try:  # a bad budget is a usage error even when no file gets as far as its budgets
            from_flags(args)
        except BadBudget as err:
            getattr(args, "command_parser", parser).error(str(err))
        status = max(_run(path, args, found) for path in args.files)
    elif args.command == "diff":
        status = _diff(args, found)
    elif args.command == "fmt":
        status = max(_fmt(path, args, found) for path in args.files)
    elif args.command == "sweep":
        status = _sweep(args, found)
    else:
        status = _run(args.file, args, found)
    return max(status, _report(found, args))


def _report(found: list, args) -> int:
    """JSON and SARIF are one document per run (always, for `check`); text went out as it came."""
    style = getattr(args, "error_format", "text")
    if style == "text" or (not found and (style == "github" or args.command != "check")):
        return OK
    from .views.diagnostics import format_errors

    return _write(format_errors(found, style), "json" if style in ("json", "sarif") else "text")


def _import(args) -> int:
    """`cnndsl import FILE`: the model file as .cnn text; `--pytorch/--keras module:function`: the model that code builds."""
    given = [x for x in (args.file, args.pytorch, args.keras) if x]
    if len(given) != 1:
        print("cnndsl import: give one of FILE, --pytorch MODULE:FUNCTION or --keras MODULE:FUNCTION", file=sys.stderr)
        return USAGE
    if args.input and not args.pytorch:
        print("cnndsl import: --input goes with --pytorch (a Keras model or a file knows its input)", file=sys.stderr)
        return USAGE
    if args.file:
        imported = _imported(args.file, blocks=args.blocks)
    else:
        imported = _imported_callable(args)
    if isinstance(imported, int):
        return imported
    if not args.output:
        return _write(imported.text, "data")
    return _write_file(args.output, imported.text.encode("utf-8"), args.file or "-")


def _imported_callable(args):
    """The model the named module:function builds, or the exit code after saying why there is none."""
    from .importers import ModelFileError, import_callable

    kind, spec = ("pytorch", args.pytorch) if args.pytorch else ("keras", args.keras)
    try:
        return import_callable(kind, spec, args.input, blocks=args.blocks)
    except ModelFileError as error:
        print(f"cnndsl: {error.render(spec)}", file=sys.stderr)
        return error.exit_code
    except Exception as error:  # the user's own code failed: say so, without a traceback
        print(f"cnndsl: {spec}: building the model raised {type(error).__name__}: {str(error)[:300]}", file=sys.stderr)
        return USAGE


def _imported(path: str, blocks: bool = True):
    """A model file's import, or the exit code after saying why there is none."""
    from .core.errors import CnnError
    from .core.source import visible
    from .importers import ModelFileError, import_file

    try:
        return import_file(path, blocks=blocks)
    except ModelFileError as error:
        print(f"cnndsl: {error.render(path)}", file=sys.stderr)
        return error.exit_code
    except CnnError as error:  # the model the file holds is past a bound (a 2^40 axis): a fact of the model
        hint = f"\nhint: {visible(error.hint)}" if error.hint else ""
        message = f"cnndsl: {path}: the model it holds cannot be written in cnndsl: {visible(error.message)}"
        print(message + hint, file=sys.stderr)
        return MODEL_ERROR
    except Exception as error:  # a bug of ours must still not show a traceback
        print(
            f"cnndsl: internal error while importing {path}: {type(error).__name__}: {str(error)[:300]}\n"
            "This is a bug in cnndsl; please report it with the file that caused it.",
            file=sys.stderr,
        )
        return INTERNAL


def _run(path: str, args, found: list) -> int:
    """One file through one command; the exit code."""
    loaded = _load(path)
    return loaded if isinstance(loaded, int) else _run_text(*loaded, args, found)


def _load(path: str):
    """(text, filename) of a .cnn file, standard input or an imported model file; or the exit code, said."""
    if path != "-" and path.lower().endswith((".keras", ".onnx")):  # a model file: imported, read only
        imported = _imported(path)
        if isinstance(imported, int):
            return imported
        return imported.text, path
    try:
        return _read(path)
    except OSError as err:
        print(f"cnndsl: cannot read {path}: {err.strerror or err}", file=sys.stderr)
        return USAGE
    except UnicodeDecodeError as err:
        print(
            f"cnndsl: cannot read {path}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset {err.start})",
            file=sys.stderr,
        )
        return USAGE


def _run_text(text: str, filename: str, args, found: list) -> int:
    path = filename if filename != "<stdin>" else "-"
    from . import CnnError, Source, diagnose
    from .core.errors import ParameterProblem

    # The model lives until the command ends and holds no cycles: a collection now and then would walk
    # all of it again (at 80,000 layers, a tenth of the command's time). The process ends soon after.
    gc.disable()
    try:
        diagnosis = diagnose(text, filename, params=_params(args))
        if diagnosis.errors:
            return _model_errors(diagnosis.errors, diagnosis.source, args, found)
        model = diagnosis.model
        # Out of the collector's sight too: the interpreter's last collection, as it exits, skips it.
        gc.freeze()
        warnings, mode = diagnosis.warnings, None
        if warnings and args.command in ("check", "summary"):
            # The project's settings only matter when there is a warning (reading TOML costs ~5 ms).
            settings = _warning_settings(path, args)
            if not isinstance(settings, tuple):
                return settings  # a project setting that cannot be read: the exit code
            ignore, mode = settings
            warnings = [warning for warning in warnings if warning.code not in ignore and mode != "off"]
        if args.command == "check":
            status = OK
            if warnings:
                _model_errors(warnings, diagnosis.source, args, found)
                status = MODEL_ERROR if mode == "error" else OK
            return max(status, _check(model, diagnosis.source, path, args, found))
        if args.command == "summary":
            if warnings:
                _warn(warnings, diagnosis.source, args)
            return _summary(model, args)
        if args.command == "diff":
            args.models.append((model, filename))
            return OK
        if args.command == "sweep":
            args.models.append(model)
            return OK
        if args.command == "explain":
            return _explain(model, args)
        if args.command == "diagram":
            return _diagram(model, Source.of(text, filename), args)
        if args.command == "flops":
            return _flops(model, args)
        return _emit(model, args)
    except ParameterProblem as error:  # `--set` names no param of the file: a usage error
        hint = f" ({error.hint})" if error.hint else ""
        print(f"cnndsl: {filename}: --set: {error.message}{hint}", file=sys.stderr)
        return USAGE
    except CnnError as error:  # errors of code generation carry no source: it is this file
        return _model_error(error, getattr(error, "source", None) or Source.of(text, filename), args, found)
    except RecursionError:
        from .core.errors import SyntaxProblem

        return _model_error(SyntaxProblem("the file nests too deeply to read"), Source.of(text, filename), args, found)
    except Exception as error:  # a bug of ours must still not show a traceback
        return _internal_error(error, filename)


def _internal_error(error: Exception, filename: str) -> int:
    print(
        f"cnndsl: internal error while processing {filename}: {type(error).__name__}: {error}\n"
        "This is a bug in cnndsl; please report it with the file that caused it.",
        file=sys.stderr,
    )
    return INTERNAL


def _warning_settings(path: str, args):
    """(codes ignored, the warnings mode: show, error or off) from the flags and the project's
    [tool.cnndsl] (`ignore = ["W101"]`, `warnings = "error"`); an exit code when those cannot be read."""
    from .tools.budgets import BadBudget, warning_settings

    try:
        ignore, mode = warning_settings(path)
    except BadBudget as err:
        print(f"cnndsl: {err}", file=sys.stderr)
        return USAGE
    return ignore, getattr(args, "warnings", None) or mode


def _warn(warnings: list, source, args) -> None:
    """Warnings of `summary`, on standard error in the error format: standard output is the table's."""
    shown, more = _capped(warnings, args)
    style = getattr(args, "error_format", "text")
    from .views.diagnostics import format_errors

    sys.stderr.write(format_errors([(warning, source) for warning in shown], style))
    if more:
        print(_more(source, more), file=sys.stderr)


def _capped(errors: list, args) -> tuple[list, int]:
    limit = getattr(args, "max_errors", None) or len(errors)
    return errors[:limit], max(len(errors) - limit, 0)


def _more(source, more: int) -> str:
    return f"{source.filename}: ... and {more} more (--max-errors N shows more)"


def _model_errors(errors: list, source, args, found: list) -> int:
    """Each error (or warning) of one file, at most --max-errors of them, then how many more."""
    shown, more = _capped(errors, args)
    for error in shown:
        _model_error(error, source, args, found)
    if more:
        print(_more(source, more), file=sys.stderr)
    return MODEL_ERROR if any(error.severity == "error" for error in errors) else OK


def _check(model, source, path: str, args, found: list) -> int:
    """Budgets, when any are set; the model itself has already passed."""
    from .tools.budgets import BadBudget, budgets_for, over_budget

    try:
        budgets = budgets_for(path, args)
    except BadBudget as err:
        print(f"cnndsl: {err}", file=sys.stderr)
        return USAGE
    status = OK
    for error in over_budget(model, budgets):
        status = _model_error(error, source, args, found)
    return status


def _diff(args, found: list) -> int:
    """Exit 0 when the models have the same layers and numbers, 1 when they differ or one has an error."""
    args.models = []
    status = max(_run(args.file_a, args, found), _run(args.file_b, args, found))
    if status != OK:
        return status
    from .views.diff import diff_dict, diff_models, format_diff

    (a, name_a), (b, name_b) = args.models
    try:  # the comparison and its text, guarded as each file's own commands are
        diff = diff_models(a, b)
        if args.json:
            import json

            text = json.dumps(diff_dict(diff, name_a, name_b), indent=2)
        else:
            text = format_diff(diff, name_a, name_b)
    except Exception as error:
        return _internal_error(error, f"{name_a} and {name_b}")
    return _write(text + "\n", "json" if args.json else "text") or (OK if diff.same else MODEL_ERROR)


def _sweep(args, found: list) -> int:
    """One row per combination of the --set values; the first combination that fails is reported."""
    from .views.sweep import TooManyCombinations, combinations, format_sweep, record

    if not args.sweep_values:
        args.command_parser.error("give the values to sweep: --set NAME=V1,V2,... (e.g. --set alpha=0.35,0.5)")
    values = dict(args.sweep_values)  # a name given twice: its last values
    try:
        chosen = combinations(list(values.items()))
    except TooManyCombinations as error:
        print(f"cnndsl sweep: {error}", file=sys.stderr)
        return USAGE
    loaded = _load(args.file)  # once: standard input cannot be read again for the next combination
    if isinstance(loaded, int):
        return loaded
    rows = []
    for params in chosen:
        args.params = list(params.items())
        args.models = []
        status = _run_text(*loaded, args, found)
        if status != OK:
            said = ", ".join(f"{name}={value}" for name, value in params.items())
            print(f"cnndsl sweep: stopped at {said}", file=sys.stderr)
            return status
        rows.append(record(params, args.models[0]))
    try:
        text = format_sweep(rows, list(values), args.format, args.ascii)
    except Exception as error:  # a bug of ours must still not show a traceback
        return _internal_error(error, args.file)
    return _write(text + "\n", "json" if args.format == "json" else "text")


def _fmt(path: str, args, found: list) -> int:
    """Format one file: print it, rewrite it (-w), or say that it would change (--check)."""
    try:
        text, filename = _read(path)
    except (OSError, UnicodeDecodeError):
        return _run(path, args, found)  # the same message as every other command
    from . import CnnError, Source
    from .tools.fmt import format_source

    try:
        formatted = format_source(text, filename)
    except CnnError as error:
        return _model_error(error, getattr(error, "source", None) or Source.of(text, filename), args, found)
    except RecursionError:
        from .core.errors import SyntaxProblem

        return _model_error(SyntaxProblem("the file nests too deeply to read"), Source.of(text, filename), args, found)
    except Exception as error:  # FormatChangedMeaning, or any bug: never write a file we are not sure of
        print(
            f"cnndsl: internal error while formatting {filename} (left unchanged): {type(error).__name__}: {error}\n"
            "This is a bug in cnndsl; please report it with the file that caused it.",
            file=sys.stderr,
        )
        return INTERNAL
    if args.check:
        if formatted == text:
            return OK
        return _write(f"would reformat {filename}\n") or MODEL_ERROR
    if not args.write or path == "-":
        return _write(formatted, "data")
    if formatted == text:
        return OK
    return _replace(path, formatted)


def _replace(path: str, text: str) -> int:
    """Write `text` to `path` through a temporary file beside it, so the file is never half written."""
    import os
    import tempfile

    target = os.path.realpath(path)  # a symlink stays a symlink
    try:
        mode = os.stat(target).st_mode & 0o7777
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".cnndsl-fmt-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, target)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as err:
        print(f"cnndsl: cannot write {path}: {err.strerror or err}", file=sys.stderr)
        return USAGE
    return OK


def _model_error(error, source, args, found: list) -> int:
    if getattr(args, "error_format", "text") == "text":
        from . import render

        print(render(error, source), file=sys.stderr)
    else:
        found.append((error, source))
    return MODEL_ERROR


def _write(text: str, kind: str = "text") -> int:
    """Print to standard output; a reader that stops early (`| head`) is not an error.

    A "text" report shows every control character escaped (`\\x1b`); "json" escapes DEL too, the one
    control character json.dumps leaves; "data" (a formatted file, code, a diagram) goes out as it is,
    unless standard output is a terminal.
    """
    if sys.stdout is None:  # started with standard output closed
        print("cnndsl: cannot write to standard output: it is closed", file=sys.stderr)
        return USAGE
    if kind == "json":
        text = text.replace("\x7f", "\\u007f")
    elif kind == "text" or _is_terminal(sys.stdout):
        from .core.source import visible

        text = visible(text, "\n\t")
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except UnicodeEncodeError as err:  # nothing was written: the text is encoded before it goes out
        char = err.object[err.start]
        print(
            f"cnndsl: standard output cannot show U+{ord(char):04X} in its encoding, {err.encoding}; "
            "set PYTHONIOENCODING=utf-8" + (", or use --ascii" if char in "┏┃┡│├└━┳┓╇┩─┼┤┴┘" else ""),
            file=sys.stderr,
        )
        return USAGE
    except BrokenPipeError:
        # Python would complain again when it flushes at exit; point stdout at nothing.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK
    except OSError as err:
        print(f"cnndsl: cannot write to standard output: {err.strerror or err}", file=sys.stderr)
        return USAGE
    return OK


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


# Flags a data format would silently ignore: CSV and JSON list every layer (no block rows) with every
# figure they have; CSV has no memory figures, so the number type and optimizer would change nothing.
_IGNORED_BY_FORMAT = {
    "csv": ("depth", "columns", "all", "dtype", "optimizer"),
    "json": ("depth", "columns"),
}


# What torchinfo's table cannot show: it has its own two columns, channels-first shapes, float32
# figures and no width limit (--batch, --depth and --ascii are torchinfo's input_size, depth, ascii_only).
_IGNORED_BY_TORCHINFO = ("columns", "all", "macs", "width", "dtype", "optimizer")


def _summary_format(args) -> str | None:
    """Settle args.format from --format and --json; a combination that would be ignored, as a message."""
    if args.json_alias and args.format not in (None, "json"):
        return f"--json and --format {args.format} ask for two formats; give one"
    if args.style == "torchinfo":
        for name in _IGNORED_BY_TORCHINFO:
            if getattr(args, name) not in (None, False):
                return f"--style torchinfo prints torchinfo's own table; it takes no --{name}"
        if args.layout != "channels_last":
            return "--style torchinfo prints torchinfo's own table, channels first; it takes no --layout"
    args.format = args.format or ("json" if args.json_alias else "table")
    for name in _IGNORED_BY_FORMAT.get(args.format, ()):
        if getattr(args, name) not in (None, False):
            return f"--format {args.format} lists every layer with every figure it has; it takes no --{name}"
    return None


def _summary(model, args) -> int:
    if args.style == "torchinfo":
        if args.format != "table":
            args.command_parser.error("--style torchinfo prints torchinfo's table; it has no --format or --json")
        from .views.torchinfo_style import DEPTH, format_torchinfo

        table = format_torchinfo(model, args.batch or 1, args.depth or DEPTH, args.ascii)
        return _write(table + "\n")
    if args.format in ("markdown", "csv", "html"):
        from .views import summary

        if args.format == "csv":
            return _write(summary.format_csv(model, args.batch, args.layout))
        formatter = summary.format_markdown if args.format == "markdown" else summary.format_html
        return _write(formatter(model, args.batch, macs=args.macs, view=_view(args)) + "\n")
    if args.format == "json":
        import json

        from .views.summary import summary_dict

        report = summary_dict(model, args.batch, args.dtype or "float32", args.optimizer or "adam", args.layout)
        return _write(json.dumps(report, indent=2) + "\n", "json")
    from .views.summary import format_summary

    view = _view(args)
    table = format_summary(model, args.batch, macs=args.macs, ascii_only=args.ascii, view=view, width=_width(args))
    return _write(table + "\n")


def _width(args) -> int | None:
    """--width, or on a terminal $COLUMNS or the terminal's size (as shutil has it); None for a pipe or file."""
    import os

    if args.width is not None:
        return args.width
    try:
        if sys.stdout is None or not sys.stdout.isatty():
            return None
        columns = os.environ.get("COLUMNS", "")
        return int(columns) if columns.isdigit() and int(columns) > 0 else os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        return None


def _flops(model, args) -> int:
    from .views.flops import flops_dict, format_flops

    if args.json:
        import json

        return _write(json.dumps(flops_dict(model), indent=2) + "\n", "json")
    return _write(format_flops(model) + "\n")


def _explain(model, args) -> int:
    from .views.explain import explain_text

    try:
        text = explain_text(
            model, args.layer, args.layout, args.dtype or "float32", args.batch, args.optimizer or "adam"
        )
    except KeyError as missing:
        from .core.errors import did_you_mean

        name = missing.args[0]
        hint = did_you_mean(name, [node.name for node in model.nodes])
        print(f"cnndsl: no layer named `{name}`" + (f"; {hint}" if hint else ""), file=sys.stderr)
        return USAGE
    if args.flops:
        from .views.explain import select
        from .views.flops import counter_lines

        text += "\n\n" + "\n".join(counter_lines(model, select(model, args.layer) if args.layer else None))
    return _write(text + "\n")


def _emit(model, args) -> int:
    from .emit import generate

    if args.target == "onnx":
        return _emit_onnx(model, args)
    code = generate(model, args.target)
    if not args.output:
        return _write(code, "data")
    return _write_file(args.output, code.encode("utf-8"), args.file)


def _emit_onnx(model, args) -> int:
    """`emit --onnx`: a binary file, so only to `-o` (never raw bytes to a terminal)."""
    if not args.output:
        print("cnndsl emit --onnx: an ONNX model is binary; give -o model.onnx", file=sys.stderr)
        return USAGE
    try:
        import onnx  # noqa: F401
    except ImportError:
        print('cnndsl emit --onnx: needs the `onnx` package: pip install "cnndsl[onnx]"', file=sys.stderr)
        return USAGE
    from .emit.onnx import to_bytes

    return _write_file(args.output, to_bytes(model), args.file)


def _write_file(path: str, data: bytes, source: str) -> int:
    """Write `-o` output whole or not at all, and never over the input file.

    The data goes to a new file in the same directory, which then replaces
    `path` in one step: a full disk or a file-size limit leaves the old file
    as it was. Through a symlink, the file it names is replaced.
    """
    import os

    try:
        if _same_file(source, path):
            what = "standard input's file" if source == "-" else f"the input file {source}"
            print(f"cnndsl: refusing to write over {what} (-o {path})", file=sys.stderr)
            return USAGE
        target = os.path.realpath(path)
        temporary = _write_temporary(target, data)
        try:
            try:
                os.chmod(temporary, os.stat(target).st_mode & 0o7777)  # keep an existing file's permissions
            except FileNotFoundError:
                pass
            os.replace(temporary, target)
        except BaseException:
            _remove(temporary)
            raise
    except OSError as err:
        print(f"cnndsl: cannot write {path}: {err.strerror or err}", file=sys.stderr)
        return USAGE
    return OK


def _same_file(source: str, path: str) -> bool:
    """Whether `path` is the input (also through a symlink or a hard link, or stdin redirected from it)."""
    import os

    try:
        out = os.stat(path)
    except OSError:
        return False
    try:
        into = os.fstat(sys.stdin.fileno()) if source == "-" else os.stat(source)
    except (OSError, AttributeError, ValueError):
        return False
    return (into.st_dev, into.st_ino) == (out.st_dev, out.st_ino)


def _write_temporary(target: str, data: bytes) -> str:
    """A new file beside `target` holding `data`, created as open() would (umask applies), synced."""
    import os
    import secrets

    directory, name = os.path.split(target)
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        _remove(temporary)
        raise
    return temporary


def _remove(path: str) -> None:
    import os

    try:
        os.unlink(path)
    except OSError:
        pass


DIAGRAM_EXTENSIONS = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".svg": "svg", ".png": "png"}


def _diagram(model, source, args) -> int:
    import os

    from .views.diagram import DiagramError, diagram

    fmt = args.format
    if args.output:
        extension = os.path.splitext(args.output)[1].lower()
        implied = DIAGRAM_EXTENSIONS.get(extension)
        known = ", ".join(DIAGRAM_EXTENSIONS)
        if fmt is None and implied is None:  # DOT in a .jpg is a file nothing can open
            print(
                f"cnndsl: cannot tell a diagram format from -o {args.output}; name it {known}, or give --format",
                file=sys.stderr,
            )
            return USAGE
        if fmt is not None and implied is not None and implied != fmt:
            print(
                f"cnndsl: --format {fmt} contradicts -o {args.output} (a {extension} file is {implied})",
                file=sys.stderr,
            )
            return USAGE
        fmt = fmt or implied
    fmt = fmt or "dot"
    if fmt == "png" and not args.output and sys.stdout.isatty():
        print("cnndsl: a PNG is not for the terminal; give -o FILE.png", file=sys.stderr)
        return USAGE
    notes: list[str] = []
    try:
        data = diagram(model, fmt, args.depth, source, args.compact, args.rankdir, notes)
    except DiagramError as err:
        print(f"cnndsl: {err}", file=sys.stderr)
        return USAGE
    for note in notes:
        print(f"cnndsl: note: {note}", file=sys.stderr)
    if not args.output:
        if fmt in ("dot", "mermaid", "svg"):
            return _write(data.decode(), "data")
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        except BrokenPipeError:
            return OK
        return OK
    return _write_file(args.output, data, args.file)
