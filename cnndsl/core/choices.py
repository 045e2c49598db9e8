"""The option lists of the command line, the API and the playground, in a module that imports nothing.

Each list belongs to the module named beside it, which takes it from here and checks
its input against it; `cnndsl.cli` builds its parser from these same objects, so a
command's start-up does not load every owner just to list its options
(tests/core/test_choices.py holds each owner to the object here).
"""

from __future__ import annotations

SUMMARY_FORMATS = ("table", "markdown", "csv", "json", "html")  # cli's summary: one of views.summary's formatters
SWEEP_FORMATS = ("table", "csv", "markdown", "json")  # cli's sweep: views.sweep's formatters
SUMMARY_STYLES = ("keras", "torchinfo")  # cli's summary and tools.playground: Keras's table or torchinfo's
SUMMARY_COLUMNS = (  # views.columns
    "shape",
    "params",
    "trainable",
    "macs",
    "activations",
    "memory",
    "rf",
    "stride",
    "padding",
    "connected",
)
LAYOUTS = ("channels_last", "channels_first")  # layers.base.to_layout's axis orders; tools.playground
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}  # model.memory: bytes per value
OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2}  # model.memory: values of state per trainable parameter
WARNING_MODES = ("show", "error", "off")  # tools.budgets
DIAGRAM_FORMATS = ("dot", "mermaid", "svg", "png")  # views.diagram
DIAGRAM_RANKDIRS = ("TB", "LR", "BT", "RL")  # views.diagram: Graphviz's rankdir (Mermaid's TD, LR, BT, RL)
ERROR_FORMATS = ("text", "json", "sarif", "github")  # views.diagnostics
