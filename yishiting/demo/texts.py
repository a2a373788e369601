"""Words for the demo county: place names, people's names and request texts.

Everything here was written for this project (no dataset was copied). Request texts are
templates with slots (where, how long, what it causes) so that a thousand of them read
naturally and still vary; `request_text` fills them from a seeded random generator.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

# --- people --------------------------------------------------------------------------------

SURNAMES = (
    "王王王李李李张张张刘刘刘杨杨赵赵陈陈郭郭马马孙高田韩吴徐"
    "周朱胡林何宋郑谢董冯程曹袁邓许沈曾彭吕苏卢蒋贾丁魏薛崔史"
    "侯邢范岳耿齐尹段秦翟牛霍路武常乔葛贺安石孟宁闫任康"
)
MALE_1 = "建志国海春永晓振文立德金宝瑞明俊伟洪保庆长新卫利树增广"
MALE_2 = "国强军明华平林涛峰刚东杰勇龙亮磊生民伟超斌鹏辉旺发"
FEMALE_1 = "秀桂淑玉丽春红美晓彩凤雅佳欣翠素爱巧月艳"
FEMALE_2 = "兰英芳梅霞华珍娟敏燕静荣琴丽婷云萍娥香"


def person_name(rng: random.Random) -> str:
    """A plausible Chinese name (surname + one or two characters)."""
    surname = rng.choice(SURNAMES)
    if rng.random() < 0.5:
        first, second = MALE_1, MALE_2
    else:
        first, second = FEMALE_1, FEMALE_2
    if rng.random() < 0.2:
        return surname + rng.choice(second)
    return surname + rng.choice(first) + rng.choice(second)


def phone(rng: random.Random) -> str:
    """A fake mobile number: a real-looking prefix, then 0000 and four digits."""
    return f"1{rng.choice('358')}{rng.randint(0, 9)}0000{rng.randint(0, 9999):04d}"


# --- places ----------------------------------------------------------------------------------

COUNTY_NAME = "龙尧县（演示）"
ASSIGNMENT_NAME = "龙尧县部门集中交办厅"
# (name, is_street, villages, communities)
TOWNSHIPS = [
    ("东关镇", False, 26, 1),
    ("西关镇", False, 24, 0),
    ("柳林镇", False, 28, 0),
    ("石桥镇", False, 25, 0),
    ("杏园镇", False, 27, 0),
    ("双井镇", False, 30, 0),
    ("白塔乡", False, 22, 0),
    ("南河乡", False, 29, 0),
    ("青龙乡", False, 26, 0),
    ("马庄乡", False, 29, 0),
    ("城东街道", True, 5, 4),
    ("城西街道", True, 5, 4),
]
COMMUNITIES = [
    "东关社区",
    "育才社区",
    "民主社区",
    "光明社区",
    "和平社区",
    "新华社区",
    "建设社区",
    "幸福社区",
    "朝阳社区",
]
# Compounds under each community, in the order above (138 in all).
COMPOUNDS_PER_COMMUNITY = [15, 16, 14, 17, 15, 16, 15, 16, 14]
FIRST_VILLAGES = ["东关村", "北街村", "南关村"]

_VILLAGE_DIRS = "东西南北前后大小"
_VILLAGE_PATTERNS = (
    "{s}家庄",
    "{d}{s}庄",
    "{s}庄",
    "{s}家营",
    "{d}{s}营",
    "{s}屯",
    "{s}寨",
    "{s}官庄",
    "{s}辛庄",
    "{d}辛庄",
    "{s}家口",
    "{s}家桥",
    "{s}店",
    "{d}{s}",
    "{s}家楼",
    "{s}家湾",
)
_COMPOUND_PREFIX = [
    "阳光",
    "锦绣",
    "金泰",
    "盛世",
    "翰林",
    "学府",
    "富康",
    "安居",
    "祥和",
    "御景",
    "紫荆",
    "丽景",
    "尧都",
    "华府",
    "滨河",
    "东方",
    "明珠",
    "康乐",
    "水岸",
    "世纪",
    "铭都",
    "凤凰",
    "绿洲",
    "书香",
    "泰和",
    "鑫源",
    "嘉禾",
    "润泽",
    "怡景",
    "恒信",
]
_COMPOUND_SUFFIX = ("小区", "花园", "家园", "苑", "名居", "新城")
_FAMILY_COMPOUNDS = (
    "供电公司家属院",
    "教育局家属院",
    "粮食局家属院",
    "棉纺厂家属院",
    "农机站家属院",
    "水利局家属院",
    "医院家属院",
    "老化肥厂宿舍",
)


def village_names(rng: random.Random, count: int) -> list[str]:
    """`count` distinct village names, the first few fixed (东关村 for liaison1)."""
    names = list(FIRST_VILLAGES[:count])
    seen = set(names)
    while len(names) < count:
        name = (
            rng.choice(_VILLAGE_PATTERNS).format(
                s=rng.choice(SURNAMES), d=rng.choice(_VILLAGE_DIRS)
            )
            + "村"
        )
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def compound_names(rng: random.Random, count: int) -> list[str]:
    """`count` distinct compound names: estates and old work-unit compounds."""
    names: list[str] = []
    seen: set[str] = set()
    family = list(_FAMILY_COMPOUNDS)
    while len(names) < count:
        if family and rng.random() < 0.08:
            name = family.pop(0)
        else:
            name = rng.choice(_COMPOUND_PREFIX) + rng.choice(_COMPOUND_SUFFIX)
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


VILLAGE_PLACES = (
    "{hall}村口",
    "{hall}东头",
    "{hall}西头",
    "{hall}南街",
    "{hall}北街",
    "{hall}中心大街",
    "{hall}小学门口",
    "{hall}文化广场",
    "{hall}村委会门口",
    "{hall}卫生室旁边",
    "{hall}后街",
    "{hall}{n}组",
    "{hall}通往镇上的路口",
    "{hall}东边的桥头",
    "{hall}水塔附近",
    "{hall}幼儿园门口",
    "{hall}南边的十字路口",
    "{hall}老供销社门口",
)
COMMUNITY_PLACES = (
    "{hall}办公楼前",
    "{hall}辖区的人民路",
    "{hall}辖区的建设街",
    "{hall}东侧的小游园",
    "{hall}农贸市场门口",
    "{hall}老年活动中心门口",
    "{hall}附近的公交站",
    "{hall}辖区的胜利路和团结街路口",
    "{hall}西边的背街小巷",
)
# Compound places by what the problem needs: a building, the grounds or the street outside.
COMPOUND_PLACES = {
    "building": ("{hall}{b}号楼", "{hall}{b}号楼{u}单元"),
    "grounds": (
        "{hall}南门",
        "{hall}北门",
        "{hall}地下车库",
        "{hall}中间的小广场",
        "{hall}{b}号楼前面",
        "{hall}东边的停车场",
    ),
    "street": ("{hall}大门口", "{hall}门口的马路上", "{hall}南门外的路口", "{hall}北门外"),
}

DURATIONS = (
    "两三天",
    "好几天",
    "一个多星期",
    "快半个月",
    "四五天",
    "十来天",
    "三天",
    "一个来月",
    "两天",
    "一个星期",
)


def place(rng: random.Random, kind: str, hall_name: str, at: str = "any") -> str:
    """Where in a hall's area the problem is (`at`: street, grounds, building, any, hall)."""
    if at == "hall":
        return hall_name
    if kind == "compound":
        pool = COMPOUND_PLACES.get(at) or sum(COMPOUND_PLACES.values(), ())
    else:
        pool = COMMUNITY_PLACES if kind == "community" else VILLAGE_PLACES
    return rng.choice(pool).format(
        hall=hall_name, n=rng.choice("一二三四五六"), b=rng.randint(1, 18), u=rng.randint(1, 4)
    )


