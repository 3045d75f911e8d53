"""mockserver.records.dataclass: the standard library's dataclass with shared `__repr__`, `__eq__` and
`__hash__` instead of compiled ones; every answer the same as the standard library's."""

from __future__ import annotations

import dataclasses

import pytest

from mockserver import records


def _pair(frozen: bool):
    """The same class made by both decorators."""
    made = []
    for decorate in (dataclasses.dataclass, records.dataclass):
        @decorate(frozen=frozen)
        class Item:
            name: str
            size: int = 1
            tags: list = dataclasses.field(default_factory=list)
            secret: str = dataclasses.field(default="s", repr=False)
            noise: int = dataclasses.field(default=0, compare=False)
            kind: str = dataclasses.field(default="k", hash=False)

        made.append(Item)
    return made


def _hashed(value):
    try:
        return hash(value)
    except TypeError as error:  # a list field
        return str(error)


VALUES = [("a",), ("a", 2), ("a", 2, ["x"]), ("a", 2, [], "t"), ("a", 2, [], "s", 5), ("a", 2, [], "s", 0, "j"),
          ("b",), (1.0, True)]


@pytest.mark.parametrize("frozen", [False, True])
def test_the_same_repr_equality_and_hash_as_the_standard_librarys(frozen):
    standard, ours = _pair(frozen)
    for one in VALUES:
        for other in VALUES:
            left, right = standard(*one), standard(*other)
            mine, theirs = ours(*one), ours(*other)
            assert repr(mine) == repr(left).replace(standard.__qualname__, ours.__qualname__)
            assert (mine == theirs) == (left == right) and (mine != theirs) == (left != right)
            if frozen:
                assert _hashed(mine) == _hashed(left)
    assert ours("a").__eq__(standard("a")) is NotImplemented and ours("a") != ("a", 1)
    if frozen:
        with pytest.raises(dataclasses.FrozenInstanceError):
            ours("a").name = "b"
        assert hash(ours("a", 1, (), "x", 9, "other")) == hash(ours("a", 1, (), "x", 0, "k"))  # not hashed
    else:
        with pytest.raises(TypeError, match="unhashable"):
            hash(ours("a"))
    assert dataclasses.replace(ours("a"), size=3) == ours("a", 3)
    assert [f.name for f in dataclasses.fields(ours)] == [f.name for f in dataclasses.fields(standard)]


def test_a_recursive_repr_and_an_own_repr_are_kept():
    @records.dataclass
    class Node:
        children: list

    @records.dataclass(frozen=True)
    class Named:
        name: str

        def __repr__(self) -> str:
            return f"<{self.name}>"

    node = Node([])
    node.children.append(node)
    assert repr(node) == "test_a_recursive_repr_and_an_own_repr_are_kept.<locals>.Node(children=[...])"
    assert repr(Named("x")) == "<x>" and Named("x") == Named("x") and hash(Named("x")) == hash(("x",))


def test_order_and_slots_are_the_standard_librarys():
    @records.dataclass(frozen=True, order=True)
    class Key:
        a: int

    @records.dataclass(slots=True)
    class Slim:
        a: int

    assert Key(1) < Key(2) and Key.__dataclass_params__.order and Slim.__slots__ == ("a",)
