"""`dataclass` and `field` for the classes every command loads, at a fraction of the standard decorator's cost.

The standard decorator compiles each class's methods from source text while
its module is imported (~0.35 ms a frozen class, and `cnndsl summary` loads
about 40), and `import dataclasses` brings `inspect` with it (~4 ms):
together a third of the command's time. Classes made here behave as the
standard decorator's do, with the same __init__ (compiled the first time an
instance is made), __repr__, __eq__, __hash__, frozen __setattr__ and
__delattr__, __match_args__ and __slots__. `dataclasses.fields`, `replace`,
`asdict` and `is_dataclass` work on them: their `__dataclass_fields__` is
the standard decorator's, made from a copy of the class the first time
something asks for it. The one difference: a class without a docstring gets
none, where the standard decorator writes its signature there.

`replace` and `asdict` are the standard ones without loading the standard module.
Only what cnndsl uses exists (`frozen`, `slots`, `field(default_factory=)`);
anything else is a TypeError: use the standard module for it.
tests/core/test_records.py holds every behaviour against the standard one's.
"""

from __future__ import annotations

import _thread
from operator import attrgetter

_MISSING = object()
_SPECS: dict = {}  # class -> its _Spec, for replace()
_FACTORY = object()  # the default of a parameter whose field has a default factory
_WRITTEN_BY_THE_DECORATOR = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")
_NEEDS_THE_STANDARD_MODULE = ("ClassVar", "typing.ClassVar", "InitVar", "dataclasses.InitVar", "KW_ONLY")


class _Field:
    __slots__ = ("default", "default_factory")

    def __init__(self, default, default_factory):
        self.default, self.default_factory = default, default_factory


def field(*, default=_MISSING, default_factory=_MISSING):
    """`dataclasses.field`, for a default or a default factory."""
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return _Field(default, default_factory)


def same_fields(cls):
    """Register a subclass that adds only methods: `replace` and the rest treat it as its base."""
    _SPECS[cls] = _SPECS[cls.__mro__[1]]
    return cls


def replace(instance, /, **changes):
    """`dataclasses.replace`, without loading the standard module for classes made here."""
    spec = _SPECS.get(type(instance))
    if spec is None:
        import dataclasses

        return dataclasses.replace(instance, **changes)
    for name in spec.names:
        if name not in changes:
            changes[name] = getattr(instance, name)
    return type(instance)(**changes)


_ATOMIC = (type(None), bool, int, float, str)  # what dataclasses.asdict copies as it is


def asdict(instance) -> dict:
    """`dataclasses.asdict`, without loading the standard module when every field is a plain value."""
    spec = _SPECS.get(type(instance))
    if spec is not None:
        values = {name: getattr(instance, name) for name in spec.names}
        if all(type(value) in _ATOMIC for value in values.values()):
            return values
    import dataclasses

    return dataclasses.asdict(instance)


def dataclass(cls=None, /, *, frozen: bool = False, slots: bool = False):
    """`dataclasses.dataclass`, with its `frozen` and `slots` options."""

    def wrap(cls):
        return _process(cls, frozen, slots)

    return wrap if cls is None else wrap(cls)


class _Spec:
    """What the decorator was given: enough to build the class's methods, or its standard twin."""

    __slots__ = ("names", "annotations", "defaults", "factories", "frozen")

    def __init__(self, cls, frozen: bool):
        self.annotations = dict(cls.__dict__.get("__annotations__", {}))
        self.names = tuple(self.annotations)
        self.defaults, self.factories, self.frozen = {}, {}, frozen
        for name in self.names:
            annotation = self.annotations[name]
            text = annotation if isinstance(annotation, str) else repr(annotation)
            if text.startswith(_NEEDS_THE_STANDARD_MODULE):
                raise TypeError(f"{cls.__qualname__}.{name}: use the standard dataclasses for {text}")
            value = cls.__dict__.get(name, _MISSING)
            if isinstance(value, _Field):
                if value.default_factory is not _MISSING:
                    self.factories[name] = value.default_factory
                value = value.default
            if value is not _MISSING and type(value).__hash__ is None:
                raise ValueError(f"mutable default {type(value)} for field {name} is not allowed: use default_factory")
            if value is not _MISSING:
                self.defaults[name] = value
            elif name not in self.factories and (self.defaults or self.factories):
                raise TypeError(f"non-default argument {name!r} follows default argument")


def _process(cls, frozen: bool, slots: bool):
    if any("__dataclass_fields__" in vars(base) for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__qualname__}: use the standard dataclasses to inherit fields")
    for name in _WRITTEN_BY_THE_DECORATOR:
        if name in cls.__dict__:
            raise TypeError(f"{cls.__qualname__} defines {name}: use the standard dataclasses")
    spec = _Spec(cls, frozen)
    for name in spec.names:  # the class keeps each plain default as an attribute, as the standard decorator leaves it
        if name in spec.defaults:
            setattr(cls, name, spec.defaults[name])
        elif name in cls.__dict__:
            delattr(cls, name)
    values = _values(spec.names)
    cls.__init__ = _first_init(spec, slots)
    cls.__repr__ = _repr(spec.names)
    cls.__eq__ = _eq(values)
    cls.__hash__ = _hash(values) if frozen else None
    if frozen:
        cls.__setattr__, cls.__delattr__ = _frozen(cls, spec.names)
    if "__match_args__" not in cls.__dict__:
        cls.__match_args__ = spec.names
    cls.__dataclass_fields__ = _Standard("__dataclass_fields__", spec)
    cls.__dataclass_params__ = _Standard("__dataclass_params__", spec)
    if slots:
        cls = _with_slots(cls, spec)
    cls.__init__.owner = cls
    _SPECS[cls] = spec
    return cls