# --- request texts by category -------------------------------------------------------------
# Each category has a few cases: a title, one or more texts, and how a department (`fix`) or
# the hall itself (`local`) reports having fixed it. Slots: {where} (see `at`), {dur} (how
# long it has lasted), {x} and {y} (the case's own lists), {m} (a small number, in notes).


@dataclass(frozen=True)
class Case:
    """One kind of problem within a category, with its words from report to fix."""

    title: str
    texts: tuple[str, ...]
    fix: tuple[str, ...]
    local: tuple[str, ...] = ()
    at: str = "any"  # street | grounds | building | any | hall (the hall's name itself)
    x: tuple[str, ...] = ()
    y: tuple[str, ...] = ()


def C(
    title: str,
    texts: list[str],
    fix: list[str],
    local: list[str] | None = None,
    *,
    at: str = "any",
    x: list[str] | None = None,
    y: list[str] | None = None,
) -> Case:
    """Shorthand for a Case."""
    return Case(
        title, tuple(texts), tuple(fix), tuple(local or ()), at, tuple(x or ()), tuple(y or ())
    )


_DARK = [
    "孩子放学回家路上黑乎乎的",
    "老人晚上出来遛弯看不清路",
    "前两天还有人骑车摔了一跤",
    "下夜班回来一片漆黑，心里发怵",
]
_BUMPY = [
    "下雨天全是水，根本看不出哪里有坑",
    "电动车经过颠得厉害",
    "晚上骑车容易摔倒",
    "拉粮食的三轮车过不去",
    "学生上学每天都要走这条路",
]
_POWER = [
    "冰箱里的东西都要坏了",
    "家里老人离不开制氧机",
    "空调电扇都带不动",
    "家里的水泵抽不上水来",
    "孩子写作业只能点蜡烛",
]
_WATER = ["做饭洗衣服都成问题", "家里老人孩子用水很不方便", "只能去亲戚家拉水"]
_STINK = ["臭味熏得人不敢开窗", "出门都得绕着走", "苍蝇蚊子特别多", "孩子们上学必须从这里过"]
_FLOOD = ["水都漫过脚脖子", "车开过去溅人一身", "路边几户人家的院子都进水了", "老人孩子根本过不去"]
_TRASH = ["风一刮满街都是塑料袋", "天热了臭味很大", "野狗天天来扒", "苍蝇到处飞"]
_DIRTY = ["又脏又臭", "路过的人都捂着鼻子", "夏天蚊虫特别多", "太影响环境了"]
_FIRE = [
    "楼道本来就窄，着火了人都跑不出去",
    "前段时间新闻上说别的地方就出过事",
    "线头就搭在暖气管子上",
    "老人上下楼都被绊过",
]
_COLD = ["老人孩子冻得直感冒", "晚上睡觉得盖两床被子", "家里只能开电暖气", "打了好几次电话都没人来"]
_NOISE = ["家里老人晚上睡不着觉", "孩子要中考了没法学习", "上夜班的人白天根本休息不好"]
_CROSSING = ["路口车和人乱成一团", "孩子们上学过马路很不安全", "差点出了事故"]

