"""Budgets for `check`: upper limits on a model's parameters, MACs and memory.

Set with `--max-params 1M` and friends, or under `[tool.cnndsl]` in the
nearest pyproject.toml that has that table; a flag wins over the file.
A figure equal to its budget is within it.
"""

from __future__ import annotations

import os
import re

from ..core.choices import WARNING_MODES
from ..core.errors import CnnError, OverBudget, SizeNeeded
from ..core.records import dataclass

COUNT_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
# Decimal units are powers of 1000 and binary ones (KiB) of 1024, as in SI and IEC.
BYTE_UNITS = {"": 1, "B": 1, **{p + "B": 1000 ** (i + 1) for i, p in enumerate("KMGT")}}
BYTE_UNITS.update({p + "IB": 1024 ** (i + 1) for i, p in enumerate("KMGT")})
_AMOUNT = re.compile(r"\s*(\d[\d_,]*(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*")


class BadBudget(ValueError):
    """A budget that cannot be read (a usage error, exit 2)."""


@dataclass(frozen=True)
class Figure:
    key: str  # the flag without dashes and the pyproject key: max-params
    what: str  # how the message names it
    units: dict[str, int]
    example: str


FIGURES = (
    Figure("max-params", "parameters", COUNT_UNITS, "1.5M"),
    Figure("max-macs", "MACs", COUNT_UNITS, "500M"),
    # Model.memory's inference peak for one float32 example: parameters plus the most activations alive at once.
    Figure("max-memory", "bytes of memory at its inference peak (one example, float32)", BYTE_UNITS, "2GB"),
)


@dataclass(frozen=True)
class Budget:
    figure: Figure
    limit: int
    written: str  # as the user wrote it, for the message
    origin: str  # `--max-params`, or the pyproject.toml it came from


