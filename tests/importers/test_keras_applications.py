"""Every keras.applications model, saved to a `.keras` file and imported: Keras's figures, row for row.

The models tests/test_zoo.py has an example of are imported there, by the test that builds them,
so that no model is built twice in a run; this file imports the others. Each model here is built
for its one test and dropped after it (the largest hold over a gigabyte of weights).
"""

from __future__ import annotations

import pytest
from application_imports import APPLICATIONS, documented_names, import_application
from test_zoo import ZOO

ELSEWHERE = set(ZOO.values())  # imported by tests/test_zoo.py


def test_the_list_is_every_keras_application(keras):
    assert APPLICATIONS == sorted(name for name in dir(keras.applications) if name[:1].isupper())


def test_the_line_count_table_lists_every_imported_application():
    assert documented_names() == APPLICATIONS


@pytest.mark.parametrize("name", [n for n in APPLICATIONS if n not in ELSEWHERE])
def test_application_imports_exactly(name, keras, tmp_path):
    import_application(keras, name, getattr(keras.applications, name)(weights=None), tmp_path)
