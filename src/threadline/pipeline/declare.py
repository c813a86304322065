"""Declaring a pipeline: its environments, the tables it extracts, the checks on them, its
transforms and what it promotes, in plain Python (see ``docs/pipelines.md``).

The stages run in the staged order whatever order they were declared in: extract (and land in the
lake), load, validate the loaded tables, transform (in declaration order), validate the transformed
tables, promote. A check on a table that is neither extracted nor transformed, or a transform that
reads an unknown table, is an error when the pipeline is declared or run, naming the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threadline.errors import ConfigError, PipelineError
from threadline.pipeline.checks import Check
from threadline.pipeline.config import Environment, Webhook, approval_envs, environment_from, webhook_of
from threadline.pipeline.sources import Source
from threadline.pipeline.warehouse import MODES

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _table_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        msg = f"{what} {name!r} is not a table name (letters, digits, underscore; not starting with a digit)"
        raise PipelineError(msg)
    return name


@dataclass(frozen=True)
class Extract:
    """A table extracted from a source, landed in the lake and loaded into the warehouse."""

    table: str
    source: Source
    primary_key: tuple[str, ...] = ()
    cursor: str | None = None
    mode: str = "replace"


@dataclass(frozen=True)
class Transform:
    """A table made from others: by SQL run in the warehouse, or by a Python function on DataFrames."""

    table: str
    sql: str | None = None
    function: Callable[..., Any] | None = None
    inputs: tuple[str, ...] = ()


@dataclass
class Validation:
    """The checks on one table, and whether failing rows go to a quarantine table."""

    table: str
    checks: list[Check] = field(default_factory=list)
    quarantine: bool = False


class Pipeline:
    """A staged DataOps pipeline. Declare it at the top level of a Python file::

        pipeline = Pipeline("shop", environments={"staging": {...}, "production": {...}})
        pipeline.extract("orders", files("data/orders.csv"), primary_key="order_id")
        pipeline.validate("orders", not_null("order_id"), unique("order_id"))
        pipeline.transform("revenue", sql="SELECT ... FROM orders GROUP BY 1")
        pipeline.promote("orders", "revenue")

    and run it with ``threadline pipeline run FILE.py --env staging``.
    """

    def __init__(
        self,
        name: str,
        *,
        environments: dict[str, Any],
        description: str | None = None,
        approval: bool | Sequence[str] = False,
        webhook: str | None = None,
        webhook_from_env: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            msg = f"pipeline name {name!r}: use letters, digits and underscores"
            raise ConfigError(msg)
        self.name = name
        self.description = description
        if not isinstance(environments, dict) or not environments:
            msg = f"pipeline {name!r}: environments must name at least one environment (staging, production)"
            raise ConfigError(msg)
        self.environments: dict[str, Environment] = {
            str(env): environment_from(str(env), value, name) for env, value in environments.items()
        }
        #: The environments whose runs stop at *awaiting approval* (``threadline pipeline approve``).
        self.approval: frozenset[str] = approval_envs(approval, self.environments, name)
        #: Where the run's notifications go (see ``notify.py``).
        self.webhook: Webhook | None = webhook_of(webhook, webhook_from_env, name)
        self.extracts: dict[str, Extract] = {}
        self.transforms: dict[str, Transform] = {}
        self.validations: dict[str, Validation] = {}
        self.promoted: list[str] | None = None
        #: The folder relative paths are taken from (the pipeline file's; set by the loader).
        self.base = Path.cwd()

    def __repr__(self) -> str:
        return f"<threadline Pipeline {self.name}>"

    def _new_table(self, table: str, what: str) -> str:
        _table_name(table, what)
        if table in self.extracts or table in self.transforms:
            msg = f"pipeline {self.name!r}: table {table!r} is declared twice"
            raise PipelineError(msg)
        return table

    def extract(
        self,
        table: str,
        source: Source,
        *,
        primary_key: str | Sequence[str] = (),
        cursor: str | None = None,
        mode: str | None = None,
    ) -> Extract:
        """Extract ``table`` from ``source``; with ``cursor`` only rows newer than the last promoted
        run's (incremental); with ``primary_key`` loaded by merge (upsert) unless ``mode`` says else."""
        self._new_table(table, "extract")
        keys = (primary_key,) if isinstance(primary_key, str) else tuple(primary_key)
        chosen = mode or ("merge" if keys else ("append" if cursor else "replace"))
        if chosen not in MODES:
            msg = f"extract {table!r}: unknown mode {chosen!r}; use one of {', '.join(MODES)}"
            raise PipelineError(msg)
        if chosen == "merge" and not keys:
            msg = f"extract {table!r}: mode 'merge' needs a primary_key"
            raise PipelineError(msg)
        step = Extract(table, source, keys, cursor, chosen)
        self.extracts[table] = step
        return step

    def transform(
        self,
        table: str,
        sql: str | None = None,
        *,
        inputs: Sequence[str] = (),
    ) -> Any:
        """Make ``table`` with ``sql`` (run in the warehouse's staging schema), or decorate a function
        ``f(**frames) -> DataFrame`` that receives the ``inputs`` tables as DataFrames."""
        if sql is not None:
            self._new_table(table, "transform")
            self.transforms[table] = Transform(table, sql=sql, inputs=tuple(inputs))
            return self.transforms[table]

        def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
            self._new_table(table, "transform")
            names = tuple(inputs)
            if not names:
                import inspect

                names = tuple(inspect.signature(function).parameters)
            self.transforms[table] = Transform(table, function=function, inputs=names)
            return function

        return decorate

    def validate(self, table: str, *checks: Check, quarantine: bool = False) -> Validation:
        """Check ``table`` after it is loaded or transformed; with ``quarantine`` the rows failing a
        row-level check move to ``{table}_quarantine`` instead of blocking the promotion."""
        _table_name(table, "validate")
        for check in checks:
            if not isinstance(check, Check):
                msg = f"validate({table!r}): {check!r} is not a check (see threadline.pipeline.checks)"
                raise PipelineError(msg)
        validation = self.validations.setdefault(table, Validation(table))
        validation.checks.extend(checks)
        validation.quarantine = validation.quarantine or quarantine
        return validation

    def promote(self, *tables: str) -> None:
        """Promote these tables to production (by default every extracted and transformed table)."""
        self.promoted = [_table_name(t, "promote") for t in tables]

    # ---- checked views --------------------------------------------------------------------------

    def environment(self, name: str) -> Environment:
        """The environment ``name``, with paths resolved; a clear error naming the known ones."""
        if name not in self.environments:
            msg = (
                f"pipeline {self.name!r} has no environment {name!r}; "
                f"its environments: {', '.join(self.environments)}"
            )
            raise ConfigError(msg)
        return self.environments[name].resolved(self.base)

    def tables(self) -> list[str]:
        """Every table the pipeline makes, in stage order."""
        return [*self.extracts, *self.transforms]

    def check_references(self) -> None:
        """Fail, naming it, on a check, transform input or promotion of a table nobody makes."""
        known = set(self.tables())

        def unknown(table: str, where: str) -> PipelineError:
            import difflib

            close = difflib.get_close_matches(table, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; its tables: {', '.join(sorted(known))}"
            return PipelineError(
                f"pipeline {self.name!r}: {where} names table {table!r}, which it does not make{hint}"
            )

        for table in self.validations:
            if table not in known:
                raise unknown(table, "validate")
        for transform in self.transforms.values():
            for name in transform.inputs:
                if name not in known:
                    raise unknown(name, f"transform {transform.table!r}")
        for table in self.promoted or []:
            if table not in known:
                raise unknown(table, "promote")
        for validation in self.validations.values():
            for check in validation.checks:
                other = check.args.get("table")
                if check.kind == "relationship" and other not in known:
                    raise unknown(str(other), f"the relationship check on {validation.table!r}")

    def needs_approval(self, env: str) -> bool:
        """Whether a run in ``env`` stops at *awaiting approval* once every check passed."""
        return env in self.approval

    @property
    def promotes(self) -> list[str]:
        """The tables a successful run promotes."""
        return list(self.promoted) if self.promoted is not None else self.tables()
