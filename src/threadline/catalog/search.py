"""Searching catalog entries: the parsed query (``query``) compiled to SQL over the full-text index
(SQLite FTS5 or PostgreSQL ``tsvector``) and the typed tag-value index, with ranking, paging and facet
counts; and the same query evaluated in Python over every entry (:func:`matches`), the brute-force
answer that tests and benchmarks hold the index to.

Every term has one meaning on both paths (full recall, no false hits):

* a word, ``name:``, ``column:``, ``description:``: each of its tokens is the start of a token of the
  field (of any of the three for a word). Tokens are runs of letters and digits, lower-cased;
* ``type=``/``system=``: equal, ignoring case; ``parent:`` an entry group id; ``label.K:V`` a label;
* ``createtime``/``updatetime`` against a period (``2024`` is the whole year): ``=`` within it,
  ``<`` before it, ``>=`` from its start, ``>`` after it, ``<=`` up to its end;
* ``tag:T`` a tag of template ``T`` on the entry or a column; ``tag:T.F`` with field ``F`` set;
  ``tag:T.F:words`` for STRING and RICHTEXT (tokens as for words), ``=`` for BOOL (``true``/``false``)
  and ENUM (ignoring case), ``= < > <= >=`` for DOUBLE and TIMESTAMP (``:`` too for a timestamp).
"""

from __future__ import annotations

import base64
import json
import math
import sys
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select, text

from threadline.catalog.query import And, Exact, Node, Not, Or, QueryError, TagTerm, Text, Time, parse, period
from threadline.openlineage.timestamps import format_time
from threadline.projection.catalog import column_paths, labels_text, token_text, tokens, typed_value
from threadline.projection.entry_templates import OTHER_BIT, places
from threadline.projection.propagation import downstream_fields
from threadline.store import schema

_objects = schema.catalog_objects
_propagated = schema.catalog_propagated
MAX_PAGE = 1000
DEFAULT_PAGE = 10
ORDERS = (
    "relevance",
    "last_modified_timestamp",
    "last_modified_timestamp desc",
    "last_modified_timestamp asc",
    "default",
)
TEXT_COLUMNS = {"name": "t_name", "description": "t_description", "column": "t_columns"}
_NUMBER_OPS = ("=", "<", ">", "<=", ">=")


def load_template_kinds(connection: Connection) -> dict[str, dict[str, str]]:
    """Each template's fields and their kinds (``DOUBLE`` … ``ENUM``)."""
    return _template_facts(connection).kinds


@dataclass(frozen=True)
class _TemplateFacts:
    """What search needs of the templates, from one read of them."""

    #: each live template's fields and their kinds
    kinds: dict[str, dict[str, str]]
    #: the fields that propagate downstream, of the live templates that have some (``downstream_fields``)
    propagating: dict[str, set[str]]
    #: each template's place in the entries' tag masks (``None``: no masks, too many templates)
    places: dict[str, int] | None


def _template_facts(connection: Connection) -> _TemplateFacts:
    """The templates' kinds, propagating fields and places in the masks, from one read of them."""
    rows = connection.execute(text("SELECT name, body, deleted FROM catalog_objects WHERE kind = 'template'"))
    kinds: dict[str, dict[str, str]] = {}
    propagating: dict[str, set[str]] = {}
    names = []
    for name, body, deleted in rows:
        names.append(name)
        if deleted:
            continue
        fields = json.loads(body).get("fields") or {}
        template = name.rsplit("/", 1)[-1]
        kinds[template] = {f: (v.get("type", {}).get("primitiveType") or "ENUM") for f, v in fields.items()}
        chosen = downstream_fields(fields)
        if chosen:
            propagating[template] = chosen
    return _TemplateFacts(kinds, propagating, places(names))


@dataclass(frozen=True)
class TagCheck:
    """A tag term resolved against its template: what to compare, and how."""

    template: str
    field: str | None
    kind: str | None
    op: str | None
    words: tuple[str, ...] = ()
    text: str | None = None
    low: float | None = None
    high: float | None = None