CASES: dict[str, list[Case]] = {
    "streetlight": [
        C(
            "{where}路灯不亮",
            [
                "{where}的路灯已经坏了{dur}，晚上{x}，希望尽快修一下。",
                "反映个事：{where}那一段路灯全灭了，已经{dur}，{x}，麻烦派人看看。",
            ],
            [
                "已更换损坏的灯头和线路，经现场测试路灯恢复正常照明。",
                "维修人员到场检修，更换了{m}套LED灯头，路灯已正常亮灯。",
            ],
            ["村里请电工更换了灯泡和线头，路灯已经亮了。", "联络员联系电工到场维修，已恢复照明。"],
            at="street",
            x=_DARK,
        ),
        C(
            "{where}路灯白天亮晚上灭",
            ["{where}的路灯白天亮着晚上反而不亮，是不是控制器坏了？{x}。"],
            ["维修人员到场检修，更换了光控开关，路灯已按时亮灭。"],
            ["电工重新调整了路灯的时控开关，已恢复正常。"],
            at="street",
            x=_DARK,
        ),
        C(
            "{where}路灯忽明忽暗",
            ["{where}的路灯一闪一闪的，有时候干脆不亮，{x}，请帮忙维修。"],
            ["已更换老化的镇流器和接线端子，路灯工作正常。"],
            ["电工更换了接触不良的线头，路灯已正常。"],
            at="street",
            x=_DARK,
        ),
        C(
            "{where}没有路灯",
            ["{where}这一段一直没有路灯，{x}，希望能安装几盏。"],
            ["已在该路段新装太阳能路灯{m}盏，已投入使用。"],
            ["村里用集体经费安装了{m}盏太阳能路灯。"],
            at="street",
            x=_DARK,
        ),
    ],
    "road": [
        C(
            "{where}路面坑洼",
            ["{where}的路面坑坑洼洼，{x}，{dur}了也没人修，希望尽快修补。"],
            [
                "已对破损路面进行切割修补，面积约{m}平方米，已恢复通行。",
                "养护队已用沥青冷补料修补坑槽，并设置了警示标志。",
            ],
            ["村里组织人员用砖石和水泥把坑填平了。"],
            at="street",
            x=_BUMPY,
        ),
        C(
            "{where}路面塌陷",
            ["{where}路中间塌了一个坑，大概{y}宽，{x}，太危险了。"],
            ["已设置围挡，对塌陷处回填夯实并重新硬化，已恢复通行。"],
            ["先设置了警示桩，组织人员回填夯实，已能正常通行。"],
            at="street",
            x=_BUMPY,
            y=["半米", "一米多", "一米", "七八十公分"],
        ),
        C(
            "{where}水泥路开裂",
            [
                "{where}那段水泥路裂了好几道大口子，{x}，请相关部门看看。",
                "{where}的路被拉土的大车压坏了，{dur}一直这样，{x}。",
            ],
            [
                "已对开裂破损路段进行灌缝和局部翻修。",
                "已将该路段列入农村公路养护计划，并完成修补。",
            ],
            ["已用水泥对裂缝进行了修补。"],
            at="street",
            x=_BUMPY,
        ),
    ],
    "guardrail": [
        C(
            "{where}护栏被撞坏",
            ["{where}的道路护栏被车撞坏了，{x}，请尽快修复。"],
            [
                "养护人员40分钟到场，已更换被撞坏的护栏{m}米。",
                "已拆除损坏护栏并重新安装，现场已清理。",
            ],
            ["已设置临时警示锥桶，并上报道路养护部门。"],
            at="street",
            x=[
                "断开的铁栏杆伸到路上，很危险",
                "路边就是沟，车开过去心里没底",
                "晚上看不清容易撞上",
            ],
        ),
        C(
            "{where}减速带损坏",
            ["{where}的减速带掉了一半，螺丝都露在外面，{x}。"],
            ["已重新安装减速带并紧固螺栓。"],
            at="street",
            x=["晚上看不清容易扎轮胎", "旁边就是学校，孩子们每天经过"],
        ),
        C(
            "{where}标志牌歪倒",
            ["{where}的交通标志牌被风刮歪了，{x}，看着随时要掉下来。"],
            ["已扶正标志牌并加固立柱。", "已更换损坏的标志牌。"],
            at="street",
            x=["旁边就是学校，孩子们每天经过", "下面天天有人走"],
        ),
    ],
    "power": [
        C(
            "{where}停电",
            ["{where}从{x}就停电了，到现在还没来，{y}，请供电部门尽快抢修。"],
            [
                "抢修人员到场排查，更换了烧坏的跌落式熔断器，已恢复供电。",
                "低压线路故障已排除，恢复供电。",
            ],
            ["村电工检查后更换了总闸，已恢复供电。"],
            x=["今天早上", "昨天晚上", "中午十二点多", "下午三点多", "半夜"],
            y=_POWER,
        ),
        C(
            "{where}电压低",
            ["{where}这{dur}电压特别低，{y}，希望能解决一下。"],
            [
                "已对台区变压器进行调档，电压恢复正常。",
                "已对该台区进行负荷调整，用户端电压恢复正常。",
            ],
            y=_POWER,
        ),
        C(
            "{where}经常跳闸",
            ["{where}一到晚上用电高峰就跳闸，{dur}了，{y}。"],
            ["已更换台区漏电保护器，并对线路进行了排查。"],
            ["电工排查出一户漏电，已整改，不再跳闸。"],
            y=_POWER,
        ),
        C(
            "{where}变压器异响后停电",
            ["{where}的变压器响得厉害，然后就停电了，{y}。"],
            ["抢修人员连夜更换了故障变压器，已恢复供电。"],
            y=_POWER,
        ),
    ],
    "wire": [
        C(
            "{where}电线杆倾斜",
            ["{where}的电线杆歪得厉害，{x}，怕哪天倒了砸着人。"],
            ["已对倾斜电杆进行扶正加固，并加装了拉线。"],
            at="street",
            x=["下雨天更危险", "旁边就是小学"],
        ),
        C(
            "{where}电线下垂",
            ["{where}有一根电线耷拉得很低，{x}，请派人处理。"],
            ["已对下垂导线进行紧线处理，对地距离符合要求。"],
            at="street",
            x=["大车经过都能挂到", "小孩子伸手就能够着"],
        ),
        C(
            "{where}私拉电线",
            ["{where}有人私拉电线，{x}，存在安全隐患。"],
            ["已拆除私拉电线，并对住户进行了安全用电宣传。"],
            ["已劝导住户拆除私拉的电线。"],
            x=["电线就搭在树上", "横穿马路，离地很低"],
        ),
        C(
            "{where}电线与树枝缠绕",
            ["{where}的电线和树枝缠在一起，刮风的时候直冒火星，{x}。"],
            ["已清理与线路接触的树枝，并对线路进行了检查。"],
            ["找人把碰到电线的树枝锯掉了。"],
            at="street",
            x=["旁边就是麦秸垛", "下面就是住户"],
        ),
    ],
    "water": [
        C(
            "{where}停水",
            ["{where}{x}停水了，也没有提前通知，{y}。"],
            ["供水管网抢修完毕，已恢复供水。", "已更换破裂的供水管道，恢复正常供水。"],
            ["请人修好了水泵，已经正常供水。"],
            x=["从昨天下午就", "今天一早就", "从前天晚上就"],
            y=_WATER,
        ),
        C(
            "{where}水压低",
            ["{where}的自来水水压太低，{dur}了，只能半夜接水，{y}。"],
            ["已对加压泵站进行检修，水压恢复正常。"],
            y=_WATER,
        ),
        C(
            "{where}自来水管漏水",
            ["{where}地下的自来水管漏了，水一直往外冒，{dur}了，{x}。"],
            ["已开挖更换漏水管段，路面已恢复。"],
            ["找人修好了漏水的管子。"],
            at="street",
            x=["白白浪费了不少水", "路面都泡坏了"],
        ),
        C(
            "{where}自来水发黄",
            ["{where}的自来水发黄，还有股味儿，{dur}了，不敢喝，希望检测一下。"],
            ["已对管网进行冲洗，水质检测合格。"],
        ),
    ],
    "sewage": [
        C(
            "{where}下水道堵塞",
            ["{where}的下水道堵了，污水冒到路上，{x}，{dur}了。"],
            ["已用吸污车对堵塞管道进行疏通，现场已清理消毒。"],
            ["已组织人员疏通下水道，现场已冲洗干净。"],
            at="street",
            x=_STINK,
        ),
        C(
            "{where}化粪池满溢",
            ["{where}的化粪池满了往外溢，{x}，请尽快清掏。"],
            ["化粪池已清掏完毕，周边已冲洗消毒。"],
            ["联系吸污车半天内清掏完毕，现场已清理。"],
            at="grounds",
            x=_STINK,
        ),
        C(
            "{where}下水返水",
            ["{where}一楼的下水返水，{x}，住户苦不堪言。"],
            ["已疏通主排污管道，一楼返水问题已解决。"],
            ["物业已疏通下水管道，一楼返水问题已解决。"],
            at="building",
            x=["屋里全是臭味", "卫生间地面全是污水"],
        ),
    ],
    "drainage": [
        C(
            "{where}积水严重",
            ["昨天那场雨下完，{where}积了一大片水，{x}，到现在还没排下去。"],
            ["已用抽水泵排水，并清理了排水沟。"],
            ["组织人员挖开排水沟，积水已排走。"],
            at="street",
            x=_FLOOD,
        ),
        C(
            "{where}排水不畅",
            [
                "{where}每次下雨都积水，{x}，希望把排水沟疏通一下。",
                "{where}的雨水篦子被堵死了，一下雨就{x}。",
            ],
            ["已疏通雨水管道和雨水篦子，积水已排除。"],
            ["已清理排水沟里的淤泥和杂物，排水通畅了。"],
            at="street",
            x=_FLOOD,
        ),
    ],
    "garbage": [
        C(
            "{where}垃圾没人清运",
            [
                "{where}的垃圾桶满了{dur}没人拉，{x}。",
                "{where}的垃圾清运不及时，{dur}才来一次，{x}。",
            ],
            ["环卫车辆已将积存垃圾全部清运，并调整了清运频次。"],
            ["保洁员30分钟内到场清运完毕。", "已清运完毕，并和保洁员约定每天早晚各清一次。"],
            at="grounds",
            x=_TRASH,
        ),
        C(
            "{where}垃圾桶坏了",
            ["{where}的垃圾桶坏了，盖子也没了，{x}，能不能换个新的？"],
            ["已更换新垃圾桶{m}个。"],
            ["已换上新的垃圾桶。"],
            at="grounds",
            x=_TRASH,
        ),
        C(
            "{where}垃圾堆积",
            ["{where}的垃圾堆得像小山一样，{x}，请环卫部门清运一下。"],
            ["已组织环卫工人清理，共清运垃圾{m}车。"],
            ["组织保洁员和志愿者清理干净了。"],
            x=_TRASH,
        ),
    ],
    "sanitation": [
        C(
            "{where}乱倒建筑垃圾",
            ["{where}有人乱倒建筑垃圾，{x}，希望管一管。"],
            ["已清运建筑垃圾{m}车，并在周边设置了监控提示牌。"],
            ["已组织清理，并在周边立了禁止倾倒的提示牌。"],
            x=_DIRTY,
        ),
        C(
            "{where}公厕脏乱",
            ["{where}的公厕{dur}没人打扫了，{x}。"],
            ["已对公厕进行保洁并安排专人管理。"],
            ["已安排保洁员每天打扫两次。"],
            x=_DIRTY,
        ),
        C(
            "{where}坑塘垃圾多",
            ["{where}的坑塘里全是垃圾和杂物，{x}，希望组织清理一下。"],
            ["已组织人员对坑塘进行清淤清理。"],
            ["组织志愿者把坑塘里的垃圾和杂物清理干净了。"],
            x=_DIRTY,
        ),
        C(
            "{where}柴草杂物乱堆",
            ["{where}堆了好多柴草和杂物，{x}，也有火灾隐患。"],
            ["已督促清理，柴草已移至指定堆放点。"],
            ["已劝导村民把柴草挪到了集中堆放点。"],
            x=_DIRTY,
        ),
    ],
    "ebike": [
        C(
            "{where}楼道电动车充电",
            [
                "{where}楼道里天天有人给电动车充电，电线从窗户里拉出来，{x}，希望管一管，"
                "最好能建几个充电桩。",
                "{where}一楼楼道里停满了电动车，晚上插着充电，{x}，万一着火后果不堪设想。",
            ],
            ["会同物业在小区东侧建设集中充电棚，安装充电桩{m}个，已投入使用。"],
            [
                "社区联合物业在小区空地建了集中充电棚，装了{m}个充电桩，一周内投入使用，"
                "楼道里的电动车已全部清理。",
                "已挨家挨户劝导，楼道里的电动车已推出去，飞线已拆除。",
            ],
            at="building",
            x=_FIRE,
        ),
        C(
            "{where}飞线充电",
            ["{where}有好几户从楼上往下飞线给电动车充电，{x}，跟他们说了也不听。"],
            ["已督促物业拆除飞线，并新建充电车棚。"],
            ["已拆除飞线，并在楼下设置了临时充电点。"],
            at="building",
            x=_FIRE,
        ),
        C(
            "{where}需要建充电桩",
            ["{where}没有集中充电的地方，大家只能飞线充电，{x}，建议小区装一批充电桩。"],
            ["已协调在小区内建设充电桩{m}个，已投入使用。"],
            ["经居民议事，社区协调在小区北侧建成充电棚，安装充电桩{m}个。"],
            at="grounds",
            x=_FIRE,
        ),
    ],
    "property": [
        C(
            "{where}电梯经常坏",
            ["{where}的电梯{dur}里坏了好几次，{x}，物业一直拖着不修。"],
            ["已约谈物业公司，电梯已完成维修并通过检测。"],
            ["社区协调物业请维保单位修好了电梯。"],
            at="building",
            x=["住高层的老人上下楼太难", "有一次还把人关在里面了"],
        ),
        C(
            "{where}门禁坏了",
            ["{where}的门禁坏了{dur}，{x}，物业说没钱修。"],
            ["已督促物业限期整改，门禁已修复。"],
            ["社区协调物业修好了门禁。"],
            at="grounds",
            x=["外面的人随便进出，不安全", "大家意见很大"],
        ),
        C(
            "{where}楼道灯和窗户坏了",
            ["{where}楼道的灯和窗户坏了也没人管，{x}，物业费倒是按时收。"],
            ["已督促物业完成楼道设施维修。"],
            ["物业已安排维修，楼道灯和窗户已修好。"],
            at="building",
            x=["晚上上楼黑灯瞎火", "冬天楼道里灌风"],
        ),
    ],
    "heating": [
        C(
            "{where}暖气不热",
            [
                "{where}的暖气一直不热，屋里才{x}度，{y}，请供热公司来看看。",
                "{where}今年供暖以来家里温度一直上不去，只有{x}度，{y}。",
            ],
            [
                "已派人入户排查，清洗了过滤网并排气，室温已达到18℃以上。",
                "已对单元供热管道进行水力平衡调节，室温已达标。",
            ],
            ["已联系供热站上门排气，暖气已经热了。"],
            at="building",
            x=["十二三", "十四", "十一二", "十五"],
            y=_COLD,
        ),
        C(
            "{where}暖气管漏水",
            ["{where}的暖气管子漏水，{y}，请尽快派人维修。"],
            ["已更换漏水的暖气管件。"],
            ["物业已更换漏水的阀门。"],
            at="building",
            y=["地板都泡了", "楼下邻居家天花板都湿了"],
        ),
    ],
    "appearance": [
        C(
            "{where}占道经营",
            ["{where}每天早上都有商贩占道摆摊，{x}。"],
            ["已对占道经营商贩进行劝导，引导进入便民市场经营。"],
            ["已劝导商贩到市场里摆摊。"],
            at="street",
            x=["车都过不去，天天堵", "行人只能走到机动车道上"],
        ),
        C(
            "{where}商户乱堆乱放",
            ["{where}有商户把货物堆到人行道上，{x}，希望管理一下。"],
            ["已责令商户清理占道物品，并签订门前三包责任书。"],
            ["已劝导商户把货物收回店内。"],
            at="street",
            x=["行人只能走到机动车道上", "盲道全被占了"],
        ),
        C(
            "{where}小广告乱贴",
            ["{where}的墙上、电线杆上贴满了小广告，{x}。"],
            ["已清理小广告，并对张贴人进行了处理。"],
            ["志愿者已把小广告清理干净。"],
            x=["太影响市容了", "刚清了没几天又贴上了"],
        ),
        C(
            "{where}广告牌松动",
            ["{where}的门头广告牌松了，{x}，刮风的时候晃得厉害。"],
            ["已督促商户拆除并重新加固广告牌。"],
            at="street",
            x=["从下面过的时候提心吊胆", "下面就是人行道"],
        ),
    ],
    "illegal_build": [
        C(
            "{where}私自加盖",
            ["{where}有人私自加盖房子，{x}，请相关部门查处。"],
            ["经调查属实，已下达限期拆除通知书，当事人已自行拆除。"],
            ["经镇里协调，当事人已自行拆除。"],
            x=["把路都占了一半", "挡住了后面几户的采光"],
        ),
        C(
            "{where}圈占公共绿地",
            ["{where}有住户在公共绿地上圈地盖棚子，{x}。"],
            ["已依法拆除违建棚子，绿地已恢复。"],
            ["经做工作，住户已自行拆除棚子。"],
            at="grounds",
            x=["邻居们意见很大", "把路都占了一半"],
        ),
        C(
            "{where}楼顶违建",
            ["{where}有人在楼顶违规搭建彩钢房，{x}，存在安全隐患。"],
            ["已依法拆除楼顶违建彩钢房。"],
            at="building",
            x=["邻居们意见很大", "已经施工好几天了"],
        ),
    ],
    "noise": [
        C(
            "{where}广场舞音响太大",
            ["{where}的广场舞音响开得太大，{x}，希望协调一下把声音调小点。"],
            ["已约谈广场舞队负责人，规定了音量和结束时间。"],
            ["已和广场舞队商量好，音量调小，晚上九点前结束。"],
            at="grounds",
            x=_NOISE,
        ),
        C(
            "{where}夜间施工扰民",
            ["{where}的工地晚上十一点多还在施工，{x}。"],
            ["已约谈施工单位，夜间22时后停止施工。"],
            ["已联系施工方，承诺晚上十点后不再施工。"],
            at="street",
            x=_NOISE,
        ),
        C(
            "{where}饭店排风扇扰民",
            ["{where}有个饭店的排风扇半夜还在响，{x}，{dur}了。"],
            ["已责令饭店更换低噪音排风设备。"],
            ["已协调饭店调整排风扇位置并加装隔音罩。"],
            at="street",
            x=_NOISE,
        ),
    ],
    "traffic": [
        C(
            "{where}乱停车",
            ["{where}每天早晚都有车乱停，{x}，希望交警来管一管。"],
            ["已对乱停车辆进行劝离并张贴告知单，后续加强巡查。"],
            ["已在路口安排志愿者劝导。"],
            at="street",
            x=["消防车都进不来", "路都堵死了"],
        ),
        C(
            "{where}上下学拥堵",
            ["{where}上下学的时候堵得水泄不通，{x}，建议安排交警疏导。"],
            ["已安排警力在上下学高峰时段疏导交通。"],
            at="street",
            x=["孩子过马路很危险", "半个小时都挪不了几步"],
        ),
        C(
            "{where}大货车超速",
            ["{where}经常有拉土的大货车开得飞快，{x}，太危险了。"],
            ["已在该路段设置限速标志，并加强了巡逻管控。"],
            at="street",
            x=["路边的老人吓得不敢走", "孩子上学就走这条路"],
        ),
    ],
    "signal": [
        C(
            "{where}红绿灯坏了",
            ["{where}的红绿灯坏了{dur}，{x}，请尽快修复。"],
            ["信号灯故障已排除，运行正常。"],
            at="street",
            x=_CROSSING,
        ),
        C(
            "{where}斑马线看不清",
            ["{where}的斑马线已经磨得看不清了，{x}，建议重新划一下。"],
            ["已重新施划斑马线和停止线。"],
            at="street",
            x=_CROSSING,
        ),
        C(
            "{where}绿灯时间太短",
            ["{where}的行人绿灯时间太短，老人走到一半就变灯了，{x}。"],
            ["已延长行人绿灯时间。"],
            at="street",
            x=_CROSSING,
        ),
    ],
    "welfare": [
        C(
            "咨询低保申请",
            ["我是{where}的，家里{x}，生活很困难，想问问能不能申请低保，需要准备什么材料。"],
            ["已电话告知申请条件和所需材料，并指导到镇民政办提交申请。"],
            ["已上门了解情况，协助准备了申请材料。"],
            at="hall",
            x=["老伴常年吃药看病", "孩子还在上学，只靠我一个人打零工", "去年房子漏雨还没钱修"],
        ),
        C(
            "高龄补贴没有到账",
            ["我家老人今年满八十了，高龄补贴到现在还没发，已经{dur}了，想问问怎么回事。"],
            ["经查询，补贴因银行账户信息有误未能发放，已更正，本月补发到位。"],
            ["已帮老人补交了认定材料，补贴下月发放。"],
            at="hall",
        ),
        C(
            "独居老人需要关照",
            ["{where}有位独居老人，{y}，平时没人照顾，希望村里和民政部门关心一下。"],
            ["已将老人纳入特殊困难老人探访关爱名单，定期上门探访。"],
            ["已安排邻居和网格员每天上门看看。"],
            at="hall",
            y=["腿脚不方便出不了门", "儿女都在外地打工", "冬天取暖成问题"],
        ),
        C(
            "残疾人补贴未到账",
            ["我是{where}的残疾人，残疾人两项补贴{dur}没到账了，麻烦帮忙查一下。"],
            ["经核查，因年度复核材料未提交暂停发放，已协助补交，补贴已恢复发放。"],
            at="hall",
        ),
    ],
    "school": [
        C(
            "学校周边放学秩序乱",
            ["{where}附近的学校放学时没有人维持秩序，{x}，希望学校和有关部门重视。"],
            ["学校已安排老师在放学时段维持秩序，并联系交警协助。"],
            ["已和学校沟通，安排了家长志愿者护学岗。"],
            at="hall",
            x=["孩子们在马路上乱跑", "家长的车堵了半条街", "差点出了事故"],
        ),
        C(
            "孩子入学咨询",
            ["孩子明年该上小学了，我们户口在{where}，想问问划片在哪个学校，需要什么手续。"],
            ["已告知学区划分和入学所需材料。"],
            ["已联系学校，告知了入学报名时间和材料。"],
            at="hall",
        ),
        C(
            "希望安排校车",
            ["{where}的孩子去镇上上学路太远，{y}，希望能安排校车。"],
            ["已协调开通镇中心小学定制校车线路，每天早晚各一趟。"],
            at="hall",
            y=["冬天天不亮就得出门", "路上大车多，家长们不放心", "每天接送耽误干活"],
        ),
        C(
            "幼儿园门口卖三无零食",
            ["{where}幼儿园门口有小摊贩卖三无零食，家长们都很担心。"],
            ["已会同市场监管部门清理校园周边流动摊贩。"],
            ["已劝离流动摊贩，并安排人员在上下学时段巡查。"],
            at="hall",
        ),
    ],
    "health": [
        C(
            "卫生室经常关门",
            ["{where}的卫生室经常关门，{x}，希望能保证正常开门。"],
            ["已督促卫生室按时开诊，并公示了开诊时间和乡医电话。"],
            ["已和乡医沟通，保证每天上午正常开门。"],
            at="hall",
            x=["老人拿个降压药都得跑到镇上", "看个感冒都得去县里", "经常找不到医生"],
        ),
        C(
            "疫苗接种咨询",
            ["想问问{where}附近哪里能打{y}，需要提前预约吗？"],
            ["已告知接种地点和预约方式。"],
            ["已告知到镇卫生院预防接种门诊接种，并帮忙预约。"],
            at="hall",
            y=["流感疫苗", "带状疱疹疫苗", "狂犬疫苗"],
        ),
        C(
            "医保报销问题",
            ["家里老人在县医院住院，医保报销比例和说的不一样，{dur}了还没弄清楚，请帮忙问问。"],
            ["已联系医院医保办核实，部分药品属于自费目录，已向反映人详细解释报销政策。"],
            at="hall",
        ),
        C(
            "卫生室缺药",
            ["{where}的卫生室常用药经常断货，{x}，希望卫健部门给配一下。"],
            ["已督促镇卫生院为村卫生室补充常用药品。"],
            ["已和卫生院沟通，常用药已补齐。"],
            at="hall",
            x=["老人拿个降压药都得跑到镇上", "看个感冒都得去县里"],
        ),
    ],
    "greening": [
        C(
            "{where}枯枝隐患",
            ["{where}有棵大树的枯枝快断了，{x}，请尽快修剪。"],
            ["已对枯枝进行修剪，并清理了现场。"],
            ["组织人员把枯枝锯掉了。"],
            x=["下面天天有人走，砸着人就麻烦了", "树枝都压到电线上了"],
        ),
        C(
            "{where}行道树歪倒",
            ["{where}的行道树歪倒了，{x}。"],
            ["已扶正倒伏树木并加固支撑。"],
            ["找人把树扶正并用木桩固定了。"],
            at="street",
            x=["挡住了半条路", "压在了旁边的院墙上"],
        ),
        C(
            "{where}绿化带杂草丛生",
            ["{where}的绿化带{dur}没人打理，{x}。"],
            ["已组织人员除草修剪，清理了绿化带内的垃圾。"],
            ["已组织志愿者清理了杂草和垃圾。"],
            x=["杂草里全是垃圾", "挡住了路口的视线"],
        ),
    ],
    "neighbour": [
        C(
            "邻里纠纷请求调解",
            ["我家和邻居因为{x}闹矛盾，{dur}了也没谈拢，希望帮忙调解一下。"],
            ["已组织双方调解，达成一致意见。"],
            ["联络员和调委会上门调解，双方已达成一致。"],
            at="hall",
            x=["院墙边上的排水", "门口堆放柴草", "宅基地边界", "房后的一棵树"],
        ),
        C(
            "楼上邻居问题",
            ["我家楼上邻居{y}，跟他们说了好几次也不改，希望帮忙协调。"],
            ["已组织双方调解，达成一致意见。"],
            ["经协调，楼上邻居已请人处理，问题已解决。"],
            at="hall",
            y=["卫生间漏水渗到我家", "空调外机正对着我家窗户", "养的狗天天半夜叫"],
        ),
        C(
            "请联络员帮忙说和",
            ["我和邻居家因为{x}吵起来了，都是街坊邻居，不想闹大，请联络员帮忙说和说和。"],
            ["已组织双方调解，达成一致意见。"],
            ["经调解，双方握手言和，商定了解决办法。"],
            at="hall",
            x=["院墙边上的排水", "门口堆放柴草", "房后的一棵树"],
        ),
    ],
}