def _values(names: tuple):
    """The tuple of an instance's field values, as the standard __eq__ and __hash__ compare and hash."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        (name,) = names

        def one(instance):
            return (getattr(instance, name),)

        return one
    return lambda instance: ()


def _first_init(spec: _Spec, slots: bool):
    """An __init__ that compiles the class's own (as the standard decorator writes it), puts it in its place, and runs it."""

    def __init__(self, *args, **kwargs):
        owner = __init__.owner
        init = _compile_init(owner, spec, slots)
        owner.__init__ = init
        init(self, *args, **kwargs)

    return __init__


def _compile_init(cls, spec: _Spec, slots: bool):
    scope = {"_set": object.__setattr__, "_FACTORY": _FACTORY}
    params, values = [], []
    for name in spec.names:
        value = name
        if name in spec.factories:
            params.append(f"{name}=_FACTORY")
            scope[f"_factory_{name}"] = spec.factories[name]
            value = f"_factory_{name}() if {name} is _FACTORY else {name}"
        elif name in spec.defaults:
            params.append(f"{name}=_default_{name}")
            scope[f"_default_{name}"] = spec.defaults[name]
        else:
            params.append(name)
        values.append((name, value))
    if not spec.frozen:
        body = [f"self.{name} = {value}" for name, value in values]
    elif slots:  # each slot's own setter: faster than object.__setattr__, which looks the name up
        scope.update({f"_set_{name}": cls.__dict__[name].__set__ for name in spec.names})
        body = [f"_set_{name}(self, {value})" for name, value in values]
    else:  # the instance's dict in one step: the same dict as setting each field in turn
        body = ["_set(self, '__dict__', {" + ", ".join(f"{name!r}: {value}" for name, value in values) + "})"]
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n    " + "\n    ".join(body or ["pass"]) + "\n"
    namespace: dict = {}
    exec(source, scope, namespace)  # noqa: S102 - text made above from the class's own field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _repr(names: tuple):
    running = set()

    def __repr__(self):
        key = id(self), _thread.get_ident()
        if key in running:
            return "..."
        running.add(key)
        try:
            fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        finally:
            running.discard(key)
        return f"{self.__class__.__qualname__}({fields})"

    return __repr__


def _eq(values):
    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    return __eq__


def _hash(values):
    def __hash__(self):
        return hash(values(self))

    return __hash__


def _frozen(cls, names: tuple):
    # `cls` is the class before __slots__ are added, as in the standard decorator's methods.
    fields = frozenset(names)

    def __setattr__(self, name, value):
        if type(self) is cls or name in fields:
            raise _frozen_error(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self, name):
        if type(self) is cls or name in fields:
            raise _frozen_error(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __setattr__, __delattr__


def _frozen_error(message: str) -> Exception:
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError(message)


def _with_slots(cls, spec: _Spec):
    """The class again with __slots__ for its fields, as the standard decorator makes it."""
    if "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__} already specifies __slots__")
    namespace = dict(cls.__dict__)
    namespace["__slots__"] = spec.names
    for name in (*spec.names, "__dict__", "__weakref__"):
        namespace.pop(name, None)
    qualname = cls.__qualname__
    cls = type(cls)(cls.__name__, cls.__bases__, namespace)
    cls.__qualname__ = qualname
    if spec.frozen:
        names = spec.names

        def __getstate__(self):
            return [getattr(self, name) for name in names]

        def __setstate__(self, state):
            for name, value in zip(names, state):
                object.__setattr__(self, name, value)

        if "__getstate__" not in namespace:
            cls.__getstate__ = __getstate__
        if "__setstate__" not in namespace:
            cls.__setstate__ = __setstate__
    return cls


class _Standard:
    """`__dataclass_fields__` or `__dataclass_params__`: the standard decorator's, made when first asked for."""

    def __init__(self, attribute: str, spec: _Spec):
        self.attribute, self.spec = attribute, spec

    def __get__(self, instance, owner):
        twin = _standard_twin(owner, self.spec)
        for attribute in ("__dataclass_fields__", "__dataclass_params__"):
            type.__setattr__(owner, attribute, getattr(twin, attribute))
        return getattr(twin, self.attribute)


def _standard_twin(cls, spec: _Spec):
    """The class the standard decorator makes from the same fields: its Field objects are ours."""
    import dataclasses

    namespace = {
        "__annotations__": dict(spec.annotations),
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
    }
    for name in spec.names:
        if name in spec.factories:
            namespace[name] = dataclasses.field(default_factory=spec.factories[name])
        elif name in spec.defaults:
            namespace[name] = spec.defaults[name]
    return dataclasses.dataclass(frozen=spec.frozen)(type(cls.__name__, (), namespace))