def resolve_tag(term: TagTerm, kinds: dict[str, dict[str, str]]) -> TagCheck:
    """Check a tag term against its template's field type; a :class:`QueryError` when it does not fit."""
    fields = kinds.get(term.template)
    if fields is None:
        raise QueryError(f"there is no tag template {term.template!r}", term.position)
    if term.field is None:
        return TagCheck(term.template, None, None, None)
    kind = fields.get(term.field)
    if kind is None:
        raise QueryError(
            f"the tag template {term.template!r} has no field {term.field!r} "
            f"(it has {', '.join(sorted(fields))})",
            term.position + len(term.template) + 1,
        )
    if term.op is None or term.value is None:
        return TagCheck(term.template, term.field, kind, None)
    at = term.position + len(term.template) + 1 + len(term.field)
    value = term.value
    if kind in ("STRING", "RICHTEXT"):
        if term.op != ":":
            raise QueryError(f"{term.field} is a {kind} field: use ':' (a token match)", at)
        words = tuple(tokens(value))
        if not words:
            raise QueryError(f"{value!r} has no letters or digits to search for", at + 1)
        return TagCheck(term.template, term.field, kind, ":", words=words)
    if kind in ("BOOL", "ENUM"):
        if term.op != "=":
            raise QueryError(f"{term.field} is a {kind} field: use '='", at)
        lowered = value.lower()
        if kind == "BOOL" and lowered not in ("true", "false"):
            raise QueryError(f"{term.field} is a BOOL field: compare with true or false", at + 1)
        return TagCheck(term.template, term.field, kind, "=", text=lowered)
    if kind == "DOUBLE":
        if term.op not in _NUMBER_OPS:
            raise QueryError(f"{term.field} is a DOUBLE field: use = < > <= or >=", at)
        try:
            number = float(value)
        except ValueError:
            raise QueryError(f"{value!r} is not a number", at + len(term.op)) from None
        if math.isnan(number):
            raise QueryError("NaN is not a number to compare with", at + len(term.op))
        return TagCheck(term.template, term.field, kind, term.op, low=number, high=number)
    start, end = period(value, at + len(term.op))
    op = "=" if term.op == ":" else term.op
    return TagCheck(term.template, term.field, kind, op, low=float(start), high=float(end))


def _compare(value: float, op: str, low: float, high: float, *, exact: bool) -> bool:
    """``value`` against a point (``exact``: a number) or a period ``[low, high)``."""
    if exact:
        return {
            "=": value == low,
            "<": value < low,
            ">": value > low,
            "<=": value <= low,
            ">=": value >= low,
        }[op]
    return {
        "=": low <= value < high,
        "<": value < low,
        ">=": value >= low,
        ">": value >= high,
        "<=": value < high,
    }[op]


# ---- the brute-force answer -------------------------------------------------------------------------


@dataclass
class EntryDoc:
    """What search knows of an entry, for the brute-force evaluation."""

    name: str
    parent: str
    entry_type: str
    system: str
    t_name: list[str]
    t_description: list[str]
    t_columns: list[str]
    labels: str
    created_at: int
    updated_at: int
    linked_resource: str | None = None
    tags: list[tuple[str, dict[str, tuple[str, float | None, str | None]]]] = field(default_factory=list)


def entry_doc(name: str, body: dict[str, Any], created_at: int, updated_at: int) -> EntryDoc:
    """An entry's search document from its body (as the fold derives its search columns)."""
    raw_schema = body.get("schema")
    schema: dict[str, Any] = raw_schema if isinstance(raw_schema, dict) else {}
    return EntryDoc(
        name=name,
        parent=name.rsplit("/", 2)[0],
        entry_type=str(body.get("type") or body.get("userSpecifiedType") or "").lower(),
        system=str(body.get("integratedSystem") or body.get("userSpecifiedSystem") or "").lower(),
        t_name=token_text(name.rsplit("/", 1)[-1], body.get("displayName")).split(),
        t_description=token_text(body.get("description")).split(),
        t_columns=token_text(*column_paths(schema.get("columns"))).split(),
        labels=labels_text(body.get("labels")),
        created_at=created_at,
        updated_at=updated_at,
        linked_resource=body.get("linkedResource") or None,
    )


def add_tag(doc: EntryDoc, body: dict[str, Any]) -> None:
    """Add a tag (its body) to an entry's search document."""
    values = {}
    for field_id, value in (body.get("fields") or {}).items():
        typed = typed_value(value)
        if typed is not None:
            values[field_id] = typed
    doc.tags.append((str(body.get("template", "")).rsplit("/", 1)[-1], values))