# Requests that are not accepted (不予受理): (text, public reason). {where} and {x} are filled in.
REJECTABLE_LOCAL = [
    (
        "{who}借了我家{x}元，好几年了一直不还，希望村里帮我要回来。",
        "该诉求属于个人债务纠纷，不属于议事厅受理范围。已告知反映人可向镇人民调解委员会申请调解，"
        "或依法向人民法院起诉。",
    ),
    (
        "我在网上买的电动车质量有问题，商家不给退，请帮忙处理一下。",
        "网购消费纠纷请通过全国12315平台或电商平台投诉渠道反映，已向反映人说明具体办理方式。",
    ),
    (
        "我家院墙年头长了有点歪，希望村里出钱帮我翻修一下。",
        "个人房屋修缮不属于公共事务，村集体没有此项资金安排。如经鉴定属于危房，可按程序申请农村"
        "危房改造，已向反映人说明。",
    ),
    (
        "想咨询一下孩子的户口怎么迁到县城。",
        "户籍业务咨询，已告知反映人到县公安局户政大厅办理或拨打户政咨询电话，不作为诉求受理。",
    ),
    (
        "楼上邻居装修把我家墙震裂了，要求他赔偿{x}元。",
        "属于民事损害赔偿纠纷，建议双方协商或通过人民调解、诉讼途径解决，社区可以协助组织调解。",
    ),
]
REJECTABLE_COUNTY = [
    (
        "对去年法院的判决不服，要求重新审理。",
        "涉诉事项应依法通过上诉、申请再审等司法程序解决，不属于本平台受理范围。",
    ),
    (
        "希望把我们村划到县城里，变成城区户口。",
        "涉及行政区划调整，不属于议事厅诉求办理范围，已向反映人做好解释。",
    ),
    (
        "我和合伙人做生意赔了钱，要求政府出面让他退我{x}元。",
        "属于商事合同纠纷，不属于政务服务受理范围，建议通过协商、仲裁或诉讼途径解决。",
    ),
]
MONEY = ["两万", "三千", "八千", "一万五", "五千"]

