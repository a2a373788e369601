"""What routing stores: trained classifiers, a county's settings, duplicate fingerprints, the
suggestion each request got at the assignment hall, and the leaders' hotspot snapshots."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from yishiting.orgs.models import Category, Department, Hall
from yishiting.requests.models import Request


class RoutingModel(models.Model):
    """A category classifier trained on one county's dispatched requests; the newest is used."""

    county = models.ForeignKey(
        Hall, verbose_name=_("县"), on_delete=models.CASCADE, related_name="routing_models"
    )
    created_at = models.DateTimeField(_("训练时间"))
    samples = models.PositiveIntegerField(_("样本数"))
    labels = models.JSONField(_("类别"), default=list)
    # Lowest confidence at which cross-validated precision stayed >= 97%; null: never automatic.
    threshold = models.FloatField(_("自动派单阈值"), null=True, blank=True)
    cv_macro_f1 = models.FloatField(_("交叉验证宏F1"), null=True, blank=True)
    train_seconds = models.FloatField(_("训练耗时(秒)"))
    blob = models.BinaryField(_("模型"))

    class Meta:
        verbose_name = _("分类模型")
        verbose_name_plural = _("分类模型")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["county", "-created_at"], name="routing_model_newest")]

    def __str__(self) -> str:
        return f"{self.county} {self.created_at:%Y-%m-%d %H:%M}"


class RoutingSettings(models.Model):
    """A county's routing settings. Automatic dispatch is off until an admin switches it on."""

    county = models.OneToOneField(
        Hall, verbose_name=_("县"), on_delete=models.CASCADE, related_name="routing_settings"
    )
    auto_dispatch = models.BooleanField(
        _("自动派单"),
        default=False,
        help_text=_("置信度达到阈值的诉求直接派给建议部门，无需交办员"),
    )
    min_confidence = models.FloatField(
        _("最低置信度"),
        null=True,
        blank=True,
        help_text=_("留空则用训练时交叉验证得出的阈值（准确率≥97%）；填写则取两者中较高者"),
    )
    # The local date of the last nightly retraining the worker started (claimed with a
    # conditional update, so two workers never train the same night twice).
    retrained_on = models.DateField(_("最近夜间训练"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("智能分办设置")
        verbose_name_plural = _("智能分办设置")

    def __str__(self) -> str:
        return str(self.county)


class Fingerprint(models.Model):
    """A request's MinHash signature over character bigrams, for finding duplicates fast:
    candidates come from the open ones' (hall, created_at) index, similarity from the signatures."""

    request = models.OneToOneField(
        Request, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    # The hall it was filed in (origin_hall): where residents meet the same problem.
    hall = models.ForeignKey(Hall, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    signature = models.BinaryField()
    # How many distinct bigrams it was taken over (0: not known, written before this field):
    # with the signatures' Jaccard estimate it gives how much of a short new text it contains.
    shingles = models.PositiveIntegerField(default=0)
    # Whether the request is in one of the open states (states.OPEN), so the lookup needs no
    # join to the request: written with the fingerprint, kept by `routing.hooks.on_event`
    # whenever an event moves the request into or out of the open states.
    open = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("诉求指纹")
        verbose_name_plural = _("诉求指纹")
        indexes = [
            models.Index(fields=["hall", "created_at"], name="fingerprint_hall_recent"),
            # Open ones only (a partial index): closed requests drop out of the lookup's scan.
            models.Index(
                fields=["hall", "created_at"],
                condition=models.Q(open=True),
                name="fingerprint_hall_open",
            ),
        ]

    def __str__(self) -> str:
        return f"fingerprint of request {self.request_id}"


class RequestSuggestion(models.Model):
    """The category and department suggested for a request when it reached the county's
    assignment hall: computed once (by the worker, or when a dispatcher first opens it)."""

    request = models.OneToOneField(
        Request, primary_key=True, on_delete=models.CASCADE, related_name="suggestion"
    )
    category = models.ForeignKey(
        Category, verbose_name=_("建议分类"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("建议部门"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    confidence = models.FloatField(_("置信度"))
    source = models.CharField(_("来源"), max_length=16)  # "model" or "keywords"
    # The confidence automatic dispatch needed then (null: never automatic, e.g. cold start).
    threshold = models.FloatField(_("自动派单阈值"), null=True, blank=True)
    auto_dispatched = models.BooleanField(_("已自动派单"), default=False)
    created_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("分办建议")
        verbose_name_plural = _("分办建议")

    def __str__(self) -> str:
        return f"suggestion for request {self.request_id}"


class HotspotSnapshot(models.Model):
    """A county's hotspots over the last `days` days, computed by the worker for the leaders'
    page (clustering is too slow to run on every view)."""

    county = models.ForeignKey(Hall, on_delete=models.CASCADE, related_name="+")
    days = models.PositiveSmallIntegerField()
    until = models.DateTimeField()
    computed_at = models.DateTimeField()
    messages = models.PositiveIntegerField(default=0)
    hotspots = models.JSONField(default=list)

    class Meta:
        verbose_name = _("热点快照")
        verbose_name_plural = _("热点快照")
        ordering = ["-computed_at", "-id"]
        indexes = [
            models.Index(fields=["county", "days", "-computed_at"], name="hotspot_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.county} {self.days}d {self.computed_at:%Y-%m-%d %H:%M}"
