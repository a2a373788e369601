"""The demo's deliberation: the e-bike charging story as a finished project with its whole
trail, and topics in every stage in 东关村."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.test import Client

from yishiting.deliberation.models import Meeting, Project, Topic
from yishiting.demo.seed import seed_demo
from yishiting.orgs.models import User
from yishiting.requests.clocks import LOCAL_TZ

NOW = datetime(2026, 6, 17, 15, 20, tzinfo=LOCAL_TZ)


@pytest.mark.django_db
def test_the_e_bike_story_is_done_and_every_stage_is_there() -> None:
    lines: list[str] = []
    seed_demo(requests=20, now=NOW, log=lines.append)
    assert any(line.startswith("deliberation:") for line in lines)
    project = Project.objects.get(title="幸福家园集中充电桩")
    assert project.status == "done" and project.progress == 100 and project.published_at
    trail = list(project.events.values_list("verb", flat=True))
    assert trail[0] == "create" and trail[-2:] == ["accept", "publish"]
    assert {"milestone", "add_request", "complete_milestone", "start_acceptance"} <= set(trail)
    decided = project.meeting
    assert decided.passed and decided.published_at and decided.compelled_by is not None
    assert decided.tallies.count() == 1 and decided.present == 42
    topic = decided.compelled_by
    assert topic.status == "adopted" and topic.supporting_households >= 8
    assert list(topic.comments.values_list("stance", flat=True)).count("against") == 1
    req = project.requests.get()
    assert req.status == "resolved" and req.department.code == "gongdian"
    assert req.attachments.exists()  # the department's photo proof
    acceptance = project.acceptance_meetings.get()
    assert acceptance.passed and acceptance.closed_at <= project.published_at
    # Elsewhere, topics in every stage.
    states = set(Topic.objects.values_list("status", flat=True))
    assert states >= {"open", "compelled", "scheduled", "adopted", "not_adopted", "withdrawn"}
    assert Project.objects.filter(status="reopened", reopen_count=1).exists()
    assert Meeting.objects.filter(late=True, status="draft").exists()
    # The pages show it to resident1 and to the township.
    client = Client()
    client.force_login(User.objects.get(username="resident1"))
    assert client.get(f"/projects/{project.pk}/").status_code == 200
    client.force_login(User.objects.get(username="manager1"))
    late = client.get("/late/").content.decode()
    assert "重修村西排水沟" in late
