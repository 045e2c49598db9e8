"""Sizes of `?` axes as exact expressions of the inputs' symbols.

Each input axis written `?` is a symbol (`input_symbols` names them: `h`, `w`; `n` for a
sequence; a second input's are `h2`, `w2`). The layers' shape rules are integer arithmetic
(sums, products, floor division by a whole number), so every size is a `Size`: a polynomial
with integer coefficients whose variables ("atoms") are symbols and floors `floor(P/d)` of
such polynomials. The form is canonical for the cases the rules make: `n + 0` is `n`,
`floor(n/1)` is `n`, `floor(floor(n/2)/2)` is `floor(n/4)`, `ceil(n/s)` is `floor((n + s − 1)/s)`,
and whole multiples leave a floor (`floor((2n + 1)/2)` is `n`). A constant is a plain int.

Equality of two sizes is then structural; `compare` decides the rest exactly: their difference
is periodic in each symbol (modulo the product of its divisors), and on each residue class a
polynomial, so a few points per class tell whether the sizes agree on it. A merge of branches
that agree on some classes only holds under a `Condition` (`h ≡ 0 mod 2`).

Anything past the bounds in cnndsl.core.limits, or outside this arithmetic (a comparison whose
answer depends on the size), raises `Undecided`: the size is then unknown, as before.
"""

from __future__ import annotations

import math
from itertools import product

from .limits import MAX_SIZE_CHECKS, MAX_SIZE_MODULUS, MAX_SIZE_WEIGHT

EXAMPLE_SIZE = 224
"""The size a generated demo gives a `?` axis (MobileNet's default), or the next one its conditions allow."""

RUN_STARTS = (EXAMPLE_SIZE, 67, 131)
"""Where the sizes to run a model at start: the demo's, then two others (odd ones, where allowed)."""


class Undecided(ArithmeticError):
    """A question about symbolic sizes the algebra does not answer: the size is left unknown."""


class Symbol:
    """One `?` axis of an input."""

    __slots__ = ("name", "key")
    weight = period = degree = 1

    def __init__(self, name: str):
        self.name = self.key = name

    def value(self, values) -> int:
        return values[self.name]

    def names(self) -> set[str]:
        return {self.name}

    def text(self) -> str:
        return self.name

    def __eq__(self, other):
        return isinstance(other, (Symbol, Floor)) and other.key == self.key

    def __hash__(self):
        return hash(self.key)


class Floor:
    """`floor(P/d)`: P a Size whose coefficients lie in 1..d−1 and whose constant in 0..d−1."""

    __slots__ = ("num", "den", "key", "weight", "period", "degree")

    def __init__(self, num: Size, den: int):
        self.num, self.den = num, den
        self.key = f"floor({num.key}/{den})"
        self.weight = 1 + num.weight
        self.period = den * num.period  # P(r + period·t) − P(r) is a multiple of den
        self.degree = num.degree

    def value(self, values) -> int:
        return self.num.value(values) // self.den

    def names(self) -> set[str]:
        return self.num.names()

    def text(self) -> str:
        constant = self.num.constant
        if constant == self.den - 1:
            return f"ceil({_operand(self.num - constant)}/{self.den})"
        return f"floor({_operand(self.num)}/{self.den})"

    def __eq__(self, other):
        return isinstance(other, (Symbol, Floor)) and other.key == self.key

    def __hash__(self):
        return hash(self.key)


def _operand(size) -> str:
    text = size.text() if isinstance(size, Size) else str(size)
    return f"({text})" if isinstance(size, Size) and len(size.terms) > 1 else text


def _monomial_key(monomial: tuple) -> tuple:
    """Higher degrees first, then symbols before floors: `h - floor(h/2)`."""
    return (-sum(atom.degree for atom in monomial), tuple((isinstance(atom, Floor), atom.key) for atom in monomial))


def _make(poly: dict) -> int | Size:
    """The canonical Size (or int) of a polynomial {monomial: coefficient}."""
    terms = tuple(sorted(((m, c) for m, c in poly.items() if c), key=lambda mc: _monomial_key(mc[0])))
    if not terms:
        return 0
    if len(terms) == 1 and terms[0][0] == ():
        return terms[0][1]
    return Size(terms)


def _poly(value) -> dict:
    if isinstance(value, Size):
        return dict(value.terms)
    if isinstance(value, int) and not isinstance(value, bool):
        return {(): value} if value else {}
    raise Undecided(f"not a whole number: {value!r}")


