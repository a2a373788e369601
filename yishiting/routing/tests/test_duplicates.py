"""Similar open requests offered when filing, and merge candidates (issue 6)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.db import transaction
from django.utils import timezone

from yishiting.requests.actions import (
    do_acknowledge,
    do_reject,
    do_reopen,
    do_resolve,
    do_start,
    do_submit,
)
from yishiting.requests.models import Request
from yishiting.routing.duplicates import (
    index_missing,
    merge_candidates,
    neighbour_halls,
    signature,
    similar_open_requests,
    similarity,
)
from yishiting.routing.models import Fingerprint
from yishiting.testing import County

pytestmark = pytest.mark.django_db

LAMP = "东关村村口的路灯坏了，晚上一片漆黑，老人出门很不方便"


def test_signatures_estimate_similarity() -> None:
    same = similarity(signature(LAMP), signature(LAMP))
    near = similarity(
        signature(LAMP), signature("东关村村口路灯坏了，晚上漆黑一片，老人出门不方便")
    )
    far = similarity(signature(LAMP), signature("学校门口早上堵车严重，需要交警疏导"))
    assert same == 1.0
    assert near > 0.3 > far
    assert similarity(signature(""), signature("")) == 0.0
    assert signature("路灯").dtype == np.uint32 and signature("路灯").shape == (64,)


def test_full_width_and_spacing_do_not_hide_a_duplicate() -> None:
    a = signature("３号楼门口 路灯不亮，已经三天了")
    b = signature("3号楼门口路灯不亮,已经三天了")
    assert similarity(a, b) == 1.0


def test_a_new_request_is_fingerprinted(county: County) -> None:
    req = do_submit(actor=county["resident1"], hall=county.village, text=LAMP)
    fp = Fingerprint.objects.get(request_id=req.pk)
    assert fp.hall_id == county.village.pk
    assert bytes(fp.signature) == signature(f"{req.title} {req.text}").tobytes()


def test_the_fingerprint_commits_with_the_request(county: County) -> None:
    with transaction.atomic():
        req = do_submit(actor=county["resident1"], hall=county.village, text=LAMP)
        # written in the submission's transaction, not in a second one after it
        assert Fingerprint.objects.filter(request_id=req.pk).exists()
        transaction.set_rollback(True)
    assert not Fingerprint.objects.exists()


def test_a_failed_fingerprint_never_stops_a_submission(
    county: County, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(grams: object) -> None:
        raise ValueError("no signature")

    monkeypatch.setattr("yishiting.routing.duplicates._signature", broken)
    with transaction.atomic():
        req = do_submit(actor=county["resident1"], hall=county.village, text=LAMP)
        # the savepoint undid the fingerprint alone: the transaction goes on
        do_acknowledge(req, actor=county["liaison1"])
    assert Request.objects.get(pk=req.pk).status == "acknowledged"
    assert not Fingerprint.objects.exists()
    assert "could not fingerprint request" in caplog.text
    monkeypatch.undo()
    assert index_missing(timezone.now()) == 1


def test_offers_the_same_problem_in_the_hall_and_its_neighbours(county: County) -> None:
    now = timezone.now()
    here = do_submit(actor=county["resident1"], hall=county.village, text=LAMP, now=now)
    next_door = do_submit(
        actor=county["resident2"],
        hall=county.village2,
        text="东关村村口的路灯坏了，晚上一片漆黑",
        now=now,
    )
    other_township = do_submit(actor=county["resident2"], hall=county.village3, text=LAMP, now=now)
    do_submit(actor=county["resident2"], hall=county.village, text="学校门口早上堵车严重", now=now)
    found = similar_open_requests(county.village, "村口路灯坏了，晚上漆黑，老人出门不方便", now)
    ids = [s.request_id for s in found]
    assert ids[:2] == [here.pk, next_door.pk] or set(ids[:2]) == {here.pk, next_door.pk}
    assert other_township.pk not in ids  # village3 is in another township
    assert len(ids) == 2  # the traffic jam is not offered
    assert found[0].similarity >= found[1].similarity
    assert found[0].hall_code in {county.village.code, county.village2.code}


def test_only_open_requests_of_the_last_30_days(county: County) -> None:
    now = timezone.now()
    old = do_submit(
        actor=county["resident1"], hall=county.village, text=LAMP, now=now - timedelta(days=31)
    )
    rejected = do_submit(actor=county["resident1"], hall=county.village, text=LAMP, now=now)
    do_reject(rejected, actor=county["manager1"], reason="重复", now=now)
    assert similar_open_requests(county.village, LAMP, now) == []
    fresh = do_submit(actor=county["resident2"], hall=county.village, text=LAMP, now=now)
    do_acknowledge(fresh, actor=county["liaison1"], now=now)
    assert [s.request_id for s in similar_open_requests(county.village, LAMP, now)] == [fresh.pk]
    assert old.pk not in [s.request_id for s in similar_open_requests(county.village, LAMP, now)]


def test_a_request_leaving_the_open_states_is_no_longer_offered_until_reopened(
    county: County,
) -> None:
    now = timezone.now()
    req = do_submit(actor=county["resident1"], hall=county.village, text=LAMP, now=now)
    do_acknowledge(req, actor=county["liaison1"], now=now + timedelta(minutes=1))
    do_start(req, actor=county["liaison1"], now=now + timedelta(minutes=2))

    def offered() -> list[int]:
        return [s.request_id for s in similar_open_requests(county.village, LAMP, now)]

    assert offered() == [req.pk]
    assert Fingerprint.objects.get(request_id=req.pk).open is True
    do_resolve(req, actor=county["liaison1"], note="已修好", now=now + timedelta(hours=1))
    assert Fingerprint.objects.get(request_id=req.pk).open is False
    assert offered() == []
    do_reopen(req, actor=county["resident1"], reason="又坏了", now=now + timedelta(hours=2))
    assert Fingerprint.objects.get(request_id=req.pk).open is True
    assert offered() == [req.pk]


def test_a_request_filed_already_closed_is_fingerprinted_closed(county: County) -> None:
    now = timezone.now()
    req = do_submit(actor=county["resident1"], hall=county.village, text=LAMP, now=now)
    do_reject(req, actor=county["manager1"], reason="重复", now=now)
    Fingerprint.objects.all().delete()
    assert index_missing(now) == 1  # rewritten from the request as it is now
    assert Fingerprint.objects.get(request_id=req.pk).open is False
    assert similar_open_requests(county.village, LAMP, now) == []


def test_over_the_cap_the_most_recent_candidates_are_compared(
    county: County, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now()
    reqs = [
        do_submit(
            actor=county["resident1"], hall=county.village, text=LAMP, now=now - timedelta(days=d)
        )
        for d in (3, 1, 2)
    ]
    # Equally similar: the newest first (by time, not by id).
    assert [s.request_id for s in similar_open_requests(county.village, LAMP, now)] == [
        reqs[1].pk,
        reqs[2].pk,
        reqs[0].pk,
    ]
    assert [s.request_id for s in similar_open_requests(county.village, LAMP, now, limit=1)] == [
        reqs[1].pk
    ]
    monkeypatch.setattr("yishiting.routing.duplicates.MAX_CANDIDATES", 2)
    found = [s.request_id for s in similar_open_requests(county.village, LAMP, now)]
    assert found == [reqs[1].pk, reqs[2].pk]  # one and two days old


def test_the_migration_marks_fingerprints_of_closed_requests(county: County) -> None:
    from importlib import import_module

    from django.apps import apps

    migration = import_module("yishiting.routing.migrations.0003_fingerprint_open")
    now = timezone.now()
    open_ = do_submit(actor=county["resident1"], hall=county.village, text=LAMP, now=now)
    closed = do_submit(actor=county["resident2"], hall=county.village, text=LAMP, now=now)
    do_reject(closed, actor=county["manager1"], reason="重复", now=now)
    Fingerprint.objects.update(open=True)  # as the added column leaves them
    migration.fill_open(apps, None)
    flags = dict(Fingerprint.objects.values_list("request_id", "open"))
    assert flags == {open_.pk: True, closed.pk: False}


def test_merge_candidates_leave_out_the_request_itself(county: County) -> None:
    now = timezone.now()
    first = do_submit(actor=county["resident1"], hall=county.village, text=LAMP, now=now)
    second = do_submit(actor=county["resident2"], hall=county.village, text=LAMP, now=now)
    assert [s.request_id for s in merge_candidates(second, now)] == [first.pk]


def test_neighbours_are_parent_siblings_and_self(county: County) -> None:
    halls = set(neighbour_halls(county.village))
    assert halls == {county.village.pk, county.village2.pk, county.township.pk}
    assert set(neighbour_halls(county.county)) == {county.county.pk}


def test_missing_fingerprints_are_filled_in(county: County) -> None:
    now = timezone.now()
    req = do_submit(actor=county["resident1"], hall=county.village, text=LAMP, now=now)
    Fingerprint.objects.all().delete()
    assert similar_open_requests(county.village, LAMP, now) == []
    assert index_missing(now) == 1
    assert index_missing(now) == 0
    assert [s.request_id for s in similar_open_requests(county.village, LAMP, now)] == [req.pk]
