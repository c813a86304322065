"""The search grammar of Data Catalog, parsed into a tree; a malformed query is a 400 with its position.

::

    query   := clauses                       (implicit AND between clauses; AND may be written)
    clauses := either (["AND"] either)*
    either  := unary ("OR" unary)*           (OR binds tighter than AND, as in Google's filters)
    unary   := ("NOT" | "-") unary | "(" clauses ")" | term
    term    := word | qualifier OP value

Qualifiers: ``name:``, ``column:``, ``description:`` (token prefixes), ``type=``, ``system=``,
``parent:`` (an entry group id), ``label.KEY:VALUE`` (or ``=``), ``createtime`` and ``updatetime``
with ``= < > <= >=`` (``:`` is ``=``), ``tag:TEMPLATE``, ``tag:TEMPLATE.FIELD`` (has the field) and
``tag:TEMPLATE.FIELD OP VALUE`` with the operators of the field's type (checked by ``search``). Values
may be quoted (``"model training"``). Keywords and qualifier names are case-insensitive.

Hand-written: a recursive-descent parser of a few dozen lines, which keeps the positions that the
errors need; no parsing library knows this grammar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from threadline.errors import BadRequest
from threadline.projection.catalog import parse_timestamp, tokens

OPERATORS = ("<=", ">=", ":", "=", "<", ">")
TEXT_KEYS = ("name", "column", "description")
EXACT_KEYS = ("type", "system", "parent")
TIME_KEYS = ("createtime", "updatetime")
MAX_QUERY = 2000


class QueryError(BadRequest):
    """A malformed query: ``position`` is the 0-based offset of the error in the query."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"query error at position {position + 1}: {message}")
        self.position = position


@dataclass(frozen=True)
class Text:
    """Free text, or a text qualifier (``field`` ``name``/``column``/``description``; ``None``: any)."""

    field: str | None
    words: tuple[str, ...]
    position: int


@dataclass(frozen=True)
class Exact:
    """``type=``, ``system=``, ``parent:`` or ``label.KEY=``: equality (case-insensitive but parent)."""

    field: str
    value: str
    position: int


@dataclass(frozen=True)
class Time:
    """``createtime``/``updatetime`` compared with a period ``[start, end)`` in microseconds."""

    field: str
    op: str
    start: int
    end: int
    position: int


@dataclass(frozen=True)
class TagTerm:
    """``tag:T``, ``tag:T.F`` or ``tag:T.F OP VALUE`` (the value checked once the field's type is known)."""

    template: str
    field: str | None
    op: str | None
    value: str | None
    position: int


@dataclass(frozen=True)
class Not:
    """``NOT x`` or ``-x``."""

    child: Node


@dataclass(frozen=True)
class And:
    """All of ``children``."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Any of ``children``."""

    children: tuple[Node, ...]


Node = Text | Exact | Time | TagTerm | Not | And | Or


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "word", "and", "or", "not"
    text: str
    position: int
    raw: str = ""