# --- handlers' words -------------------------------------------------------------------------

ACK_NOTES = {
    "village": [
        "您好，您反映的问题已收到，我马上去现场看看。",
        "收到，已经记录，正在联系人处理，请稍等。",
        "您好，已收到您的诉求，处理进展会及时告诉您。",
        "收到！我这就过去看一下情况。",
        "您好，我是村里的联络员，问题已收到，今天就给您答复。",
        "",
    ],
    "compound": [
        "您好，问题已收到，我马上联系物业。",
        "收到，我先去楼里看看情况。",
        "您好，已收到，正在和物业沟通处理。",
        "",
    ],
    "community": [
        "社区已收到，马上协调处理。",
        "您好，社区网格员已收到，正在核实情况。",
        "收到，社区正在对接相关单位。",
        "",
    ],
    "township": [
        "镇里已收到，正在协调处理。",
        "收到上报，已安排相关办公室跟进。",
        "已收到，正在研究处理办法。",
        "",
    ],
    "assignment": ["交办厅已收到，正在研判派单。", ""],
}
ESCALATE_NOTES = {
    "village": [
        "村里没有维修条件，上报镇里协调处理。",
        "需要专业队伍处理，已上报。",
        "村里协调不了，请镇里帮助解决。",
        "已到现场查看，需上级协调，已上报。",
    ],
    "compound": [
        "物业解决不了，上报社区协调。",
        "小区层面协调不了，请社区帮助解决。",
    ],
    "community": ["社区协调不了，上报街道处理。", "需街道协调相关单位，已上报。"],
    "township": [
        "需县直部门处理，报部门集中交办。",
        "超出镇级处理能力，请交办县直相关部门。",
        "已初步核实，需职能部门处理，已上报。",
    ],
}
START_NOTES = ["已到现场，正在处理。", "已安排人员处理。", "正在组织人员处理。", "", ""]
DISPATCH_NOTES = [
    "请{dept}按时限办理，办结后上传现场照片。",
    "转{dept}办理，请尽快与反映人联系。",
    "该件群众反映强烈，请{dept}优先处理。",
    "",
]
CLAIM_NOTES = [
    "已签收，马上安排人员到现场。",
    "已签收，已通知片区维修班组。",
    "收到，今天之内到现场查看。",
    "",
]
RETURN_REASON = "非本部门职责：经核实，该问题应由{right}负责处理，请重新派单。"
REDISPATCH_NOTES = ["经核实，改派{dept}办理。", "原派单有误，已改派{dept}。"]
# Holds (挂起) as (reason, what is said on resuming).
HOLDS = {
    "department": [
        ("需等待相关单位到场配合，暂停计时。", "相关单位已到场，恢复办理。"),
        ("连续降雨无法施工，待天气好转后继续。", "天气好转，已恢复施工。"),
        ("涉及产权单位，需先与产权单位商定处理方案。", "已与产权单位商定方案，恢复办理。"),
        ("需要办理相关审批手续，手续办理期间暂停计时。", "手续已办好，恢复办理。"),
        ("所需材料设备正在采购，到货后立即处理。", "材料设备已到，恢复办理。"),
    ],
    "local": [
        ("需等待镇里调配的机械设备。", "机械设备已到，恢复办理。"),
        ("当事人外出打工，等其回来后再协调。", "当事人已回来，继续协调。"),
        ("连续降雨无法施工，待天气好转后继续。", "天气好转，已恢复施工。"),
    ],
}
EXTEND_REASONS = [
    "工程量较大，需协调多个单位共同处理，申请延期。",
    "涉及施工审批手续，需要更多时间，申请延期。",
    "需采购专用材料设备，申请延期。",
]
APPROVE_NOTES = ["同意延期，请在新的时限内办结并上传现场照片。", "同意。请抓紧办理。"]
DENY_NOTES = ["理由不充分，请按原时限办结。"]
SUPERVISE_NOTES = {
    "duty": [
        "值班督办：该件已超时，请相关人员尽快处理。",
        "值班督办：请明天上班后第一时间办理并反馈。",
    ],
    "dispatcher": ["该件已超时，请立即处理并反馈进展。", "请加快办理，按时反馈。"],
    "leader": ["群众反映强烈，请加快办理，按时反馈结果。", "请高度重视，限期办结。"],
}
PROGRESS_NOTES = [
    "已到现场查看，正在制定处理方案。",
    "已联系相关单位，正在协调处理。",
    "正在抓紧办理，有进展会及时反馈。",
    "已安排人员跟进，预计本周内办结。",
]
INTERNAL_NOTES = [
    "已电话联系反映人核实情况。",
    "该处去年也反映过，注意一并排查周边。",
    "已报分管领导，协调资金。",
]
MERGE_NOTES = [
    "与第{num}号诉求反映的是同一问题，已合并办理，处理结果会一并告知您。",
    "同一问题已有群众反映，合并到第{num}号诉求一起办理。",
]
COSIGN_NOTES = [
    "我也遇到了这个问题。",
    "我家也在附近，希望快点解决。",
    "同样的情况，一起反映。",
    "",
]
REOPEN_REASONS = [
    "修好没几天又坏了，麻烦再来看看。",
    "问题又出现了，和上次一样。",
    "上次只是临时处理了一下，现在又不行了。",
    "上次处理完，这几天又回到老样子了。",
]
RATING_COMMENTS = {
    "satisfied": [
        "处理很及时，谢谢！",
        "当天就解决了，给联络员点赞。",
        "办得快，态度也好。",
        "问题解决了，满意。",
        "没想到这么快，谢谢大家。",
        "",
        "",
        "",
        "",
    ],
    "basically_satisfied": [
        "修好了，就是等的时间有点长。",
        "基本解决了，希望以后多巡查。",
        "解决了，但是施工后的垃圾没清理干净。",
    ],
    "dissatisfied": [
        "问题没有彻底解决，还是老样子。",
        "拖了太久，而且只是临时处理了一下。",
        "没人跟我联系，就说办结了。",
    ],
}