def _has_prefixes(words: tuple[str, ...], haystack: list[str]) -> bool:
    return all(any(token.startswith(word) for token in haystack) for word in words)


def matches(node: Node, doc: EntryDoc, kinds: dict[str, dict[str, str]]) -> bool:
    """Whether ``doc`` answers ``node``: the brute-force evaluation of a query."""
    if isinstance(node, And):
        return all(matches(child, doc, kinds) for child in node.children)
    if isinstance(node, Or):
        return any(matches(child, doc, kinds) for child in node.children)
    if isinstance(node, Not):
        return not matches(node.child, doc, kinds)
    if isinstance(node, Text):
        if node.field is None:
            everything = doc.t_name + doc.t_description + doc.t_columns
            return all(any(t.startswith(w) for t in everything) for w in node.words)
        return _has_prefixes(node.words, getattr(doc, TEXT_COLUMNS[node.field]))
    if isinstance(node, Exact):
        if node.field == "type":
            return doc.entry_type == node.value.lower()
        if node.field == "system":
            return doc.system == node.value.lower()
        if node.field == "parent":
            return doc.parent == f"entryGroups/{node.value}"
        return f"|{node.value}|" in doc.labels
    if isinstance(node, Time):
        moment = doc.created_at if node.field == "createtime" else doc.updated_at
        return _compare(moment, node.op, node.start, node.end, exact=False)
    check = resolve_tag(node, kinds)
    for template, values in doc.tags:
        if template != check.template:
            continue
        if check.field is None:
            return True
        typed = values.get(check.field)
        if typed is None:
            continue
        if check.op is None:
            return True
        _kind, number, text_value = typed
        if check.words:
            if text_value is not None and all(f" {w}" in text_value for w in check.words):
                return True
        elif check.text is not None:
            if text_value == check.text:
                return True
        elif (
            number is not None
            and check.low is not None
            and check.high is not None
            and _compare(number, check.op, check.low, check.high, exact=check.kind == "DOUBLE")
        ):
            return True
    return False


def load_docs(connection: Connection) -> list[EntryDoc]:
    """Every live entry's search document, read from the projected catalog (the brute-force scan)."""
    docs: dict[str, EntryDoc] = {}
    rows = connection.execute(
        text(
            "SELECT name, body, created_at, changed_at FROM catalog_objects "
            "WHERE kind = 'entry' AND deleted = false"
        )
    )
    for name, body, created, changed in rows:
        docs[name] = entry_doc(name, json.loads(body), created, changed)
    rows = connection.execute(
        text("SELECT parent, body FROM catalog_objects WHERE kind = 'tag' AND deleted = false")
    )
    for parent, body in rows:
        doc = docs.get(parent)
        if doc is not None:
            add_tag(doc, json.loads(body))
    linked: dict[str, list[EntryDoc]] = {}
    for doc in docs.values():
        if doc.linked_resource:
            linked.setdefault(doc.linked_resource, []).append(doc)
    propagated: dict[tuple[str, str, str], dict[str, Any]] = {}
    rows = connection.execute(
        text("SELECT node, column_name, template, field, value FROM catalog_propagated")
    )
    for node, column, template, field_id, value in rows:
        if node in linked:
            tag = propagated.setdefault((node, column, template), {"template": template, "fields": {}})
            tag["fields"][field_id] = json.loads(value)
    for (node, _, _), tag in propagated.items():
        for doc in linked[node]:
            add_tag(doc, tag)
    return list(docs.values())


# ---- SQL ----------------------------------------------------------------------------------------