def _lex(query: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
            continue
        if char in "()":
            out.append(_Token(char, char, i))
            i += 1
            continue
        if char == "-" and i + 1 < n and not query[i + 1].isspace() and query[i + 1] != ")":
            out.append(_Token("not", "-", i))
            i += 1
            continue
        start = i
        parts: list[str] = []
        while i < n and not query[i].isspace() and query[i] not in "()":
            if query[i] == '"':
                end = query.find('"', i + 1)
                if end < 0:
                    raise QueryError("a quote opens here that no quote closes", i)
                parts.append(query[i + 1 : end])
                i = end + 1
            else:
                parts.append(query[i])
                i += 1
        text = "".join(parts)
        raw = query[start:i]
        keyword = raw.upper() if raw in ("AND", "OR", "NOT", "and", "or", "not") else ""
        kind = {"AND": "and", "OR": "or", "NOT": "not"}.get(keyword, "word")
        out.append(_Token(kind, text if kind == "word" else raw, start, raw))
    return out


_QUALIFIER = re.compile(r"([A-Za-z][A-Za-z_]*(?:\.[^:=<>\s]+)?)(<=|>=|:|=|<|>)(.*)", re.DOTALL)
_TAG = re.compile(
    r"([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?(?:(<=|>=|:|=|<|>)(.*))?", re.DOTALL
)


def period(text: str, position: int) -> tuple[int, int]:
    """The period a date names, ``[start, end)`` in microseconds: ``2010``, ``2010-10``,
    ``2010-10-22`` (or with ``/``), or a full RFC 3339 time (a period of one microsecond)."""
    value = text.strip().replace("/", "-")
    parts = value.split("-")
    try:
        if re.fullmatch(r"\d{4}", value):
            year = int(value)
            return _micros(year, 1, 1), _micros(year + 1, 1, 1)
        if re.fullmatch(r"\d{4}-\d{1,2}", value):
            year, month = int(parts[0]), int(parts[1])
            after = (year + 1, 1) if month == 12 else (year, month + 1)
            return _micros(year, month, 1), _micros(*after, 1)
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", value):
            start = _micros(int(parts[0]), int(parts[1]), int(parts[2]))
            return start, start + 86_400_000_000
        moment = parse_timestamp(value)
        return moment, moment + 1
    except ValueError:
        raise QueryError(
            f"{text!r} is not a date (2010, 2010-10, 2010-10-22 or an RFC 3339 time)", position
        ) from None


def _micros(year: int, month: int, day: int) -> int:
    return parse_timestamp(datetime(year, month, day, tzinfo=UTC).isoformat())


def _term(token: _Token) -> Node:
    text, at = token.text, token.position
    match = _QUALIFIER.fullmatch(token.raw)  # a quoted word is text, whatever it holds
    if match is not None:
        text = match.group(1) + match.group(2) + match.group(3).replace('"', "")
        match = _QUALIFIER.fullmatch(text)
    if match is None:
        words = tuple(tokens(text))
        if not words:
            raise QueryError(f"{text!r} has no letters or digits to search for", at)
        return Text(None, words, at)
    key, op, value = match.group(1), match.group(2), match.group(3)
    lowered = key.lower()
    value_at = at + len(key) + len(op)
    if lowered == "tag":
        return _tag(value, op, value_at)
    if not value:
        raise QueryError(f"{key}{op} needs a value", value_at)
    if lowered in TEXT_KEYS:
        if op != ":":
            raise QueryError(f"{key} takes ':' (a token match), not {op!r}", at + len(key))
        words = tuple(tokens(value))
        if not words:
            raise QueryError(f"{value!r} has no letters or digits to search for", value_at)
        return Text(lowered, words, at)
    if lowered in EXACT_KEYS:
        if op not in (":", "="):
            raise QueryError(f"{key} takes '=' (or ':'), not {op!r}", at + len(key))
        return Exact(lowered, value, at)
    if lowered.startswith("label."):
        if op not in (":", "="):
            raise QueryError(f"a label takes ':' or '=', not {op!r}", at + len(key))
        return Exact("label", f"{key[6:].lower()}={value.lower()}", at)
    if lowered in TIME_KEYS:
        start, end = period(value, value_at)
        return Time(lowered, "=" if op == ":" else op, start, end, at)
    known = ", ".join((*TEXT_KEYS, *EXACT_KEYS, "label.KEY", *TIME_KEYS, "tag"))
    raise QueryError(
        f"unknown qualifier {key!r} (known: {known}); quote the word to search for it as text", at
    )


def _tag(value: str, op: str, at: int) -> TagTerm:
    if op != ":":
        raise QueryError("tag takes ':' (tag:TEMPLATE.FIELD=VALUE)", at - 1)
    match = _TAG.fullmatch(value)
    if match is None:
        raise QueryError(f"{value!r} is not TEMPLATE, TEMPLATE.FIELD or TEMPLATE.FIELD<op>VALUE", at)
    template, field, field_op, field_value = match.groups()
    if field_op is not None and field is None:
        raise QueryError("a value needs a field: tag:TEMPLATE.FIELD<op>VALUE", at + len(template))
    if field_op is not None and not field_value:
        raise QueryError(f"tag:{template}.{field}{field_op} needs a value", at + len(value))
    return TagTerm(template, field, field_op, field_value, at)


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _lex(query)
        self.i = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def clauses(self, closing: bool) -> Node:
        children: list[Node] = []
        while True:
            token = self.peek()
            if token is None or token.kind == ")":
                break
            if token.kind == "and":
                if not children:
                    raise QueryError("AND needs something before it", token.position)
                self.take()
                following = self.peek()
                if following is None or following.kind in (")", "and", "or"):
                    raise QueryError("AND needs something after it", token.position)
                continue
            children.append(self.either())
        token = self.peek()
        if token is not None and not closing:
            raise QueryError("a ) closes no (", token.position)
        if not children:
            position = token.position if token is not None else len(self.query)
            raise QueryError("expected a search term", position)
        return children[0] if len(children) == 1 else And(tuple(children))

    def either(self) -> Node:
        children = [self.unary()]
        while (token := self.peek()) is not None and token.kind == "or":
            self.take()
            following = self.peek()
            if following is None or following.kind in (")", "and", "or"):
                raise QueryError("OR needs something after it", token.position)
            children.append(self.unary())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def unary(self) -> Node:
        token = self.take()
        if token.kind == "not":
            following = self.peek()
            if following is None or following.kind in (")", "and", "or"):
                raise QueryError(f"{token.text} needs something after it", token.position)
            return Not(self.unary())
        if token.kind == "(":
            inner = self.clauses(closing=True)
            closing = self.peek()
            if closing is None:
                raise QueryError("this ( is never closed", token.position)
            self.take()
            return inner
        if token.kind == "or":
            raise QueryError("OR needs something before it", token.position)
        return _term(token)


def parse(query: str) -> Node:
    """The tree of ``query``; a :class:`QueryError` (400) naming the position of what is wrong."""
    if len(query) > MAX_QUERY:
        raise QueryError(f"a query is at most {MAX_QUERY} characters", MAX_QUERY)
    if not query.strip():
        raise QueryError("the query is empty: give words or qualifiers such as type=TABLE", 0)
    return _Parser(query).clauses(closing=False)
