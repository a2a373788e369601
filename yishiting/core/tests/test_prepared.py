"""`core.prepared`: a queryset compiled once answers as the queryset itself would."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yishiting.core.prepared import Prepared
from yishiting.orgs.models import Hall, Membership, User
from yishiting.requests import actions as A
from yishiting.requests.models import Event, Request
from yishiting.requests.queries import RELATED, get_request, with_relations
from yishiting.testing import County

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
by_id = Prepared(lambda pk: Request.objects.select_related(*RELATED).filter(pk=pk), int)


def fields(obj: object) -> dict[str, object] | None:
    return None if obj is None else {k: v for k, v in vars(obj).items() if not k.startswith("_")}


def test_same_rows_and_related_rows_as_the_queryset(county: County) -> None:
    plain = A.do_submit(actor=county["resident1"], hall=county.village, text="路灯坏了", now=NOW)
    routed = A.do_submit(
        actor=county["resident2"],
        hall=county.village2,
        text="污水外溢",
        category=county.sewage,
        now=NOW,
    )
    routed = A.do_acknowledge(routed, actor=county["liaison2"], now=NOW)
    for req in (plain, routed):
        expected = with_relations().get(pk=req.pk)
        (got,) = by_id(req.pk)
        assert fields(got) == fields(expected)
        for name in ("hall", "origin_hall", "category", "reporter"):
            assert fields(getattr(got, name)) == fields(getattr(expected, name))
        # a missing relation (no department, no voice) is known to be missing: no query
        with CaptureQueriesContext(connection) as reads:
            assert got.department is None
            assert not hasattr(got, "voice")
        assert len(reads) == 0
    assert get_request(routed.pk).category == county.sewage
    assert by_id(-1) == []
    assert by_id(2**70) == [] and by_id(-(2**70)) == []  # beyond any column: no row, no error


def test_one_query_per_call_and_values_are_not_sql(county: County) -> None:
    prepared = Prepared(lambda name: User.objects.filter(username=name), str)
    hostile = "resident1' OR '1'='1"
    with CaptureQueriesContext(connection) as reads:
        assert [u.username for u in prepared("resident1")] == ["resident1"]
        assert prepared(hostile) == []
    assert len(reads) == 2
    User.objects.create(username=hostile)
    assert [u.username for u in prepared(hostile)] == [hostile]


def test_two_arguments_each_in_its_place(county: County) -> None:
    prepared = Prepared(
        lambda user, role: Membership.objects.filter(user_id=user, role=role).select_related(
            "hall"
        ),
        int,
        str,
    )
    liaison = county["liaison1"]
    (m,) = prepared(liaison.pk, "liaison")
    assert m.hall == county.village
    assert prepared(liaison.pk, "manager") == []
    assert [x.hall for x in prepared(county["manager1"].pk, "manager")] == [county.township]


@pytest.mark.django_db(transaction=True)
def test_other_threads_use_their_own_connection(county: County) -> None:
    out: list[object] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            out.extend(h.code for h in halls(county.village.code))
        except BaseException as e:
            errors.append(e)
        finally:
            connection.close()

    halls = Prepared(lambda code: Hall.objects.filter(code=code), str)
    assert [h.code for h in halls(county.township.code)] == [county.township.code]
    t = threading.Thread(target=read)
    t.start()
    t.join()
    assert not errors
    assert out == [county.village.code]


@pytest.mark.parametrize("value", ["1", 1.0, True, None])
def test_a_value_of_another_type_is_refused(db: None, value: object) -> None:
    with pytest.raises(TypeError):
        by_id(value)


def test_a_query_whose_sql_depends_on_the_value_is_refused(db: None) -> None:
    # `startswith` escapes and wraps the value: it is not a plain parameter
    with pytest.raises(ValueError):
        Prepared(lambda code: Hall.objects.filter(code__startswith=code), str)("13")
    with pytest.raises(ValueError):
        Prepared(lambda pk: Request.objects.filter(pk=pk).prefetch_related("parts"), int)(1)
    with pytest.raises(TypeError):
        Prepared(lambda at: Request.objects.filter(created_at=at), datetime)


def test_values_list_rows_are_the_querysets_tuples(county: County) -> None:
    req = A.do_submit(actor=county["resident1"], hall=county.village, text="路灯坏了", now=NOW)
    A.do_acknowledge(req, actor=county["liaison1"], now=NOW)
    fields = ("seq", "verb", "data", "created_at")
    prepared = Prepared(
        lambda pk: Event.objects.filter(request_id=pk).order_by("seq").values_list(*fields), int
    )
    expected = list(Event.objects.filter(request_id=req.pk).order_by("seq").values_list(*fields))
    assert len(expected) == 2
    assert prepared(req.pk) == expected  # the JSON decoded, the times aware, as Django gives them
    with pytest.raises(ValueError):  # flat lists and dicts are not prepared
        Prepared(lambda pk: Event.objects.filter(request_id=pk).values("seq"), int)(req.pk)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
def test_postgresql_plans_a_statement_once_per_connection(county: County) -> None:
    """The values go apart from the text (server-side binding), so a read has one text for
    every request, and after two runs on a connection it is prepared there (config/settings.py)."""
    reqs = [
        A.do_submit(actor=county[f"resident{i}"], hall=county.village, text=text, now=NOW)
        for i, text in ((1, "路灯坏了"), (2, "井盖丢了"), (1, "水管坏了"))
    ]

    def prepared() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return {row[0] for row in cursor.fetchall()}

    def read(pk: int) -> list[str]:
        found = Request.objects.filter(pk=pk, text__contains="坏")
        return list(found.values_list("text", flat=True))

    before = prepared()
    assert [read(r.pk) for r in reqs] == [["路灯坏了"], [], ["水管坏了"]]
    new = [s for s in prepared() - before if "requests_request" in s and "LIKE" in s]
    assert len(new) == 1, new
    assert "$1" in new[0] and "坏" not in new[0]