class _Compiler:
    """Compiles a query tree into a SQL condition on ``o`` (``catalog_objects`` rows of entries)."""

    def __init__(
        self, dialect: str, kinds: dict[str, dict[str, str]], propagating: dict[str, set[str]] | None = None
    ) -> None:
        self.dialect = dialect
        self.kinds = kinds
        self.propagating = propagating or {}
        self.params: dict[str, Any] = {}
        self.rank_words: list[str] = []

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def compile(self, node: Node, *, negated: bool = False) -> str:
        if isinstance(node, And):
            return "(" + " AND ".join(self.compile(c, negated=negated) for c in node.children) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(self.compile(c, negated=negated) for c in node.children) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.compile(node.child, negated=not negated)})"
        if isinstance(node, Text):
            if not negated and node.field in (None, "name"):
                self.rank_words.extend(node.words)
            return self.text(node)
        if isinstance(node, Exact):
            if node.field in ("type", "system"):
                if self.dialect == "postgresql":
                    # the lexeme of t_search: the full-text index applies it (schema.CATALOG_SEARCH_DDL)
                    value = node.value.lower().replace("\\", "\\\\").replace("'", "''")
                    lexeme = self.param(f"'={node.field}={value}'")
                    return f"o.t_search @@ CAST({lexeme} AS tsquery)"
                return f"o.entry_{node.field} = {self.param(node.value.lower())}"
            if node.field == "parent":
                return f"o.parent = {self.param('entryGroups/' + node.value)}"
            escaped = node.value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            return f"o.labels LIKE {self.param('%|' + escaped + '|%')} ESCAPE '\\'"
        if isinstance(node, Time):
            column = "o.created_at" if node.field == "createtime" else "o.changed_at"
            return self.period(column, node.op, node.start, node.end, exact=False)
        return self.tag(resolve_tag(node, self.kinds), negated=negated)

    def text(self, node: Text) -> str:
        if self.dialect == "sqlite":
            match = _fts_match(node)
            return f"o.rowid IN (SELECT rowid FROM catalog_fts WHERE catalog_fts MATCH {self.param(match)})"
        # every word the start of a token: of any text, or of the qualifier's (its weight)
        weight = "" if node.field is None else schema.SEARCH_WEIGHTS[TEXT_COLUMNS[node.field]]
        query = " & ".join(f"{word}:*{weight}" for word in node.words)
        return f"o.t_search @@ to_tsquery('simple', {self.param(query)})"

    def lead(self, node: Node) -> tuple[str | None, str | None]:
        """SQLite: the words every match must have, as one FTS5 query (the rows the statement starts
        from, joined by rowid), and the condition on the rest of ``node`` (``None``: nothing more).
        Words as a lead cost a third less than as a test of each row (``o.rowid IN (…)``), and an
        ``OR`` of words is one search of the index instead of one per side."""
        if self.dialect != "sqlite":
            return None, self.compile(node)
        children = node.children if isinstance(node, And) else (node,)
        led = [c for c in children if _fts_expression(c) is not None]
        if not led:
            return None, self.compile(node)
        rest = [c for c in children if c not in led]
        self.rank_words.extend(w for child in led for w in _ranking_words(child))
        match = " AND ".join(f"({_fts_expression(c)})" for c in led)
        condition = None
        if rest:
            condition = self.compile(rest[0] if len(rest) == 1 else And(tuple(rest)))
        return self.param(match), condition

    def period(self, column: str, op: str, low: float, high: float, *, exact: bool) -> str:
        if exact:
            return f"{column} {op} {self.param(low)}"
        if op == "=":
            return f"({column} >= {self.param(low)} AND {column} < {self.param(high)})"
        bound = {"<": ("<", low), ">=": (">=", low), ">": (">=", high), "<=": ("<", high)}[op]
        return f"{column} {bound[0]} {self.param(bound[1])}"

    def tag(self, check: TagCheck, *, negated: bool = False) -> str:
        """A tag term: the matching entries as a list (``o.name IN (...)``, which leads a query); under a
        ``NOT``, ``tag:T`` alone is a test of each entry's own list of its templates, which spares
        listing the thousands of entries a template tags."""
        template = self.param(check.template)
        fields = self.propagating.get(check.template, set())
        # a propagated value counts as a tag of the entries linking the dataset whose column holds it
        spread = bool(fields) if check.field is None else check.field in fields
        if check.field is None:
            if negated:
                # the entry's own list of its live tags' templates (a JSON array kept by the fold,
                # see threadline.projection.entry_templates): no probe of the tags per entry
                quoted = self.param(json.dumps(check.template))
                find = "instr" if self.dialect == "sqlite" else "strpos"
                own = f"{find}(coalesce(o.tag_templates, ''), {quoted}) > 0"
                if spread:
                    own += (
                        " OR EXISTS (SELECT 1 FROM catalog_propagated p "
                        f"WHERE p.node = o.linked_resource AND p.template = {template})"
                    )
                return f"({own})"
            own = (
                "o.name IN (SELECT t.parent FROM catalog_objects t WHERE t.kind = 'tag' "
                f"AND t.template = {template} AND t.deleted = false)"
            )
            if spread:
                own += (
                    " OR o.linked_resource IN "
                    f"(SELECT p.node FROM catalog_propagated p WHERE p.template = {template})"
                )
            return f"({own})"
        where = [f"v.template = {template}", f"v.field = {self.param(check.field)}"]
        # the values' indexes hold only the rows with a number (or a text): every condition names the
        # one it reads, so that each backend's planner may use its index
        present = ["v.num_value IS NOT NULL", "v.text_value IS NOT NULL"]
        if check.words:
            present = ["v.text_value IS NOT NULL"]
            where.extend(f"v.text_value LIKE {self.param('% ' + w + '%')}" for w in check.words)
        elif check.text is not None:
            present = ["v.text_value IS NOT NULL"]
            where.append(f"v.text_value = {self.param(check.text)}")
        elif check.op is not None and check.low is not None and check.high is not None:
            present = ["v.num_value IS NOT NULL"]
            where.append(
                self.period("v.num_value", check.op, check.low, check.high, exact=check.kind == "DOUBLE")
            )
        values = " AND ".join(where)
        spread_values = values.replace("v.", "p.")
        valid = "t.kind = 'tag' AND t.name = v.tag AND t.stamp = v.stamp AND t.deleted = false"
        # the entries holding the value, listed once from the values' index by template and field, under
        # a NOT too: the values have no index by entry to probe for each row (one index fewer for each
        # value a tag writes). A field's presence alone reads both indexes (a value has a number or a
        # text, never both)
        holding = " UNION ALL ".join(
            f"SELECT v.entry FROM catalog_tag_values v JOIN catalog_objects t ON {valid} "
            f"WHERE {values} AND {condition}"
            for condition in present
        )
        own = f"o.name IN ({holding})"
        if negated:
            if spread:  # EXISTS: an entry without a linked resource has none (IN would be NULL)
                own += (
                    " OR EXISTS (SELECT 1 FROM catalog_propagated p "
                    f"WHERE p.node = o.linked_resource AND {spread_values})"
                )
            return f"({own})"
        if spread:
            own += f" OR o.linked_resource IN (SELECT p.node FROM catalog_propagated p WHERE {spread_values})"
        return f"({own})"

    def rank(self) -> str:
        if not self.rank_words:
            return ""
        # the start of a token of the name (2) or the description (1): tokens are lower-case words
        # separated by spaces, so a word starts one where " word" is found in the text with a space
        # put before it (instr: 10% cheaper than LIKE). SQLite: where the text starts with the word or
        # " word" is found in it, two instr on the text as stored, 1 ms cheaper for 5,000 matches than
        # a new string for each row (PostgreSQL: 1 ms dearer); a NULL description takes the ELSE.
        terms = []
        for word in dict.fromkeys(self.rank_words):
            bare, spaced = self.param(word), self.param(f" {word}")
            for column, points in (("o.t_name", 2), ("o.t_description", 1)):
                if self.dialect == "sqlite":
                    found = f"instr({column}, {bare}) = 1 OR instr({column}, {spaced}) > 0"
                else:
                    found = f"strpos(' ' || coalesce({column}, ''), {spaced}) > 0"
                terms.append(f"(CASE WHEN {found} THEN {points} ELSE 0 END)")
        return " + ".join(terms)