def fill(rng: random.Random, template: str, slots: dict[str, Any]) -> str:
    """Fill a template's slots, picking one item from each list."""
    values = {k: (rng.choice(v) if isinstance(v, list | tuple) else v) for k, v in slots.items()}
    return template.format(**values)


@dataclass(frozen=True)
class Text:
    """A request's words: title, text, place, and the case they came from."""

    title: str
    text: str
    where: str
    case: Case


def request_text(
    rng: random.Random,
    category: str,
    kind: str,
    hall_name: str,
    case: Case | None = None,
    where: str | None = None,
) -> Text:
    """A request about `category` in a hall of `kind` (the same case and place for a
    duplicate of an earlier one)."""
    case = case or rng.choice(CASES[category])
    where = where or place(rng, kind, hall_name, case.at)
    slots: dict[str, Any] = {
        "where": where,
        "dur": list(DURATIONS),
        "x": list(case.x) or [""],
        "y": list(case.y) or [""],
    }
    title = case.title.format(where=where)
    if len(title) > 40:
        title = title[:39] + "…"
    return Text(title, fill(rng, rng.choice(case.texts), slots), where, case)


def short_title(text: str) -> str:
    """A title from a text's first clause."""
    first = re.split(r"[，。？！,]", text, maxsplit=1)[0]
    return first if len(first) <= 24 else first[:23] + "…"


