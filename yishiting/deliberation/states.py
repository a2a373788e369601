"""States and verbs of topics, meetings, projects and 四议两公开: pure data, no database.

`actions.py` asks `check(kind, verb, state)` before every write; anything not in these tables
is refused with 409 `illegal_transition` and changes nothing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from yishiting.core.errors import IllegalTransitionError


class TopicState(StrEnum):
    """Where a topic (议题) stands."""

    OPEN = "open"  # being discussed and supported
    COMPELLED = "compelled"  # support crossed a compel threshold: a meeting must be convened
    SCHEDULED = "scheduled"  # on a meeting's agenda
    ADOPTED = "adopted"
    NOT_ADOPTED = "not_adopted"
    WITHDRAWN = "withdrawn"


TOPIC_LABELS: dict[TopicState, Any] = {
    TopicState.OPEN: _("讨论中"),
    TopicState.COMPELLED: _("待召集"),
    TopicState.SCHEDULED: _("已列入议程"),
    TopicState.ADOPTED: _("已通过"),
    TopicState.NOT_ADOPTED: _("未通过"),
    TopicState.WITHDRAWN: _("已撤回"),
}
TOPIC_CHOICES = [(s.value, TOPIC_LABELS[s]) for s in TopicState]


class MeetingState(StrEnum):
    """Where a meeting stands."""

    DRAFT = "draft"  # agenda being set; a compelled meeting waits here to be convened
    NOTIFIED = "notified"  # notice sent with the pre-read
    IN_SESSION = "in_session"  # sign-in and voting open
    CLOSED = "closed"  # resolution stored
    CANCELLED = "cancelled"


MEETING_LABELS: dict[MeetingState, Any] = {
    MeetingState.DRAFT: _("筹备中"),
    MeetingState.NOTIFIED: _("已通知"),
    MeetingState.IN_SESSION: _("会议中"),
    MeetingState.CLOSED: _("已结束"),
    MeetingState.CANCELLED: _("已取消"),
}
MEETING_CHOICES = [(s.value, MEETING_LABELS[s]) for s in MeetingState]


class ProjectState(StrEnum):
    """Where a project (from an adopted resolution) stands."""

    IN_PROGRESS = "in_progress"
    ACCEPTANCE = "acceptance"  # residents are voting to accept the work
    DONE = "done"
    REOPENED = "reopened"  # acceptance failed: the work goes on


PROJECT_LABELS: dict[ProjectState, Any] = {
    ProjectState.IN_PROGRESS: _("实施中"),
    ProjectState.ACCEPTANCE: _("验收表决中"),
    ProjectState.DONE: _("已完成"),
    ProjectState.REOPENED: _("验收未通过，重新实施"),
}
PROJECT_CHOICES = [(s.value, PROJECT_LABELS[s]) for s in ProjectState]

T, M, P = TopicState, MeetingState, ProjectState
_WORKING = frozenset({P.IN_PROGRESS, P.REOPENED})

# verb → (states it is legal from, state it leads to; None = unchanged)
TABLES: dict[str, dict[str, tuple[frozenset[Any], Any]]] = {
    "topic": {
        "comment": (frozenset(TopicState), None),
        "support": (frozenset({T.OPEN, T.COMPELLED, T.SCHEDULED}), None),
        "compel": (frozenset({T.OPEN}), T.COMPELLED),
        "schedule": (frozenset({T.OPEN, T.COMPELLED}), T.SCHEDULED),
        "adopt": (frozenset({T.SCHEDULED}), T.ADOPTED),
        "not_adopt": (frozenset({T.SCHEDULED}), T.NOT_ADOPTED),
        "unschedule": (frozenset({T.SCHEDULED}), T.OPEN),
        "link": (frozenset({T.OPEN, T.COMPELLED, T.SCHEDULED}), None),
        "withdraw": (frozenset({T.OPEN}), T.WITHDRAWN),
    },
    "meeting": {
        "agenda": (frozenset({M.DRAFT}), None),
        "notify": (frozenset({M.DRAFT}), M.NOTIFIED),
        "open": (frozenset({M.NOTIFIED}), M.IN_SESSION),
        "sign_in": (frozenset({M.IN_SESSION}), None),
        "vote": (frozenset({M.IN_SESSION}), None),
        "tally": (frozenset({M.IN_SESSION}), None),
        "close": (frozenset({M.IN_SESSION}), M.CLOSED),
        "publish": (frozenset({M.CLOSED}), None),
        "cancel": (frozenset({M.DRAFT, M.NOTIFIED}), M.CANCELLED),
        "late": (frozenset(MeetingState), None),  # the sweep: a convene or publicity clock ran out
    },
    "project": {
        "milestone": (_WORKING, None),
        "complete_milestone": (_WORKING, None),
        "progress": (_WORKING, None),
        "add_request": (_WORKING, None),
        "start_acceptance": (_WORKING, P.ACCEPTANCE),
        "accept": (frozenset({P.ACCEPTANCE}), P.DONE),
        "reject": (frozenset({P.ACCEPTANCE}), P.REOPENED),
        "publish": (frozenset({P.DONE}), None),
        "follow": (frozenset(ProjectState), None),
        "late": (frozenset(ProjectState), None),
    },
}


KIND_LABELS: dict[str, Any] = {"topic": _("议题"), "meeting": _("会议"), "project": _("项目")}
LABELS: dict[str, dict[Any, Any]] = {
    "topic": TOPIC_LABELS,
    "meeting": MEETING_LABELS,
    "project": PROJECT_LABELS,
}
# What a message calls each verb of the tables.
VERB_LABELS: dict[str, Any] = {
    "comment": pgettext_lazy("verb", "评论"),
    "support": pgettext_lazy("verb", "联名支持"),
    "compel": pgettext_lazy("verb", "依法提请召集"),
    "schedule": pgettext_lazy("verb", "列入议程"),
    "adopt": pgettext_lazy("verb", "通过"),
    "not_adopt": pgettext_lazy("verb", "未通过"),
    "unschedule": pgettext_lazy("verb", "移出议程"),
    "link": pgettext_lazy("verb", "关联诉求"),
    "withdraw": pgettext_lazy("verb", "撤回"),
    "agenda": pgettext_lazy("verb", "修改议程"),
    "notify": pgettext_lazy("verb", "发送通知"),
    "open": pgettext_lazy("verb", "宣布开会"),
    "sign_in": pgettext_lazy("verb", "签到"),
    "vote": pgettext_lazy("verb", "投票"),
    "tally": pgettext_lazy("verb", "录入纸质选票"),
    "close": pgettext_lazy("verb", "宣布散会"),
    "publish": pgettext_lazy("verb", "公开"),
    "cancel": pgettext_lazy("verb", "取消"),
    "late": pgettext_lazy("verb", "逾期"),
    "milestone": pgettext_lazy("verb", "新增项目节点"),
    "complete_milestone": pgettext_lazy("verb", "完成项目节点"),
    "progress": pgettext_lazy("verb", "更新进度"),
    "add_request": pgettext_lazy("verb", "派发诉求"),
    "start_acceptance": pgettext_lazy("verb", "发起验收表决"),
    "accept": pgettext_lazy("verb", "验收通过"),
    "reject": pgettext_lazy("verb", "验收未通过"),
    "follow": pgettext_lazy("verb", "关注"),
}


def label(kind: str, state: str) -> str:
    """A topic's, meeting's or project's state as a person reads it (the code if unknown)."""
    for key, text in LABELS[kind].items():
        if key == state:
            return str(text)
    return state