def _fts_match(node: Text) -> str:
    """A word or text qualifier as an FTS5 query: each word the start of a token (of the column)."""
    if node.field is None:
        return " AND ".join(f'"{w}"*' for w in node.words)
    column = TEXT_COLUMNS[node.field]
    return " AND ".join(f'{column} : "{w}"*' for w in node.words)


def _ranking_words(node: Node) -> list[str]:
    """The words of a words-only ``node`` that rank its matches (free text and ``name:``)."""
    if isinstance(node, Text):
        return list(node.words) if node.field in (None, "name") else []
    if isinstance(node, And | Or):
        return [w for child in node.children for w in _ranking_words(child)]
    return []


def _fts_expression(node: Node) -> str | None:
    """``node`` as one FTS5 query when it is words only (a word, or an ``OR``/``AND`` of words)."""
    if isinstance(node, Text):
        return _fts_match(node)
    if isinstance(node, And | Or):
        parts = [_fts_expression(child) for child in node.children]
        if any(part is None for part in parts):
            return None
        joiner = " OR " if isinstance(node, Or) else " AND "
        return joiner.join(f"({part})" for part in parts)
    return None


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        decoded = base64.urlsafe_b64decode(token.encode()).decode()
        if decoded.startswith("o:") and int(decoded[2:]) >= 0:
            return int(decoded[2:])
    except (ValueError, UnicodeDecodeError):
        pass
    msg = "pageToken is not one this server gave: pass the nextPageToken of the previous answer"
    raise QueryError(msg, 0)