def reject_text(rng: random.Random, county_level: bool) -> tuple[str, str]:
    """(text, public reason) of a request that is not accepted."""
    text, reason = rng.choice(REJECTABLE_COUNTY if county_level else REJECTABLE_LOCAL)
    return fill(rng, text, {"x": MONEY, "who": person_name(rng)}), reason


GENERIC_LOCAL_FIX = ("已组织人员现场处理，问题已解决，已向反映人反馈。",)


def resolve_note(rng: random.Random, case: Case | None, local: bool) -> str:
    """What the handler writes when reporting the fix."""
    if case is None:
        pool: tuple[str, ...] = GENERIC_LOCAL_FIX
    else:
        pool = (case.local if local else ()) or case.fix
    return fill(rng, rng.choice(pool), {"m": [str(n) for n in range(3, 13)]})


# Review of a 不满意 rating (§3.1).
APPEAL_REASONS = [
    "群众要求拆除邻居合法建设的院墙，超出我单位职权，已耐心解释，申请甄别。",
    "诉求涉及个人经济补偿，无政策依据，已电话说明，申请甄别。",
    "群众要求在非规划路段安装路灯，不符合规划要求，已答复，申请甄别。",
]
APPEAL_APPROVED = [
    "经核实，该诉求确无法律政策依据，甄别通过，已向群众公开说明。",
    "甄别通过：诉求超出政策范围，办理单位已尽到解释义务。",
]
APPEAL_DENIED = [
    "甄别不予通过：问题属于职责范围，请重新办理。",
    "经复核，诉求合理，甄别不通过，责令重办。",
]
REDO_NOTES = [
    "群众不满意，责令重新办理，三日内办结并回复。",
    "复核后认为问题未彻底解决，请重办。",
]

