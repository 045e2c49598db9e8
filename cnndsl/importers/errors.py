"""Why a model file cannot be imported."""

from __future__ import annotations


class ModelFileError(Exception):
    """A model file cnndsl cannot import: exit 1 when the model uses something cnndsl lacks
    (`where` says which layer or node), exit 2 when the file itself cannot be read."""

    def __init__(self, message: str, where: str = "", hint: str | None = None, exit_code: int = 1):
        super().__init__(message)
        self.message, self.where, self.hint, self.exit_code = message, where, hint, exit_code

    def render(self, path: str) -> str:
        place = f"{path}: {self.where}: " if self.where else f"{path}: "
        return place + self.message + (f"\nhint: {self.hint}" if self.hint else "")


def missing_extra(package: str, extra: str) -> ModelFileError:
    return ModelFileError(
        f"reading this file needs the `{package}` package, which is not installed",
        hint=f'pip install "cnndsl[{extra}]"',
        exit_code=2,
    )