def search(
    connection: Connection,
    query: str,
    *,
    page_size: int = DEFAULT_PAGE,
    page_token: str | None = None,
    order_by: str = "relevance",
    facets: bool = True,
) -> dict[str, Any]:
    """Entries answering ``query``: ``{"results", "totalSize", "nextPageToken", "facets"}``, in Data
    Catalog's ``SearchCatalogResult`` shape."""
    if not 1 <= page_size <= MAX_PAGE:
        msg = f"pageSize must be between 1 and {MAX_PAGE}, not {page_size}"
        raise QueryError(msg, 0)
    order = " ".join(order_by.lower().split()) or "relevance"
    if order not in ORDERS:
        msg = f"orderBy must be relevance, last_modified_timestamp [asc|desc] or default, not {order_by!r}"
        raise QueryError(msg, 0)
    tree = parse(query)
    dialect = connection.dialect.name
    facts = _template_facts(connection)
    compiler = _Compiler(dialect, facts.kinds, facts.propagating)
    lead, condition = compiler.lead(tree)
    if lead is not None:
        # SQLite: the rows the full-text index finds for the words, each read by its rowid
        source = "catalog_fts f CROSS JOIN catalog_objects o ON o.rowid = f.rowid"
        where = f"{source} WHERE catalog_fts MATCH {lead} AND +o.kind = 'entry' AND o.deleted = false"
    else:
        where = "catalog_objects o WHERE o.kind = 'entry' AND o.deleted = false"
    if condition is not None:
        where += f" AND {condition}"
    offset = _offset(page_token)
    name = 'm.name COLLATE "C"' if dialect == "postgresql" else "m.name"  # code-point order on both
    order_sql = {
        "relevance": f"m.score DESC, m.changed_at DESC, {name}",
        "last_modified_timestamp asc": f"m.changed_at, {name}",
        "default": name,
    }.get(order, f"m.changed_at DESC, {name}")
    statement = _Statement(
        where=where,
        rank=compiler.rank() or "0",
        page=f"ORDER BY {order_sql} LIMIT {int(page_size)} OFFSET {int(offset)}",
        params=compiler.params,
    )
    if dialect == "postgresql":
        # for this transaction: no JIT compilation (~100 ms to compile a plan that runs in tens of
        # ms) and no parallel workers (starting them costs more than the index scans they share)
        connection.execute(
            text(
                "SELECT set_config('jit', 'off', true), "
                "set_config('max_parallel_workers_per_gather', '0', true)"
            )
        )
    templates: dict[str, int] | None = None
    if not facets:
        rows = statement.run(connection, None)
    elif facts.places is not None:
        rows = statement.run(connection, facts.places)
        templates = _mask_counts(rows, facts.places, dialect)
    if facets and templates is None:  # no masks (too many templates), or a match without a usable one
        rows = statement.run(connection, "json")
        templates = dict(sorted((str(r.a), int(r.n)) for r in rows if r.part == 2 and r.a))
    groups = [(r.a, r.b, int(r.n)) for r in rows if r.part == 0]
    page = [(str(r.a), int(r.at)) for r in rows if r.part == 1]  # in the order of the page
    total = sum(count for _, _, count in groups)
    bodies = {str(r.a): json.loads(r.b) for r in rows if r.part == 1}
    results = [_result(entry, bodies[entry], changed_at) for entry, changed_at in page]
    _mark_propagated(connection, results, bodies, tree, compiler.propagating)
    answer: dict[str, Any] = {
        "results": results,
        "totalSize": total,
    }
    if offset + len(page) < total:
        answer["nextPageToken"] = _page_token(offset + len(page))
    if templates is not None:
        types: Counter[str] = Counter()
        systems: Counter[str] = Counter()
        for entry_type, system, count in groups:
            if entry_type:
                types[str(entry_type).upper()] += count
            if system:
                systems[str(system)] += count
        answer["facets"] = {"type": dict(types), "system": dict(systems), "template": templates}
    return answer


