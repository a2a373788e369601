"""What routing stores: trained classifiers, a county's settings, and duplicate fingerprints."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from yishiting.orgs.models import Hall
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

    class Meta:
        verbose_name = _("智能分办设置")
        verbose_name_plural = _("智能分办设置")

    def __str__(self) -> str:
        return str(self.county)


class Fingerprint(models.Model):
    """A request's MinHash signature over character bigrams, for finding duplicates fast:
    candidates come from the (hall, created_at) index, similarity from the signatures."""

    request = models.OneToOneField(
        Request, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    # The hall it was filed in (origin_hall): where residents meet the same problem.
    hall = models.ForeignKey(Hall, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    signature = models.BinaryField()

    class Meta:
        verbose_name = _("诉求指纹")
        verbose_name_plural = _("诉求指纹")
        indexes = [models.Index(fields=["hall", "created_at"], name="fingerprint_hall_recent")]

    def __str__(self) -> str:
        return f"fingerprint of request {self.request_id}"
