"""ORM queries compiled once per process, then run with new values.

Building a query's SQL costs the ORM ten times what running it costs (about 0.5 to 2 ms of
Python against 0.05 to 0.2 ms on SQLite or PostgreSQL): on a request that does little else,
such as an API write, building its few reads is most of its time. A query on a hot path is
written once as an ordinary queryset whose parameters are the names a call passes:

    TOKEN_BY_DIGEST = Compiled(
        lambda digest: ApiToken.objects.filter(digest=digest, revoked_at__isnull=True)[:1]
    )
    token = TOKEN_BY_DIGEST.first(digest=digest)

The first call on each database connection's vendor builds the queryset with stand-in values,
keeps the SQL the ORM wrote and where each stand-in went, and from then on every call runs
that SQL with its own values, turning rows into model instances as the queryset would (the
database backend's converters, `Model.from_db`, fields not selected deferred). The SQL is the ORM's own, so
quoting and the database's dialect stay Django's.

What a compiled query may take: values that the ORM passes to the database as they are (a
string compared with a text column, an integer with an integer or key column). A value the
ORM converts first (a date or time, a JSON document) would be compared unconverted: compare
those in Python after the read, or leave that query to the ORM. A call with a value of
another type is refused. `select_related` and `select_for_update` are carried over;
annotations are not.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators

M = TypeVar("M", bound=Model)

# stand-ins no caller's value can equal: a text one and an integer one per parameter
_TEXT = "\x00compiled-parameter-{}\x00"
_INT = -7_263_541_000_000


class Compiled(Generic[M]):
    def __init__(self, build: Callable[..., QuerySet[M]], *, using: str = "default") -> None:
        self.build = build
        self.names = tuple(inspect.signature(build).parameters)
        self.using = using
        self._plans: dict[tuple[str, tuple[type, ...]], _Plan] = {}
        self._lock = threading.Lock()

    def _plan(self, kinds: tuple[type, ...]) -> _Plan:
        key = (connections[self.using].vendor, kinds)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        stand_ins = [_TEXT.format(i) if kind is str else _INT - i for i, kind in enumerate(kinds)]
        try:
            queryset = self.build(*stand_ins)
            compiler = queryset.query.get_compiler(using=self.using)
            sql, params = compiler.as_sql()
        except (ValidationError, ValueError) as exc:  # a value the ORM converts first
            raise TypeError(f"{self.names}: each parameter must reach the SQL as it is") from exc
        if compiler.klass_info is None or compiler.annotation_col_map:
            raise TypeError(f"{self.names}: a compiled query reads model fields only")
        by_value = {value: i for i, value in enumerate(stand_ins)}
        slots: list[Any] = []
        for param in params:
            index = by_value.get(param) if type(param) in (str, int) else None
            slots.append(_Slot(index) if index is not None else param)
        found = {s.index for s in slots if isinstance(s, _Slot)}
        if found != set(range(len(kinds))):
            raise TypeError(f"{self.names}: each parameter must reach the SQL as it is")
        columns = [col for col, _, _ in compiler.select]
        own = compiler.klass_info["select_fields"]
        start, end = own[0], own[-1] + 1
        plan = _Plan(
            model=queryset.model,
            sql=sql,
            slots=slots,
            own=slice(start, end),
            fields=[col.target.attname for col in columns[start:end]],
            converters=compiler.get_converters(columns),
            compiler=compiler,
            # the rows of select_related, set on each instance as the ORM's ModelIterable does
            related=get_related_populators(  # type: ignore[call-arg]  # Django 5.2 has no fetch_mode
                compiler.klass_info, compiler.select, self.using
            ),
        )
        with self._lock:
            self._plans[key] = plan
        return plan

    def _run(self, values: dict[str, Any]) -> list[M]:
        if set(values) != set(self.names):
            raise TypeError(f"expected the values {self.names}, got {tuple(values)}")
        ordered = [values[name] for name in self.names]
        for value in ordered:
            if type(value) not in (str, int):
                raise TypeError(f"a compiled query takes text or whole numbers, not {value!r}")
        plan = self._plan(tuple(type(value) for value in ordered))
        params = [ordered[s.index] if isinstance(s, _Slot) else s for s in plan.slots]
        with connections[self.using].cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows: Any = cursor.fetchall()
        if plan.converters:
            rows = plan.compiler.apply_converters(rows, plan.converters)
        # as the ORM's ModelIterable makes them: loaded from this database, the rest deferred
        found = []
        for row in rows:
            instance = plan.model.from_db(self.using, plan.fields, row[plan.own])
            for populator in plan.related:
                populator.populate(row, instance)
            found.append(instance)
        return found

    def all(self, **values: Any) -> list[M]:
        return self._run(values)

    def first(self, **values: Any) -> M | None:
        found = self._run(values)
        return found[0] if found else None


@dataclass
class _Plan:
    model: Any
    sql: str
    slots: list[Any]  # a parameter's constant, or the _Slot of a call's value
    own: slice  # the model's own columns in a row
    fields: list[str]
    converters: dict[int, Any]
    compiler: Any  # applies the converters: they are the database backend's own
    related: list[Any]


class _Slot:
    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index