@dataclass(frozen=True)
class _Statement:
    """The one statement of a search: the query evaluated once, its matches (name, type, system, time,
    score and templates) kept by the database as a materialised table, and over them the count with
    the type and system facets (one aggregate), the page (``ORDER BY … LIMIT``) and the template facet;
    only a few counts and the page's rows come back. (Three statements each evaluating the query, the
    facet a join by each match, cost 1.5-3x this on 100,000 entries.)"""

    where: str
    rank: str
    page: str
    params: dict[str, Any]

    def run(self, connection: Connection, facet: dict[str, int] | str | None) -> list[Any]:
        """The rows: part 0 the type and system counts, part 1 the page, part 2 the template facet
        (``facet``: the templates' places, summed from the masks; ``"json"``: counted from the
        arrays; ``None``: none)."""
        parts = [
            "SELECT 0 AS part, m.entry_type AS a, m.entry_system AS b, count(*) AS n, 0 AS at "
            "FROM m GROUP BY m.entry_type, m.entry_system",
            # the page's bodies, looked up after the LIMIT (ten lookups, in this round trip)
            "SELECT page.part, page.a, (SELECT e.body FROM catalog_objects e WHERE e.kind = 'entry' "
            "AND e.name = page.a) AS b, page.n, page.at FROM (SELECT 1 AS part, m.name AS a, "
            f"m.score AS n, m.changed_at AS at FROM m {self.page}) page",
        ]
        column = ""
        if isinstance(facet, dict):
            parts.append(_mask_facet_sql(connection.dialect.name, len(facet)))
            column = "o.tag_mask AS mask, "
        elif facet == "json":
            parts.append(_template_facet_sql(connection.dialect.name))
            column = "o.tag_templates AS templates, "
        sql = (
            f"WITH m AS MATERIALIZED (SELECT o.name, o.entry_type, o.entry_system, o.changed_at, {column}"
            f"{self.rank} AS score FROM {self.where}) " + " UNION ALL ".join(parts)
        )
        return list(connection.execute(text(sql), self.params).all())


def _mask_facet_sql(dialect: str, count: int) -> str:
    """The template facet's row over the matches' masks, for ``count`` places.

    On SQLite, ``a`` is every match's mask as decimal numbers separated by commas, whose bits are
    counted in Python (:func:`_mask_counts`), and ``n`` how many matches have none (``NULL``). Summing
    each place's bit in SQL (``sum((mask >> i) & 1)``, one sum per template) cost 8.7 ms of a 29 ms
    search for a word in 5,400 of 100,000 entries, where handing the masks over as one string costs
    1 ms and counting them 2 ms. On PostgreSQL the sums are 0.7 ms cheaper than that string, so ``a``
    is the count of each place separated by spaces, and ``n`` how many matches have no usable mask
    (``NULL``, or a template without a place: bit ``OTHER_BIT``). See ``benchmarks/README.md``, stop 28.
    """
    if dialect == "sqlite":
        return (
            "SELECT 2 AS part, group_concat(m.mask) AS a, NULL AS b, "
            "sum(CASE WHEN m.mask IS NULL THEN 1 ELSE 0 END) AS n, 0 AS at FROM m"
        )
    sums = " || ' ' || ".join(f"CAST(sum((m.mask >> {i}) & 1) AS TEXT)" for i in range(count)) or "''"
    unusable = f"sum(CASE WHEN m.mask IS NULL OR ((m.mask >> {OTHER_BIT}) & 1) = 1 THEN 1 ELSE 0 END)"
    return f"SELECT 2 AS part, {sums} AS a, NULL AS b, {unusable} AS n, 0 AS at FROM m"


#: For each bit of a byte, the byte's values mapped to 1 where the bit is set, else 0 (``bytes.translate``).
_BIT_OF = [bytes((value >> bit) & 1 for value in range(256)) for bit in range(8)]