def check(kind: str, verb: str, state: str) -> str:
    """The state `verb` leads a `kind` in `state` to, or IllegalTransitionError (409)."""
    rule = TABLES[kind].get(verb)
    if rule is None:
        raise IllegalTransitionError(
            gettext("%(kind)s：没有“%(verb)s”这个操作") % {"kind": KIND_LABELS[kind], "verb": verb}
        )
    sources, to = rule
    if state not in {s.value for s in sources}:
        raise IllegalTransitionError(
            gettext("%(kind)s“%(state)s”状态下不能“%(verb)s”")
            % {
                "kind": KIND_LABELS[kind],
                "state": label(kind, state),
                "verb": VERB_LABELS.get(verb, verb),
            }
        )
    return state if to is None else str(to.value)


def allowed(kind: str, state: str) -> list[str]:
    """Verbs legal from `state` (for pages and the API to offer)."""
    return [v for v, (sources, _to) in TABLES[kind].items() if state in {s.value for s in sources}]


# --- 四议两公开 -------------------------------------------------------------------------------

STEPS: tuple[tuple[str, str], ...] = (
    ("branch_proposal", "党支部提议"),
    ("committees_discuss", "两委商议"),
    ("party_review", "党员大会审议"),
    ("villagers_resolve", "村民代表会议或村民会议决议"),
    ("publish_resolution", "决议公开"),
    ("publish_results", "实施结果公开"),
)
STEP_CODES = [code for code, _name in STEPS]
STEP_CHOICES = [(code, name) for code, name in STEPS]
# The steps' names in the interface language (STEPS keeps the statute's Chinese for records).
STEP_LABELS: dict[str, Any] = {
    "branch_proposal": _("党支部提议"),
    "committees_discuss": _("两委商议"),
    "party_review": _("党员大会审议"),
    "villagers_resolve": _("村民代表会议或村民会议决议"),
    "publish_resolution": _("决议公开"),
    "publish_results": _("实施结果公开"),
}


def next_step(done: list[str]) -> str | None:
    """The step that comes next after the steps already recorded (in order), or None."""
    if len(done) >= len(STEPS):
        return None
    return STEP_CODES[len(done)]
