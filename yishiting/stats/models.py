"""Rollups: counters of the §5 metrics per scope, per day and per month, per breakdown value.

Written only by `rollups.py` (inside each event's transaction, or by the rebuild); read by
`metrics.py`. A row is keyed by (scope, grain, start, dim, shard):

- `scope`: `h:<hall code>` (the hall and its subtree, by the hall a request was raised in),
  `d:<department id>` (the request's lead department), `c:<county code>:<category id>`;
- `grain`: `d` (a local day) or `m` (a local month, `start` its first day);
- `dim`: `""` for the scope's total, or one breakdown value: `h:<code>` (a child hall),
  `t:<code>` (the township, for department and category scopes), `d:<id>` (department, 0 =
  none yet), `c:<id>` (category, 0 = none), `H:<hour>` (hour of day: `submitted` only),
  `F:<bucket>` / `R:<bucket>` (first-response / resolution time histogram: `n` only);
- `shard`: on PostgreSQL each event adds to one of `rollups.SHARDS` rows of a key, so that
  the county's rows (which every event of the county adds to) are not one row lock that all
  writers queue on; readers sum the shards. The rebuild and SQLite (one writer at a time)
  write shard 0 only.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

# The counters every row carries, in column order (metrics.py says what each one counts).
COUNTERS = (
    "submitted",
    "accepted",
    "solved",
    "rejected",
    "merged",
    "appeals_approved",
    "rated",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "unrated",
    "fr_ended",
    "fr_on_time",
    "resolves",
    "resolves_on_time",
    "closures",
    "rebounds",
    "breaches",
    "supervision_missed",
    "returns_upheld",
    "n",
)


class Rollup(models.Model):
    """Counters of one scope over one day or month, for its total or one breakdown value."""

    scope = models.CharField(_("范围"), max_length=64)
    grain = models.CharField(_("粒度"), max_length=1)
    start = models.DateField(_("起始日"))
    dim = models.CharField(_("分组"), max_length=64, default="", blank=True)
    shard = models.SmallIntegerField(_("分片"), default=0, db_default=0)

    submitted = models.IntegerField(default=0)
    accepted = models.IntegerField(default=0)
    solved = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    merged = models.IntegerField(default=0)
    appeals_approved = models.IntegerField(default=0)
    rated = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    basically_satisfied = models.IntegerField(default=0)
    dissatisfied = models.IntegerField(default=0)
    unrated = models.IntegerField(default=0)
    fr_ended = models.IntegerField(default=0)
    fr_on_time = models.IntegerField(default=0)
    resolves = models.IntegerField(default=0)
    resolves_on_time = models.IntegerField(default=0)
    closures = models.IntegerField(default=0)
    rebounds = models.IntegerField(default=0)
    breaches = models.IntegerField(default=0)
    supervision_missed = models.IntegerField(default=0)
    returns_upheld = models.IntegerField(default=0)
    n = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("统计汇总")
        verbose_name_plural = _("统计汇总")
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "grain", "start", "dim", "shard"], name="rollup_key"
            )
        ]
        # The daily totals of a scope (its `dim=""` day rows) without reading every breakdown.
        indexes = [models.Index(fields=["scope", "dim", "grain", "start"], name="rollup_scope_dim")]

    def __str__(self) -> str:
        return f"{self.scope} {self.grain}{self.start} {self.dim}"