def _mask_counts(rows: list[Any], places: dict[str, int], dialect: str) -> dict[str, int] | None:
    """The template facet from the row of :func:`_mask_facet_sql`: each template's count (those above
    0, by id); ``None`` when some match has no usable mask (``NULL``, or bit ``OTHER_BIT``: a template
    without a place), and then the arrays must be counted.

    SQLite's masks become one byte string of 8 bytes each (``array``, in C), and each place's count is
    that of the set bit in every 8th byte (``translate`` and ``count``, in C): no Python loop over the
    matches."""
    (row,) = [r for r in rows if r.part == 2]
    if row.n:  # NULL without matches
        return None
    if dialect != "sqlite":
        counts = [int(c) for c in str(row.a).split()] if row.a else []
        return {t: counts[i] for t, i in sorted(places.items()) if i < len(counts) and counts[i]}
    if not row.a:
        return {}
    packed = array("q", map(int, str(row.a).split(","))).tobytes()

    def count(bit: int) -> int:
        byte = bit // 8 if sys.byteorder == "little" else 7 - bit // 8
        return packed[byte::8].translate(_BIT_OF[bit % 8]).count(1)

    if count(OTHER_BIT):
        return None
    found = {template: count(place) for template, place in sorted(places.items())}
    return {template: n for template, n in found.items() if n}


def _tag_templates(node: Node) -> set[str]:
    """The templates of the tag terms of ``node``."""
    if isinstance(node, And | Or):
        return {t for child in node.children for t in _tag_templates(child)}
    if isinstance(node, Not):
        return _tag_templates(node.child)
    return {node.template} if isinstance(node, TagTerm) else set()


def _mark_propagated(
    connection: Connection,
    results: list[dict[str, Any]],
    bodies: dict[str, dict[str, Any]],
    tree: Node,
    propagating: dict[str, set[str]],
) -> None:
    """Mark the results holding the query's tags by propagation (``propagatedTags``)."""
    templates = sorted(_tag_templates(tree) & set(propagating))
    nodes = {
        r["relativeResourceName"]: bodies.get(r["relativeResourceName"], {}).get("linkedResource")
        for r in results
    }
    linked = sorted({n for n in nodes.values() if n})
    if not templates or not linked:
        return
    held: dict[str, list[str]] = {}
    rows = connection.execute(
        select(_propagated.c.node, _propagated.c.template, _propagated.c.field, _propagated.c.column_name)
        .where(_propagated.c.node.in_(linked), _propagated.c.template.in_(templates))
        .order_by(_propagated.c.template, _propagated.c.field, _propagated.c.column_name)
    )
    for node, template, field_id, column in rows:
        held.setdefault(node, []).append(f"{template}.{field_id}@{column}")
    for result in results:
        marks = held.get(nodes[result["relativeResourceName"]] or "")
        if marks:
            result["propagatedTags"] = marks


def _template_facet_sql(dialect: str) -> str:
    """The template facet over the matches ``m``: how many of them have a tag of each template (on
    the entry or a column), from each match's ``templates`` (its row's ``tag_templates``, a JSON
    array kept by the fold: see ``threadline.projection.entry_templates``). Looking up each match's
    tags instead cost an index seek per match: 25 of the 37 ms of a word in 5% of 100,000 entries."""
    if dialect == "sqlite":
        elements = "m, json_each(m.templates) j"
    else:
        elements = "m CROSS JOIN LATERAL json_array_elements_text(m.templates::json) j(value)"
    return (
        f"SELECT * FROM (SELECT 2 AS part, j.value AS a, NULL AS b, count(*) AS n, 0 AS at FROM {elements} "
        "GROUP BY j.value) facet"
    )


def _result(name: str, body: dict[str, Any], changed_at: int) -> dict[str, Any]:
    kind = body.get("type") or body.get("userSpecifiedType") or ""
    result: dict[str, Any] = {
        "searchResultType": "ENTRY",
        "searchResultSubtype": f"entry.{str(kind).lower()}",
        "relativeResourceName": name,
        "modifyTime": format_time(changed_at),
        "displayName": body.get("displayName") or name.rsplit("/", 1)[-1],
    }
    for key in ("linkedResource", "description", "userSpecifiedSystem"):
        if body.get(key):
            result[key] = body[key]
    return result
