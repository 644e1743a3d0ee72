"""The region-filter language: ``"area > 10 and not bbox-0 == 0"``, parsed without ``eval``.

A condition compares measurement columns with numbers (``<``, ``<=``, ``>``, ``>=``,
``==``, ``!=``) joined by ``and``, ``or``, ``not`` and parentheses. :func:`parse_where`
turns it into a small tree of tuples; :func:`evaluate` applies it to columns.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..errors import InvalidParameterError

_TOKEN = re.compile(
    r"\s*(?:(?P<num>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf\b)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:-\d+)*)"
    r"|(?P<op><=|>=|==|!=|<|>)"
    r"|(?P<paren>[()]))"
)
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_COMPARE = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


def _tokenize(where: str) -> list[tuple[str, str, int]]:
    tokens = []
    pos = 0
    while pos < len(where):
        if not where[pos:].strip():
            break
        m = _TOKEN.match(where, pos)
        if m is None or m.end() == pos:
            start = len(where) - len(where[pos:].lstrip())
            raise InvalidParameterError(
                f"where must be a condition like 'area > 10'; got {where!r}: "
                f"unexpected {where[start]!r} at position {start}."
            )
        kind = m.lastgroup
        text = m.group(kind)
        if kind == "name" and text in ("and", "or", "not", "inf", "nan"):
            kind = "num" if text in ("inf", "nan") else text
        tokens.append((kind, text, m.start(m.lastgroup)))
        pos = m.end()
    return tokens


class _Parser:
    """Recursive descent over the tokens of a ``where`` condition.

    ``or_ := and_ ('or' and_)*``; ``and_ := not_ ('and' not_)*``;
    ``not_ := 'not' not_ | '(' or_ ')' | operand OP operand`` (a column and a number).
    """

    def __init__(self, where: str) -> None:
        self.where = where
        self.tokens = _tokenize(where)
        self.i = 0

    def fail(self, what: str) -> InvalidParameterError:
        if self.i < len(self.tokens):
            _, text, pos = self.tokens[self.i]
            at = f"unexpected {text!r} at position {pos}"
        else:
            at = "unexpected end"
        return InvalidParameterError(
            f"where must be a condition like 'area > 10 and extent < 0.5'; got "
            f"{self.where!r}: {at}, expected {what}."
        )

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> tuple:
        node = self.or_()
        if self.i != len(self.tokens):
            raise self.fail("'and', 'or' or the end")
        return node

    def or_(self) -> tuple:
        node = self.and_()
        while self.peek() == "or":
            self.take()
            node = ("or", node, self.and_())
        return node

    def and_(self) -> tuple:
        node = self.not_()
        while self.peek() == "and":
            self.take()
            node = ("and", node, self.not_())
        return node

    def not_(self) -> tuple:
        kind = self.peek()
        if kind == "not":
            self.take()
            return ("not", self.not_())
        if kind == "paren" and self.tokens[self.i][1] == "(":
            self.take()
            node = self.or_()
            if self.peek() != "paren" or self.tokens[self.i][1] != ")":
                raise self.fail("')'")
            self.take()
            return node
        left = self.operand()
        if self.peek() != "op":
            raise self.fail("a comparison operator (<, <=, >, >=, ==, !=)")
        op = self.take()[1]
        right = self.operand()
        if left[0] == right[0]:
            self.i -= 1
            raise self.fail("one column name and one number")
        if left[0] == "num":
            left, right, op = right, left, _FLIP[op]
        return ("cmp", left[1], op, float(right[1]))

    def operand(self) -> tuple[str, str]:
        if self.peek() not in ("name", "num"):
            raise self.fail("a column name or a number")
        kind, text, _ = self.take()
        return kind, text


def parse_where(where: Any) -> tuple:
    """Parse a region filter into a tree of nodes; nothing is evaluated (no ``eval``).

    Nodes are ``("or"|"and", a, b)``, ``("not", a)`` and ``("cmp", column, op, number)``.
    """
    if not isinstance(where, str) or not where.strip():
        raise InvalidParameterError(
            f"where must be a non-empty condition like 'area > 10'; got {where!r}."
        )
    return _Parser(where).parse()


def where_columns(node: tuple) -> set[str]:
    """Return the column names a parsed condition compares."""
    if node[0] == "cmp":
        return {node[1]}
    return set().union(*(where_columns(n) for n in node[1:]))


def evaluate(node: tuple, frame) -> np.ndarray:
    """Evaluate a parsed condition on ``frame`` (a mapping of columns); one bool per row."""
    kind = node[0]
    if kind == "cmp":
        return _COMPARE[node[2]](np.asarray(frame[node[1]]), node[3])
    if kind == "not":
        return ~evaluate(node[1], frame)
    a, b = evaluate(node[1], frame), evaluate(node[2], frame)
    return (a & b) if kind == "and" else (a | b)