# 主办/协办 (§3.1): what an assisting department and the dispatcher say.
ASSIST_DISPATCH_NOTES = [
    "请{lead}牵头办理，{helper}协办配合。",
    "{lead}主办、{helper}协办，请两家对接后尽快处理。",
]
ASSIST_POST_NOTES = [
    "协办部分已完成：已派人到现场配合处理，相关设施已检修。",
    "已配合主办单位完成现场处置，协办事项办结。",
    "已按要求配合停电检修，线路已恢复正常。",
]
ASSIST_RETURN_REASON = "协办事项不属于本单位职责范围，请核实后重新派单。"
ASSIST_UPHOLD_NOTES = ["经核实，该件涉及{helper}管辖设施，协办派单无误，请配合办理。"]
WAIVE_REASONS = [
    "主办单位已一并处理，免除协办。",
    "经现场核实无需协办单位配合，予以免除。",
]
UPHOLD_NOTES = ["经核实，该事项属于{dept}职责，退单理由不成立，请继续办理。"]
UPHOLD_RETURN_REASON = "信息不全：反映人未说明具体位置，无法到现场核实。"
HAND_DOWN_REASONS = [
    "属村内公共事务，由村议事厅就地办理更快，已下沉。",
    "经核实，该事项村里有能力解决，下沉至村办理并请联络员跟进。",
]
VISIT_NOTES = ["电话回访，群众表示问题已解决。", "上门回访，群众对处理结果认可。"]
