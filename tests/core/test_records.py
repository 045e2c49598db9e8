"""cnndsl.core.records behaves as the standard dataclass decorator, class by class.

The oracle: each module that uses cnndsl.core.records (or cnndsl.core.frozen, which
is `dataclass(frozen=True, slots=True)`), run again with the standard
`dataclasses` in its place, so every class body is decorated both ways;
then the two classes' instances are compared on everything the standard
decorator gives them.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import pickle
import re
import sys
import types
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnndsl.core import records as _dataclass
from cnndsl.core.records import dataclass, field

MODULES = [
    "cnndsl.core.source",
    "cnndsl.core.errors",
    "cnndsl.language.ast",
    "cnndsl.model.infer",
    "cnndsl.model.pipeline",
    "cnndsl.language.expand",
    "cnndsl.layers.base",
    "cnndsl.core.writer",
    "cnndsl.tools.budgets",
    "cnndsl.model.receptive",
    "cnndsl.model.memory",
    "cnndsl.views.diagram",
    "cnndsl.views.columns",
    "cnndsl.views.diff",
]


@functools.cache
def _standard_module(name: str) -> types.ModuleType:
    """The module's source run again, importing `dataclass` and `field` from the standard library."""
    module = importlib.import_module(name)
    text = Path(module.__file__).read_text(encoding="utf-8")
    standard, count = re.subn(r"^from \.+(core\.)?records import ", "from dataclasses import ", text, flags=re.M)
    standard, frozen_count = re.subn(
        r"^from \.+(core\.)?frozen import frozen$",
        "from dataclasses import dataclass as _standard\nfrozen = _standard(frozen=True, slots=True)",
        standard,
        flags=re.M,
    )
    assert count + frozen_count >= 1, name
    twin = types.ModuleType(f"{name}_standard_twin")
    twin.__package__ = module.__package__
    twin.__file__ = module.__file__
    sys.modules[twin.__name__] = twin  # the standard decorator reads the module of the class's annotations
    exec(compile(standard, module.__file__, "exec"), twin.__dict__)  # noqa: S102 - our own module's source
    return twin


def _pairs():
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attribute, ours in vars(module).items():
            if isinstance(ours, type) and ours in _dataclass._SPECS and ours.__module__ == name:
                found.append(pytest.param(name, attribute, id=f"{name}.{attribute}"))
    return found


PAIRS = _pairs()


def test_every_module_using_it_is_compared():
    users = {
        ".".join(path.relative_to(Path(_dataclass.__file__).parent.parent.parent).with_suffix("").parts)
        for path in Path(_dataclass.__file__).parent.parent.rglob("*.py")
        if re.search(r"^from \.+(core\.)?(records|frozen) import ", path.read_text(encoding="utf-8"), flags=re.M)
    }
    assert users - {"cnndsl.core.frozen"} == set(MODULES)
    assert len(PAIRS) >= 35


def _classes(module_name: str, attribute: str):
    return getattr(importlib.import_module(module_name), attribute), getattr(_standard_module(module_name), attribute)


def _described(cls):
    def plain(value):  # each run of a module makes its own `object()` sentinels
        return "an object()" if type(value) is object else value

    return [(f.name, f.type, plain(f.default), f.default_factory, f.init, f.repr) for f in dataclasses.fields(cls)]


def _class_attribute(cls, name: str):
    value = vars(cls).get(name, "absent")
    if isinstance(value, types.MemberDescriptorType):
        return "a slot"
    return "an object()" if type(value) is object else value


def _repr(value) -> str:
    return re.sub(r"<object object at 0x[0-9a-f]+>", "<an object()>", repr(value))


def _outcome(function, *args, **kwargs):
    """What a call gives: its result, or its exception's type and message."""
    try:
        return ("returns", _repr(function(*args, **kwargs)))
    except Exception as error:  # noqa: BLE001 - comparing which exception each class raises
        return ("raises", type(error).__name__, str(error))


VALUES = st.one_of(st.integers(-3, 3), st.text(max_size=2), st.none(), st.tuples(st.integers(0, 2)))


@pytest.mark.parametrize(("module_name", "attribute"), PAIRS)
def test_the_class_is_the_standard_decorators(module_name, attribute):
    ours, standard = _classes(module_name, attribute)
    described = _described(standard)
    assert _described(ours) == described
    assert dataclasses.is_dataclass(ours)
    assert ours.__dataclass_params__.frozen == standard.__dataclass_params__.frozen
    assert ours.__match_args__ == standard.__match_args__
    assert (ours.__hash__ is None) == (standard.__hash__ is None)
    assert getattr(ours, "__slots__", None) == getattr(standard, "__slots__", None)
    assert ours.__qualname__ == standard.__qualname__ and ours.__module__ == module_name
    for name, *_ in described:  # a plain default stays a class attribute, as the standard decorator leaves it
        assert _class_attribute(ours, name) == _class_attribute(standard, name)
    # Constructor errors name the same method and arguments.
    for args, kwargs in (((), {}), ((0,) * 30, {}), ((), {"no_such_field": 1})):
        assert _outcome(ours, *args, **kwargs) == _outcome(standard, *args, **kwargs)


