"""`dataclass`: the standard library's, with less code compiled when a class is made.

`dataclasses.dataclass` writes each method it adds as Python source and compiles it, ~1M instructions
a method: a frozen class gets six (`__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__`,
`__delattr__`), and the package's 33 classes were ~18% of a start's instructions. Here `__repr__`,
`__eq__` and `__hash__` are shared functions reading the fields' values, with the same results as the
generated ones (tests/test_records.py holds them to it); only `__init__` (and a frozen class's guards)
are compiled. `order=True` and `slots=True` go to the standard library unchanged.
"""

from __future__ import annotations

import dataclasses
import reprlib
from operator import attrgetter
from typing import Any


def dataclass(cls: type | None = None, /, *, frozen: bool = False, order: bool = False, slots: bool = False,
              **options: Any) -> Any:
    def wrap(cls: type) -> type:
        if order or slots or options:
            return dataclasses.dataclass(cls, frozen=frozen, order=order, slots=slots, **options)
        made = dataclasses.dataclass(cls, frozen=frozen, repr=False, eq=False)
        _share(made, frozen)
        return made

    return wrap if cls is None else wrap(cls)


def _values(names: list[str]) -> Any:
    """The fields' values as a tuple, as the generated methods build it."""
    if not names:
        return lambda self: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda self: (one(self),)
    return attrgetter(*names)


def _share(cls: type, frozen: bool) -> None:
    fields = dataclasses.fields(cls)
    shown = [(field.name, attrgetter(field.name)) for field in fields if field.repr]
    compared = _values([field.name for field in fields if field.compare])
    hashed = _values([field.name for field in fields if (field.compare if field.hash is None else field.hash)])

    if "__repr__" not in cls.__dict__:
        @reprlib.recursive_repr()
        def __repr__(self) -> str:
            return f"{self.__class__.__qualname__}({', '.join(f'{name}={value(self)!r}' for name, value in shown)})"

        __repr__.__qualname__ = f"{cls.__qualname__}.__repr__"
        cls.__repr__ = __repr__

    if "__eq__" not in cls.__dict__:
        def __eq__(self, other: Any) -> Any:
            if other.__class__ is self.__class__:
                return compared(self) == compared(other)
            return NotImplemented

        __eq__.__qualname__ = f"{cls.__qualname__}.__eq__"
        cls.__eq__ = __eq__

    if "__hash__" not in cls.__dict__:
        if frozen:  # as dataclass(eq=True, frozen=True): hashed by the compared fields' values
            def __hash__(self) -> int:
                return hash(hashed(self))

            __hash__.__qualname__ = f"{cls.__qualname__}.__hash__"
            cls.__hash__ = __hash__
        else:  # as dataclass(eq=True): mutable, so unhashable
            cls.__hash__ = None
