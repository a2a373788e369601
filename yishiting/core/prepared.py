"""Querysets compiled to SQL once, then run with other values.

Django builds a queryset and compiles it to SQL on every evaluation. For the reads that every
call makes, compiling costs more CPU than the database takes to answer. Examples: the caller's
token with its user, and the request with its halls, department and reporter. On SQLite the
request read took 1.4 ms of CPU to compile against 0.3 ms to run (docs/proof.md, session 8).

`Prepared` compiles its queryset once per database, with marker values in place of its
arguments. Each call copies the compiled parameters and puts the call's values where the
markers were. It then builds model instances (with their `select_related` rows) as Django's
own iterator does.

It returns model instances, or tuples for a `values_list()` queryset. It is for equality
lookups on int or str values, whose SQL does not depend on the value; an int beyond 64 bits
matches nothing, as Django's own lookups answer (and the database driver would refuse it).
Anything else raises at compile time rather than answer wrongly:
- a marker found where the second compile did not change it, or changed where no marker was;
- prefetches, annotations or extra selects (prefetch afterwards with
  `prefetch_related_objects`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, models, router
from django.db.models.query import (
    ModelIterable,
    QuerySet,
    ValuesListIterable,
    get_related_populators,
)
from django.db.models.sql.compiler import SQLCompiler

R = TypeVar("R")  # a row: a model instance, or a tuple
INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # the widest integer column (BigIntegerField)

# Two sets of markers: a position is an argument's when the first compile has the first
# marker there and the second the second. Values no real row or constant would hold.
_MARKERS: dict[type, tuple[Any, Any]] = {
    int: (-7_340_032_911, -7_340_032_912),
    str: ("\x00prepared-a\x00", "\x00prepared-b\x00"),
}


@dataclass(frozen=True)
class _Compiled:
    compiler: SQLCompiler
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, ...], ...]  # per argument, its positions in `params`
    tuples: bool  # values_list(): rows as tuples


class Prepared(Generic[R]):
    """`build(*args)`, compiled once; calling it returns the matching rows as a list.

    `types` gives each argument's type (int or str); a value of another type is a TypeError,
    since the compiled parameters skip the field's conversion."""

    def __init__(self, build: Callable[..., QuerySet[Any, R]], *types: type) -> None:
        for t in types:
            if t not in _MARKERS:
                raise TypeError(f"Prepared takes int or str arguments, not {t.__name__}")
        self._build = build
        self._types = types
        self._model: type[models.Model] | None = None
        self._compiled: dict[str, _Compiled] = {}

    def __call__(self, *values: Any) -> list[R]:
        if len(values) != len(self._types):
            raise TypeError(f"expected {len(self._types)} values, got {len(values)}")
        for value, t in zip(values, self._types, strict=True):
            if type(value) is not t:
                raise TypeError(f"expected {t.__name__}, got {type(value).__name__}")
            if isinstance(value, int) and not INT_MIN <= value <= INT_MAX:
                return []  # equal to no integer column's value (as Django's lookups answer)
        if self._model is None:
            self._model = self._build(*(_MARKERS[t][0] for t in self._types)).model
        alias = router.db_for_read(self._model)
        compiled = self._compiled.get(alias) or self._compile(alias)
        params = list(compiled.params)
        for value, positions in zip(values, compiled.slots, strict=True):
            for i in positions:
                params[i] = value
        with connections[alias].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.tuples:
            return list(compiled.compiler.results_iter([rows], tuple_expected=True))  # type: ignore[arg-type]
        return _instances(compiled.compiler, rows, alias)

    def _compile(self, alias: str) -> _Compiled:
        first = self._build(*(_MARKERS[t][0] for t in self._types))
        second = self._build(*(_MARKERS[t][1] for t in self._types))
        prefetches = first._prefetch_related_lookups  # type: ignore[attr-defined]
        if prefetches or first.query.annotations or first.query.extra:
            raise ValueError("Prepared cannot hold prefetches, annotations or extra selects")
        iterable = first._iterable_class  # type: ignore[attr-defined]
        if iterable not in (ModelIterable, ValuesListIterable):
            raise ValueError("Prepared returns model instances or values_list() tuples")
        compiler = first.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        sql2, params2 = second.query.get_compiler(using=alias).as_sql()
        if sql != sql2 or len(params) != len(params2) or compiler.has_extra_select:
            raise ValueError("the query's SQL depends on its values: it cannot be prepared")
        slots = tuple(
            tuple(
                i
                for i, (p, q) in enumerate(zip(params, params2, strict=True))
                if type(p) is t and (p, q) == _MARKERS[t]
            )
            for t in self._types
        )
        changed = [i for i, (p, q) in enumerate(zip(params, params2, strict=True)) if p != q]
        if sorted(i for s in slots for i in s) != changed or not all(slots):
            raise ValueError("an argument is not a plain parameter of the query")
        compiled = _Compiled(
            compiler, sql, tuple(params), slots, tuples=iterable is ValuesListIterable
        )
        self._compiled[alias] = compiled
        return compiled


def _instances(compiler: SQLCompiler, rows: list[Any], alias: str) -> list[Any]:
    """Model instances from the compiled query's rows, as `ModelIterable` makes them."""
    select, klass_info = compiler.select, compiler.klass_info
    assert klass_info is not None
    model_cls = klass_info["model"]
    fields = klass_info["select_fields"]
    start, end = fields[0], fields[-1] + 1
    init_list = [f[0].target.attname for f in select[start:end]]
    # (django-stubs 6 describe Django 6's signature; this is Django 5.2's)
    populators = get_related_populators(klass_info, select, alias)  # type: ignore[call-arg]
    out = []
    for row in compiler.results_iter([rows]):
        obj = model_cls.from_db(alias, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        out.append(obj)
    return out