@pytest.mark.parametrize(("module_name", "attribute"), PAIRS)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_instances_behave_as_the_standard_decorators(module_name, attribute, data):
    ours, standard = _classes(module_name, attribute)
    fields = dataclasses.fields(standard)
    required = [f for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    values = data.draw(st.lists(VALUES, min_size=len(fields), max_size=len(fields)))
    given_count = data.draw(st.integers(len(required), len(fields)))
    args, kwargs = values[:given_count], {}
    if data.draw(st.booleans()):  # by keyword instead
        kwargs = {f.name: value for f, value in zip(fields, args)}
        args = []
    a, b = ours(*args, **kwargs), standard(*args, **kwargs)
    assert _repr(a) == _repr(b)
    assert _repr([getattr(a, f.name) for f in fields]) == _repr([getattr(b, f.name) for f in fields])
    assert _repr(dataclasses.asdict(a)) == _repr(dataclasses.asdict(b)) == _repr(_dataclass.asdict(a))
    assert _repr(dataclasses.astuple(a)) == _repr(dataclasses.astuple(b))
    assert a == ours(*args, **kwargs) and not a != ours(*args, **kwargs)
    assert (a == b) is False and a.__eq__(b) is NotImplemented
    # The hash of the fields' tuple (each module run makes its own sentinels, so not hash(a) == hash(b)).
    if ours.__hash__ is None:
        assert _outcome(hash, a)[:2] == _outcome(hash, b)[:2] == ("raises", "TypeError")
    else:
        for instance in (a, b):
            assert _outcome(hash, instance) == _outcome(hash, tuple(getattr(instance, f.name) for f in fields))
    assert hasattr(a, "__dict__") == hasattr(b, "__dict__")
    if hasattr(b, "__dict__"):
        assert _repr(list(vars(a).items())) == _repr(list(vars(b).items()))
    for f in fields:  # every field's default factory makes a new value for each instance
        if f.default_factory is not dataclasses.MISSING and f.name not in kwargs and len(args) <= fields.index(f):
            assert getattr(a, f.name) is not getattr(ours(*args, **kwargs), f.name)
    if fields:
        name, new = fields[-1].name, data.draw(VALUES)
        changed, standard_changed = dataclasses.replace(a, **{name: new}), dataclasses.replace(b, **{name: new})
        assert _repr(changed) == _repr(standard_changed)
        assert _dataclass.replace(a, **{name: new}) == changed
    for copied in (copy.copy, copy.deepcopy, lambda x: pickle.loads(pickle.dumps(x))):
        assert _outcome(lambda x: copied(x) == x, a) == _outcome(lambda x: copied(x) == x, b)  # noqa: B023
    # Assigning and deleting: refused alike on a frozen class, done alike otherwise.
    for name in (fields[0].name if fields else "x", "not_a_field"):
        new = data.draw(VALUES)
        assert _outcome(setattr, a, name, new) == _outcome(setattr, b, name, new)
        assert _outcome(delattr, a, name) == _outcome(delattr, b, name)


def test_repr_of_an_instance_inside_itself_is_cut_short():
    @dataclass
    class Node:
        children: list = field(default_factory=list)

    @dataclasses.dataclass
    class Standard:
        children: list = dataclasses.field(default_factory=list)

    node, standard = Node(), Standard()
    node.children.append(node)
    standard.children.append(standard)
    assert (
        repr(node)
        == repr(standard).replace("Standard", "Node")
        == ("test_repr_of_an_instance_inside_itself_is_cut_short.<locals>.Node(children=[...])")
    )


def test_what_needs_the_standard_module_is_refused():
    with pytest.raises(TypeError):

        @dataclass(eq=False)
        class Unequal:
            x: int

    with pytest.raises(TypeError, match="ClassVar"):

        @dataclass
        class Shared:
            x: ClassVar[int]  # noqa: F821 - never evaluated (postponed annotations)

    with pytest.raises(TypeError, match="__eq__"):

        @dataclass
        class OwnEquality:
            x: int

            def __eq__(self, other):
                return True

    @dataclass
    class Base:
        x: int

    with pytest.raises(TypeError, match="inherit"):

        @dataclass
        class Derived(Base):
            y: int


def test_the_standard_decorators_own_mistakes_are_refused_alike():
    def declare(decorator):
        class Bad:
            __annotations__ = {"x": "int", "y": "int"}
            x = 1

        return _outcome(decorator, Bad)

    assert declare(dataclass) == declare(dataclasses.dataclass)

    def mutable(decorator):
        class Bad:
            __annotations__ = {"x": "list"}
            x = []

        return _outcome(decorator, Bad)

    assert mutable(dataclass) == mutable(dataclasses.dataclass)
