"""The rule rows of §9: the 2018 texts with their articles, and the rows in force from
2026-01-01 (the October 2025 amendments of both organic laws). The amended numbers are not
entered here: the 2026 rows repeat the 2018 numbers and say so in `source`, for a county to
check against the amended text and correct in the admin (a new row, no code)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import migrations

CUN = "《村民委员会组织法》"
JU = "《城市居民委员会组织法》"
SILENT = "法律未规定提前通知天数和召集期限，默认不限、15 天，县可另定"
AMENDED = "2025年10月修正、2026年1月1日起施行；数值与条文号暂沿用2018年文本，请按修正后条文核对"

VILLAGE_ASSEMBLY: dict[str, Any] = dict(
    kind="village_assembly", notice_days=10,
    quorum_num=1, quorum_den=2, quorum_strict=True, quorum_of="adults",
    quorum_alt_num=2, quorum_alt_den=3, quorum_alt_strict=False, quorum_alt_of="households",
    majority_num=1, majority_den=2, majority_strict=True, majority_of="present",
    compel_num=1, compel_den=10, compel_of="adults",
    compel_alt_num=1, compel_alt_den=3, compel_alt_of="representatives",
    proxies=True, callers="committee",
)
VILLAGE_REPRESENTATIVES: dict[str, Any] = dict(
    kind="village_representatives", notice_days=0,
    quorum_num=2, quorum_den=3, quorum_strict=False, quorum_of="members",
    majority_num=1, majority_den=2, majority_strict=True, majority_of="present",
    compel_num=1, compel_den=5, compel_of="representatives",
    callers="committee",
)
RESIDENTS_ASSEMBLY: dict[str, Any] = dict(
    kind="residents_assembly", notice_days=0,
    quorum_num=1, quorum_den=2, quorum_strict=True, quorum_of="adults",
    quorum_alt_num=1, quorum_alt_den=2, quorum_alt_strict=True, quorum_alt_of="households",
    majority_num=1, majority_den=2, majority_strict=True, majority_of="present",
    compel_num=1, compel_den=5, compel_of="adults",
    compel_alt_num=1, compel_alt_den=5, compel_alt_of="households",
    proxies=True, callers="committee",
)

ROWS: list[dict[str, Any]] = [
    {**VILLAGE_ASSEMBLY, "effective_from": date(2018, 12, 29),
     "source": f"{CUN}(2018) 第二十一条（十分之一以上村民或三分之一以上村民代表提议应当召集；"
               "提前十天通知）、第二十二条（过半数成年村民或三分之二以上户的代表参加；"
               "到会人员过半数通过）"},
    {**VILLAGE_ASSEMBLY, "effective_from": date(2026, 1, 1),
     "source": f"{CUN}({AMENDED}) 第二十一条、第二十二条"},
    {**VILLAGE_REPRESENTATIVES, "effective_from": date(2018, 12, 29),
     "source": f"{CUN}(2018) 第二十五条（村民委员会成员和村民代表组成）、第二十六条（五分之一"
               f"以上村民代表提议应当召集；三分之二以上组成人员参加方可召开；到会人员过半数"
               f"同意）；{SILENT}"},
    {**VILLAGE_REPRESENTATIVES, "effective_from": date(2026, 1, 1),
     "source": f"{CUN}({AMENDED}) 第二十五条、第二十六条；{SILENT}"},
    {**RESIDENTS_ASSEMBLY, "effective_from": date(2018, 12, 29),
     "source": f"{JU}(2018) 第九条（成年居民或户的代表过半数出席方可举行；出席人过半数通过）、"
               f"第十条（五分之一以上成年居民或五分之一以上的户提议应当召集；按居民小组提议"
               f"未建模）；{SILENT}"},
    {**RESIDENTS_ASSEMBLY, "effective_from": date(2026, 1, 1),
     "source": f"{JU}({AMENDED}) 第九条、第十条；{SILENT}"},
    {"kind": "party_assembly", "effective_from": date(2018, 10, 28), "notice_days": 0,
     "quorum_num": 1, "quorum_den": 2, "quorum_strict": False, "quorum_of": "members",
     "majority_num": 1, "majority_den": 2, "majority_strict": True, "majority_of": "members",
     "callers": "party_branch",
     "source": "《中国共产党支部工作条例（试行）》(2018) 第十二条（半数以上有表决权的党员"
               "到会方可表决，赞成人数超过应到会有表决权的党员的半数为通过）"},
    {"kind": "owners_assembly", "effective_from": date(2021, 1, 1), "notice_days": 15,
     "quorum_num": 2, "quorum_den": 3, "quorum_strict": False, "quorum_of": "households",
     "majority_num": 1, "majority_den": 2, "majority_strict": True, "majority_of": "present",
     "compel_num": 1, "compel_den": 5, "compel_of": "households",
     "vote_unit": "household", "callers": "committee",
     "source": "《民法典》第二百七十八条（三分之二以上业主参与表决，参与表决业主过半数同意；"
               "专有部分面积比例未建模，按户计）、《物业管理条例》第十三条（百分之二十以上业主"
               "提议召开临时会议）、第十四条（会议召开15日以前通知）"},
]  # fmt: skip


def add(apps: Any, schema_editor: Any) -> None:
    Body = apps.get_model("deliberation", "Body")
    for row in ROWS:
        Body.objects.update_or_create(
            kind=row["kind"], effective_from=row["effective_from"], defaults=row
        )


def remove(apps: Any, schema_editor: Any) -> None:
    Body = apps.get_model("deliberation", "Body")
    for row in ROWS:
        Body.objects.filter(kind=row["kind"], effective_from=row["effective_from"]).delete()


class Migration(migrations.Migration):
    dependencies = [("deliberation", "0001_initial")]

    operations = [migrations.RunPython(add, remove)]