def _add(a: dict, b: dict, sign: int = 1) -> dict:
    out = dict(a)
    for m, c in b.items():
        out[m] = out.get(m, 0) + sign * c
    return out


def _times(a: dict, b: dict) -> dict:
    out: dict = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            m = tuple(sorted(ma + mb, key=lambda atom: atom.key))
            out[m] = out.get(m, 0) + ca * cb
    return out


def _floor(poly: dict, d: int) -> int | Size:
    """floor(P/d) in canonical form (see the module's docstring)."""
    if d == 1:
        return _make(poly)
    whole, rest = {}, {}
    for m, c in poly.items():
        q, r = divmod(c, d)
        if q:
            whole[m] = q
        if r:
            rest[m] = r
    constant = rest.pop((), 0)
    if not rest:  # 0 ≤ constant < d
        return _make(whole)
    sign = 1
    # floor(R/d) = Σm − floor(R'/d), R' with the coefficients d − r and constant d − 1 − c:
    # the form with the smaller coefficients is kept, so ceil(n/3) written −floor(−n/3) is floor((n + 2)/3)
    if sum(d - c for c in rest.values()) < sum(rest.values()):
        for m in rest:
            whole[m] = whole.get(m, 0) + 1
        rest = {m: d - c for m, c in rest.items()}
        constant, sign = d - 1 - constant, -1
    g = math.gcd(d, constant, *rest.values())
    if g > 1:
        rest, constant, d = {m: c // g for m, c in rest.items()}, constant // g, d // g
    if len(rest) == 1:
        ((m, c),) = rest.items()
        if c == 1 and len(m) == 1 and isinstance(m[0], Floor):  # floor((floor(P/e) + c)/d) = floor((P + c·e)/(e·d))
            inner = m[0]
            nested = _add(dict(inner.num.terms), {(): constant * inner.den})
            return _make(_add(whole, _poly(_floor(nested, inner.den * d)), sign))
    if constant:
        rest[()] = constant
    numerator = _make(rest)
    atom = Floor(numerator, d)
    if atom.weight > MAX_SIZE_WEIGHT:
        raise Undecided("this size's expression is too long")
    return _make(_add(whole, {(atom,): sign}))


class Size:
    """A size that depends on `?` axes; never a constant (that is an int)."""

    __slots__ = ("terms", "weight", "_key")

    def __init__(self, terms: tuple):
        self.terms = terms
        self._key = None
        self.weight = sum(1 + sum(a.weight for a in m) for m, _ in terms)
        if self.weight > MAX_SIZE_WEIGHT:
            raise Undecided("this size's expression is too long")

    # worked out when asked: inference makes many sizes (a conv's MACs, h·w·c) that are never compared

    @property
    def key(self) -> str:
        if self._key is None:
            self._key = "+".join(f"{c}*{'*'.join(a.key for a in m)}" for m, c in self.terms)
        return self._key

    @property
    def period(self) -> int:
        return math.lcm(*(a.period for m, _ in self.terms for a in m))

    @property
    def degree(self) -> int:
        return max(sum(a.degree for a in m) for m, _ in self.terms)

    @classmethod
    def symbol(cls, name: str) -> Size:
        return cls((((Symbol(name),), 1),))

    @property
    def constant(self) -> int:
        return self.terms[-1][1] if self.terms[-1][0] == () else 0

    def names(self) -> set[str]:
        return {name for m, _ in self.terms for a in m for name in a.names()}

    def value(self, values) -> int:
        """The size at these symbol values ({name: int})."""
        total = 0
        for m, c in self.terms:
            for atom in m:
                c *= atom.value(values)
            total += c
        return total

    def text(self) -> str:
        """`floor(h/2)`, `2·h + 1`, `ceil(w/3) − 1`: products with `·`, floor and ceil by name."""
        out = ""
        for m, c in self.terms:
            body = "·".join(atom.text() for atom in m)
            magnitude = abs(c)
            part = body if m and magnitude == 1 else f"{magnitude}·{body}" if m else str(magnitude)
            if not out:
                out = ("-" if c < 0 else "") + part
            else:
                out += (" - " if c < 0 else " + ") + part
        return out

    __str__ = text

    def __repr__(self):
        return f"Size({self.text()})"

    # arithmetic: every result is canonical again

    def __add__(self, other):
        return _make(_add(dict(self.terms), _poly(other)))

    __radd__ = __add__

    def __sub__(self, other):
        return _make(_add(dict(self.terms), _poly(other), -1))

    def __rsub__(self, other):
        return _make(_add(_poly(other), dict(self.terms), -1))

    def __neg__(self):
        return _make({m: -c for m, c in self.terms})

    def __pos__(self):
        return self

    def __mul__(self, other):
        if type(other) is int and other:  # the order of the terms stays: no sorting
            return Size(tuple((m, c * other) for m, c in self.terms))
        return _make(_times(dict(self.terms), _poly(other)))

    __rmul__ = __mul__

    def __floordiv__(self, other):
        if not isinstance(other, int) or isinstance(other, bool) or other < 1:
            raise Undecided("division by a size")
        return _floor(dict(self.terms), other)

    def __rfloordiv__(self, other):
        raise Undecided("division by a size")

    def __mod__(self, other):
        return self - other * (self // other)

    def __truediv__(self, other):
        raise Undecided("a fraction of a size")

    __rtruediv__ = __rmod__ = __pow__ = __rpow__ = __truediv__

    # a comparison is answered only when it holds for every size

    def _decide(self, other, test):
        difference = self - other
        if isinstance(difference, int):
            return test(difference)
        raise Undecided("the answer depends on the size")

    def __lt__(self, other):
        return self._decide(other, lambda d: d < 0)

    def __le__(self, other):
        return self._decide(other, lambda d: d <= 0)

    def __gt__(self, other):
        return self._decide(other, lambda d: d > 0)

    def __ge__(self, other):
        return self._decide(other, lambda d: d >= 0)

    def __bool__(self):
        raise Undecided("the answer depends on the size")

    def __index__(self):
        raise Undecided("a size used as a number")

    __int__ = __float__ = __index__

    def __eq__(self, other):
        return isinstance(other, Size) and other.key == self.key

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.key)


def is_symbolic(value) -> bool:
    return isinstance(value, Size)


def ceil_div(n, s: int):
    """ceil(n/s) for an int or a Size, in the canonical form floor((n + s − 1)/s)."""
    return (n + s - 1) // s


def text(value) -> str:
    """A size as the views write it: `224`, `h`, `floor(h/2)`; `?` for one without an expression."""
    if value is None:
        return "?"
    return value.text() if isinstance(value, Size) else str(value)


SPATIAL_NAMES = {1: ("n",), 2: ("h", "w"), 3: ("d", "h", "w")}


def input_symbols(shape, index: int) -> tuple:
    """The symbols of an input's `?` axes: `h` and `w` for an image's height and width, `n` for a
    sequence's length, `d` `h` `w` for a volume's, `c` for the last axis; the second input's are
    `h2`, `w2`, the third's `h3`... Known axes stay ints."""
    spatial = SPATIAL_NAMES.get(len(shape) - 1, tuple(f"a{i + 1}" for i in range(len(shape) - 1)))
    names = (*spatial, "c")
    suffix = "" if index == 0 else str(index + 1)
    return tuple(Size.symbol(names[i] + suffix) if n is None else n for i, n in enumerate(shape))


# Comparing two sizes


class Condition:
    """Sizes of some symbols, as residues modulo a modulus: `h ≡ 0 mod 2`."""

    __slots__ = ("names", "modulus", "residues")

    def __init__(self, names: tuple[str, ...], modulus: int, residues: frozenset):
        self.names, self.modulus, self.residues = names, modulus, residues
        self._simplify()

    def _simplify(self) -> None:
        """The smallest modulus that says the same: `h mod 4 ∈ {0, 2}` is `h ≡ 0 mod 2`."""
        k = len(self.names)
        for m in range(1, self.modulus):
            if self.modulus % m or len(self.residues) % (self.modulus // m) ** k:
                continue
            reduced = frozenset(tuple(r % m for r in rs) for rs in self.residues)
            if len(reduced) * (self.modulus // m) ** k == len(self.residues):
                self.modulus, self.residues = m, reduced
                return

    def holds(self, values) -> bool:
        return tuple(values[name] % self.modulus for name in self.names) in self.residues

    def text(self) -> str:
        residues = sorted(self.residues)
        if len(self.names) == 1:
            name = self.names[0]
            if len(residues) == 1:
                return f"{name} ≡ {residues[0][0]} mod {self.modulus}"
            return f"{name} mod {self.modulus} ∈ {{{', '.join(str(r[0]) for r in residues)}}}"
        names = ", ".join(self.names)
        return f"({names}) mod {self.modulus} ∈ {{{', '.join('(' + ', '.join(map(str, r)) + ')' for r in residues)}}}"

    __str__ = text

    def __repr__(self):
        return f"Condition({self.text()})"

    def __eq__(self, other):
        return isinstance(other, Condition) and (other.names, other.modulus, other.residues) == (
            self.names,
            self.modulus,
            self.residues,
        )

    def __hash__(self):
        return hash((self.names, self.modulus, self.residues))

    def both(self, other: Condition) -> Condition:
        """The sizes both allow (maybe none: an empty set of residues)."""
        names = tuple(sorted(set(self.names) | set(other.names)))
        modulus = math.lcm(self.modulus, other.modulus)
        if modulus ** len(names) > MAX_SIZE_MODULUS:
            raise Undecided("these conditions together are too long to list")
        residues = frozenset(
            rs
            for rs in product(range(modulus), repeat=len(names))
            if self.holds(dict(zip(names, rs))) and other.holds(dict(zip(names, rs)))
        )
        return Condition(names, modulus, residues)


class Tie:
    """Symbols of different inputs run at one size: `n = n2`, what `add(@a; @b)` of two `?x8` inputs needs."""

    __slots__ = ("names",)
    modulus = 1

    def __init__(self, names: tuple[str, ...]):
        self.names = names

    def holds(self, values) -> bool:
        return len({values[name] for name in self.names}) == 1

    def text(self) -> str:
        return " = ".join(self.names)

    __str__ = text

    def __eq__(self, other):
        return isinstance(other, Tie) and other.names == self.names

    def __hash__(self):
        return hash(self.names)


class Agreement:
    """What `compare` finds: `equal` for every size, under a `condition`, or `different`
    (at every size but perhaps a few, listed in `points`); `tied` when the sizes agree once the
    symbols `tie` are one size (and under `condition`, if any); `relation` when they agree only on
    another relation between symbols (`h = h2 + 2`); `unknown` past the bounds."""

    __slots__ = ("kind", "condition", "points", "tie")

    def __init__(self, kind: str, condition: Condition | None = None, points: tuple = (), tie: Tie | None = None):
        self.kind, self.condition, self.points, self.tie = kind, condition, points, tie

    def __repr__(self):
        return f"Agreement({self.kind}, {self.condition}, {self.points})"


EQUAL = Agreement("equal")
UNKNOWN = Agreement("unknown")


def compare(a, b) -> Agreement:
    """Whether sizes `a` and `b` (ints or Sizes) agree, and for which sizes of their symbols."""
    if a is None or b is None:
        return UNKNOWN
    try:
        difference = a - b
    except Undecided:
        return UNKNOWN
    if isinstance(difference, int):
        return EQUAL if difference == 0 else Agreement("different")
    found = _COMPARED.get(difference.key)
    if found is None:
        if len(_COMPARED) >= 4096:  # bounded: a repeated block compares the same sizes in every round
            _COMPARED.clear()
        found = _COMPARED[difference.key] = _compare(difference)
    return found


_COMPARED: dict[str, Agreement] = {}


def _compare(difference: Size) -> Agreement:
    names = tuple(sorted(difference.names()))
    period, degree, k = difference.period, difference.degree, len(names)
    grid = list(product(range(1, degree + 2), repeat=k))
    if period**k * len(grid) * difference.weight > MAX_SIZE_CHECKS * 10:
        return UNKNOWN
    agreeing = frozenset(
        r
        for r in product(range(period), repeat=k)
        if all(difference.value({n: ri + period * ti for n, ri, ti in zip(names, r, t)}) == 0 for t in grid)
    )
    if len(agreeing) == period**k:
        return EQUAL
    if not agreeing:
        if k == 1:  # a polynomial on each class, zero on none: zero at a few sizes at most, listed for the hint
            return Agreement("different", points=tuple(n for n in range(1, 65) if difference.value({names[0]: n}) == 0))
        if all(_constant_on(difference, names, period, r, grid) for r in product(range(period), repeat=k)):
            return Agreement("different")  # `h2 - 1` against `h2`: a nonzero constant on every class
        # `n` against `n2` agree wherever n = n2: a relation between symbols, not a residue. The one
        # kept is that they are one size (two inputs of one kind of image); any other is refused
        try:
            alike = compare(substitute(difference, dict.fromkeys(names, names[0])), 0)
        except Undecided:
            return UNKNOWN
        if alike.kind == "equal" or alike.kind == "condition":
            return Agreement("tied", alike.condition, tie=Tie(names))
        return Agreement("relation") if alike.kind == "different" else UNKNOWN
    return Agreement("condition", Condition(names, period, agreeing))


def substitute(value, names: dict):
    """`value` with each symbol renamed as `names` says (`n2` to `n`), in canonical form again."""
    if not isinstance(value, Size):
        return value
    total = 0
    for monomial, coefficient in value.terms:
        term = coefficient
        for atom in monomial:
            if isinstance(atom, Symbol):
                term = term * Size.symbol(names.get(atom.name, atom.name))
            else:
                term = term * (substitute(atom.num, names) // atom.den)
        total = total + term
    return total


def _constant_on(difference: Size, names, period: int, residues, grid) -> bool:
    values = {difference.value({n: ri + period * ti for n, ri, ti in zip(names, residues, t)}) for t in grid}
    return len(values) == 1


def choose(names, conditions, at_least: int, fits=None, tries: int = 256, spread: bool = False) -> dict | None:
    """Sizes for the symbols `names` that meet every condition (and `fits`, a test of the whole assignment):
    one size for all, the smallest from `at_least` up (sizes compared as tied, `n` and `n2`, then agree),
    else each its own; a size too small for some layer is raised by the conditions' modulus, up to `tries`
    times. None when none is found. `spread` gives each group of tied symbols its own size first, from
    `at_least` + its index times its conditions' modulus up (h ≠ w: an image that is not square)."""
    conditions = list(conditions)
    modulus = math.lcm(*(c.modulus for c in conditions)) if conditions else 1
    if spread and not any(len(c.names) > 1 and not isinstance(c, Tie) for c in conditions):
        found = _spread(names, conditions, at_least, fits, tries, modulus)
        if found is not None:
            return found

    def raised(values):
        for i in range(tries):
            trial = {name: values[name] + i * modulus for name in names}
            if fits is None or fits(trial):
                return trial
        return None

    if modulus <= MAX_SIZE_MODULUS:
        for value in range(at_least, at_least + modulus):  # every residue of one size for all
            values = dict.fromkeys(names, value)
            if all(c.holds(values) for c in conditions):
                return raised(values)
    values = {name: at_least for name in names}
    for name in names:  # one symbol's conditions on their own: the first of their residues from at_least up
        lone = [c for c in conditions if c.names == (name,)]
        own = math.lcm(*(c.modulus for c in lone)) if lone else 1
        for value in range(at_least, at_least + min(own, MAX_SIZE_MODULUS)):
            values[name] = value
            if all(c.holds(values) for c in lone):
                break
        else:
            return None
    cross = [c for c in conditions if len(c.names) > 1]
    if cross:  # conditions across symbols: the first residues that meet them all
        for count, offset in enumerate(product(range(modulus), repeat=len(names))):
            if count >= tries * tries:
                return None
            trial = {name: at_least + o for name, o in zip(names, offset)}
            if all(c.holds(trial) for c in conditions):
                values = trial
                break
        else:
            return None
    return raised(values)


def _spread(names, conditions, at_least: int, fits, tries: int, modulus: int) -> dict | None:
    group = {name: name for name in names}  # tied symbols, each group under its first name

    def root(name):
        while group[name] != name:
            name = group[name]
        return name

    for tie in (c for c in conditions if isinstance(c, Tie)):
        for name in tie.names[1:]:
            group[root(name)] = root(tie.names[0])
    roots = list(dict.fromkeys(root(name) for name in names))
    values: dict[str, int] = {}
    for index, first in enumerate(roots):
        members = [name for name in names if root(name) == first]
        own = [c for c in conditions if not isinstance(c, Tie) and set(c.names) <= set(members)]
        step = math.lcm(*(c.modulus for c in own)) if own else 1
        start = at_least + index * step  # past the earlier groups' residue, so that their sizes differ
        for value in range(start, start + min(step, MAX_SIZE_MODULUS)):
            trial = dict.fromkeys(members, value)
            if all(c.holds(trial) for c in own):
                values.update(trial)
                break
        else:
            return None
    for i in range(tries):
        trial = {name: values[name] + i * modulus for name in names}
        if fits is None or fits(trial):
            return trial
    return None
