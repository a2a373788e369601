"""The admin site's titles; each app registers its own models in its admin.py."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("百姓议事厅 管理后台")
admin.site.site_title = _("百姓议事厅")
admin.site.index_title = _("管理首页")