def parse_amount(text: str | int, figure: Figure) -> int:
    """`1.5M` as 1,500,000; `2GB` as 2,000,000,000 and `2GiB` as 2,147,483,648."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise BadBudget(f"{figure.key} must be a number such as {figure.example}, not {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise BadBudget(f"{figure.key} cannot be negative")
        return text
    match = _AMOUNT.fullmatch(text)
    unit = match and match.group(2).upper()
    if not match or unit not in figure.units:
        units = ", ".join(u for u in figure.units if u)
        raise BadBudget(
            f"{figure.key}: cannot read {text!r}; write a number with an optional unit ({units}), e.g. {figure.example}"
        )
    from decimal import Decimal  # only for a budget that is set: ~1 ms of every `check`

    number = Decimal(match.group(1).replace("_", "").replace(",", "")) * figure.units[unit]  # 1.1K is exactly 1100
    if number != int(number):
        raise BadBudget(f"{figure.key}: {text!r} is not a whole number of {figure.what}")
    return int(number)


def from_flags(args) -> dict[str, Budget]:
    budgets = {}
    for figure in FIGURES:
        written = getattr(args, figure.key.replace("-", "_"), None)
        if written is not None:
            budgets[figure.key] = Budget(figure, parse_amount(written, figure), written, f"--{figure.key}")
    return budgets


def find_settings(start: str) -> tuple[str, dict] | None:
    """The nearest pyproject.toml at or above `start` with a [tool.cnndsl] table, and that table."""
    folder = os.path.abspath(start)
    while True:
        path = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(path):
            settings = _read_toml(path).get("tool", {}).get("cnndsl") if _may_name_cnndsl(path) else None
            if settings is not None:
                if not isinstance(settings, dict):
                    raise BadBudget(f"{path}: [tool.cnndsl] must be a table")
                return path, settings
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _may_name_cnndsl(path: str) -> bool:
    """Whether the file can hold a [tool.cnndsl] table: it has the word, or an escape that could spell it.

    A TOML key is the word itself (bare or quoted), or a basic string with
    escapes; most projects' pyproject.toml has neither, and reading TOML
    costs ~3 ms of every `check`. Unreadable files are read, to report why.
    """
    try:
        with open(path, "rb") as file:
            text = file.read()
    except OSError:
        return True
    return b"cnndsl" in text or b"\\u" in text or b"\\U" in text or b"\\x" in text


def _read_toml(path: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: cnndsl depends on tomli there (see pyproject.toml)
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise BadBudget(f"cannot read {path}: reading TOML needs Python 3.11 or the tomli package") from None
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise BadBudget(f"cannot read {path}: {err}") from None


WARNING_KEYS = ("ignore", "warnings")  # [tool.cnndsl] keys for warnings; the others are budgets


def warning_settings(path: str) -> tuple[tuple[str, ...], str | None]:
    """The warning codes a file's project ignores (`ignore = ["W101"]`) and its `warnings` mode
    (`"error"` fails `check` on a warning; `"off"` leaves them out), from [tool.cnndsl]."""
    start = os.getcwd() if path == "-" else os.path.dirname(os.path.abspath(path))
    found = find_settings(start)
    if not found:
        return (), None
    where, settings = found
    ignore = settings.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(code, str) for code in ignore):
        raise BadBudget(f'{where}: [tool.cnndsl] ignore must be a list of codes, such as ["W101"]')
    mode = settings.get("warnings")
    if mode is not None and mode not in WARNING_MODES:
        raise BadBudget(f"{where}: [tool.cnndsl] warnings must be one of {', '.join(map(repr, WARNING_MODES))}")
    return tuple(ignore), mode


def from_settings(path: str, settings: dict) -> dict[str, Budget]:
    known = [figure.key for figure in FIGURES] + list(WARNING_KEYS)
    for key in settings:
        if key not in known:  # a misspelt budget must not pass as no budget at all
            from ..core.errors import did_you_mean

            hint = did_you_mean(str(key), known)
            advice = f"{hint}" if hint else "the keys are " + ", ".join(known)
            raise BadBudget(f"{path}: [tool.cnndsl] has no setting {key!r}; {advice}")
    budgets = {}
    for figure in FIGURES:
        if figure.key in settings:
            written = settings[figure.key]
            try:
                limit = parse_amount(written, figure)
            except BadBudget as err:
                raise BadBudget(f"{path}: [tool.cnndsl] {err}") from None
            budgets[figure.key] = Budget(figure, limit, str(written), f"{path} [tool.cnndsl]")
    return budgets


def budgets_for(path: str, args) -> dict[str, Budget]:
    """The budgets a file is checked against: its project's settings, overridden by flags."""
    start = os.getcwd() if path == "-" else os.path.dirname(os.path.abspath(path))
    found = find_settings(start)
    budgets = from_settings(*found) if found else {}
    budgets.update(from_flags(args))
    return budgets


def figure_of(model, figure: Figure) -> int:
    if figure.key == "max-memory":
        return model.memory(batch=1, dtype="float32").inference_peak_bytes
    return {"max-params": model.total, "max-macs": model.macs}[figure.key]


def over_budget(model, budgets: dict[str, Budget]) -> list[CnnError]:
    """One error for each figure over its budget, at the model's input line; a figure that depends on
    an axis of unknown size cannot be checked, and that is an error at the input's `?`."""
    from ..layers.base import describe_shape

    errors = []
    for budget in budgets.values():
        value = figure_of(model, budget.figure)
        if value is None:  # depends on an axis of unknown size: no number to hold against the budget
            node = model.unknown_inputs[0]
            errors.append(
                SizeNeeded(
                    f"the {budget.figure.what} cannot be checked against the budget of {budget.written}: "
                    f"they depend on this input's axes of unknown size ({describe_shape(node.shape)})",
                    node.layer.span_of("shape"),
                    f"give the input a size to check this budget (set by {budget.origin}), or check the parameters only",
                )
            )
        elif value > budget.limit:
            limit = f"{budget.limit:,}" + ("" if budget.written == f"{budget.limit}" else f" ({budget.written})")
            errors.append(
                OverBudget(
                    f"the model has {value:,} {budget.figure.what}, {value - budget.limit:,} over the budget of {limit}",
                    model.input.span,
                    f"the budget is set by {budget.origin}",
                )
            )
    return errors
