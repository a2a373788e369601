"""A small county for tests, with the demo's named people (PRODUCT.md §8)."""

from __future__ import annotations

from dataclasses import dataclass

from yishiting.orgs.models import (
    Category,
    CountyRules,
    Department,
    Hall,
    HallKind,
    Membership,
    Priority,
    Role,
    User,
)


@dataclass
class County:
    """Named halls, departments and people of the test county."""

    county: Hall
    township: Hall
    township2: Hall
    village: Hall
    village2: Hall
    village3: Hall
    assignment: Hall
    dept: Department
    dept2: Department
    streetlight: Category
    sewage: Category
    people: dict[str, User]

    def __getitem__(self, username: str) -> User:
        return self.people[username]


def _hall(code: str, name: str, kind: HallKind, parent: Hall | None = None) -> Hall:
    return Hall.objects.create(code=code, name=name, kind=kind, parent=parent)


def _user(username: str, name: str, phone: str = "") -> User:
    user = User(username=username, display_name=name, phone=phone)
    user.set_unusable_password()
    user.save()
    return user


def build_county() -> County:
    """One county, two townships, three villages, an assignment hall, two departments."""
    county = _hall("130500", "测试县", HallKind.COUNTY)
    township = _hall("130500001", "东关镇", HallKind.TOWNSHIP, county)
    township2 = _hall("130500002", "西关镇", HallKind.TOWNSHIP, county)
    village = _hall("130500001001", "东关村", HallKind.VILLAGE, township)
    village2 = _hall("130500001002", "北街村", HallKind.VILLAGE, township)
    village3 = _hall("130500002001", "西关村", HallKind.VILLAGE, township2)
    assignment = _hall("130500900", "测试县部门集中交办厅", HallKind.ASSIGNMENT, county)
    CountyRules.objects.create(county=county)  # the defaults of §3.1, as a row admins edit
    dept = Department.objects.create(code="zhujian", name="住建局", county=county)
    dept2 = Department.objects.create(code="gongdian", name="供电公司", county=county)
    streetlight = Category.objects.create(
        code="streetlight", name="路灯照明", department=dept, on_site=True
    )
    sewage = Category.objects.create(
        code="sewage", name="污水外溢", department=dept, default_priority=Priority.URGENT
    )
    people = {
        "resident1": _user("resident1", "王秀兰", "13812345678"),
        "resident2": _user("resident2", "李建国", "13987654321"),
        "liaison1": _user("liaison1", "张丽"),
        "liaison2": _user("liaison2", "赵强"),
        "liaison3": _user("liaison3", "孙梅"),
        "manager1": _user("manager1", "刘志刚"),
        "dispatcher1": _user("dispatcher1", "陈静"),
        "dept1": _user("dept1", "周明"),
        "dept2": _user("dept2", "吴磊"),
        "duty1": _user("duty1", "郑华"),
        "leader1": _user("leader1", "马书记"),
    }
    admin = _user("admin", "管理员")
    admin.is_superuser = admin.is_staff = True
    admin.save()
    people["admin"] = admin
    roles = [
        ("liaison1", Role.LIAISON, village, None),
        ("liaison2", Role.LIAISON, village2, None),
        ("liaison3", Role.LIAISON, village3, None),
        ("manager1", Role.MANAGER, township, None),
        ("dispatcher1", Role.DISPATCHER, assignment, None),
        ("dept1", Role.DEPARTMENT, None, dept),
        ("dept2", Role.DEPARTMENT, None, dept2),
        ("duty1", Role.DUTY, county, None),
        ("leader1", Role.LEADER, county, None),
    ]
    for username, role, hall, department in roles:
        Membership.objects.create(
            user=people[username], role=role, hall=hall, department=department
        )
    return County(
        county=county,
        township=township,
        township2=township2,
        village=village,
        village2=village2,
        village3=village3,
        assignment=assignment,
        dept=dept,
        dept2=dept2,
        streetlight=streetlight,
        sewage=sewage,
        people=people,
    )


def png_bytes(width: int = 64, height: int = 48, color: str = "orange") -> bytes:
    """A small real PNG photo."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


DEADLINE_COLUMNS = ("respond_by", "claim_by", "resolve_by", "rate_by", "supervise_by", "forward_by")


def next_deadline(req):  # type: ignore[no-untyped-def]
    """The next deadline the sweep will act on, leaving the 50% / 80% warnings aside (they
    also count in `next_due_at`): every deadline from `next_due_at` on is still pending."""
    if req.next_due_at is None:
        return None
    pending = [d for name in DEADLINE_COLUMNS if (d := getattr(req, name)) and d >= req.next_due_at]
    return min(pending, default=None)
