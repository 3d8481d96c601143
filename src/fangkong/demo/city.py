"""A synthetic 淄博: a pure generator, seed and scale in, registry rows out.

Districts and streets are the real GB/T 2260 divisions (``fangkong.regions``); everything
below them — communities, compounds, households, persons, workplaces, venues — is invented,
drawn from one ``random.Random(seed)`` so that a seed always gives the same city.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

from fangkong.demo import names
from fangkong.people.identity import check_character
from fangkong.regions import service as regions

CITY_CODE = "3703"
PERSONS_AT_SCALE_1 = 20_000
MIN_SCALE = 0.05  # below it a district has too few people to carry the outbreak

# Resident population in 10,000s, rounded, after the 2020 census: sets each district's share.
DISTRICT_POPULATION = {
    "370302": 72,  # 淄川区
    "370303": 103,  # 张店区
    "370304": 43,  # 博山区
    "370305": 64,  # 临淄区
    "370306": 39,  # 周村区
    "370321": 50,  # 桓台县
    "370322": 35,  # 高青县
    "370323": 52,  # 沂源县
}
# Town centres (街道) are denser than towns (镇).
STREET_WEIGHT = {"街道": 3.0, "镇": 1.0}
# Household sizes, close to the 2020 census mean of about 2.6 persons.
HOUSEHOLD_SIZES = ((1, 22), (2, 31), (3, 23), (4, 14), (5, 10))
EMPLOYMENT_RATE = 0.85
PHONE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151",
    "152", "153", "155", "156", "157", "158", "159", "177", "180", "182", "183", "185",
    "186", "187", "188", "189", "199",
)  # fmt: skip


@dataclass(frozen=True)
class Person:
    person_id: str
    name: str
    id_number: str
    phone: str
    sex: str
    birth_year: int
    household_id: str
    district: str
    street: str
    community: str
    compound: str
    building: str
    room: str
    workplace_id: str = ""
    workplace_unit: str = ""


@dataclass(frozen=True)
class Workplace:
    workplace_id: str
    name: str
    industry: str
    district: str
    street: str
    address: str
    units: tuple[tuple[str, str], ...]  # (name, kind)


@dataclass(frozen=True)
class Venue:
    venue_code: str
    name: str
    category: str
    industry: str
    district: str
    street: str
    address: str
    capacity: int


@dataclass(frozen=True)
class City:
    seed: int
    scale: float
    persons: tuple[Person, ...]
    workplaces: tuple[Workplace, ...]
    venues: tuple[Venue, ...]

    def unit_code(self, person: Person) -> str:
        """The reporting unit (district or function zone) the person lives in."""
        return regions.unit_for(person.district, person.street).code


# ---------------------------------------------------------------- helpers


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder), summing exactly."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def short_name(name: str) -> str:
    """周村区 → 周村, 丝绸路街道 → 丝绸路, 王村镇 → 王村."""
    for suffix in ("街道", "区", "县", "镇"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name.removesuffix(suffix)
    return name


class _Unique:
    """Draws until a value not drawn before comes up."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def take(self, draw: Callable[[], str]) -> str:
        while True:
            value = draw()
            if value not in self.seen:
                self.seen.add(value)
                return value


def id_number(district: str, born: date, sex: str, sequence: int) -> str:
    """A GB 11643 ID number; the 17th digit is odd for men and even for women."""
    seq = sequence % 500 * 2 + (1 if sex == "M" else 0)
    first17 = f"{district}{born:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


# ---------------------------------------------------------------- addresses


@dataclass
class _Building:
    district: str
    street: str
    community: str
    compound: str
    name: str
    rooms: int = 0
    village: bool = False

    def next_room(self) -> str:
        self.rooms += 1
        if self.village:
            return f"{self.rooms}号"
        per_entrance = 12  # 6 floors, 2 doors
        entrance, index = divmod(self.rooms - 1, per_entrance)
        floor, door = divmod(index, 2)
        return f"{entrance + 1}单元{floor + 1}0{door + 1}"


def _street_buildings(
    rng: random.Random, district: str, street: regions.Street, households: int
) -> list[_Building]:
    """Communities, compounds and buildings enough for ``households`` households."""
    village = street.name.endswith("镇")
    per_building = 20 if village else 24
    n_buildings = max(1, math.ceil(households / per_building))
    n_communities = max(1, min(12, round(n_buildings / 4)))
    buildings: list[_Building] = []
    used: set[str] = set()
    for _ in range(n_communities):
        while True:
            if village:
                first = rng.choice(names.SURNAMES)[0] if rng.random() < 0.6 else ""
                stem = first or rng.choice(names.VILLAGE_STEMS) + rng.choice(names.VILLAGE_STEMS)
                community = stem + rng.choice(names.VILLAGE_SUFFIXES)
            else:
                community = rng.choice(names.COMMUNITY_WORDS) + "社区"
            if community not in used:
                used.add(community)
                break
        if village:
            for group in names.GROUP_NAMES[: rng.randint(2, 4)]:
                buildings.append(_Building(district, street.code, community, group, "", 0, True))
        else:
            compounds: set[str] = set()
            for _ in range(rng.randint(1, 3)):
                compound = rng.choice(names.COMPOUND_STEMS) + rng.choice(names.COMPOUND_SUFFIXES)
                if compound in compounds:
                    continue
                compounds.add(compound)
                for b in range(1, rng.randint(3, 12) + 1):
                    buildings.append(
                        _Building(district, street.code, community, compound, f"{b}号楼")
                    )
    return buildings


# ---------------------------------------------------------------- households


@dataclass
class _Member:
    sex: str
    age: int
    surname: str
    given: str = ""


def _surname(rng: random.Random) -> str:
    return _weighted(rng, names.SURNAMES)


def _adult(rng: random.Random, sex: str, lo: int, hi: int, surname: str | None = None) -> _Member:
    return _Member(sex, rng.randint(lo, hi), surname or _surname(rng))


def _household(rng: random.Random, size: int) -> list[_Member]:
    """A plausible family: a single person, a couple, parents and children, grandparents."""
    sex = rng.choice("MF")
    if size == 1:
        band = rng.choices([(20, 35), (36, 59), (60, 90)], weights=[40, 15, 45])[0]
        return [_adult(rng, sex, *band)]
    band = rng.choices([(24, 35), (36, 54), (55, 82)], weights=[30, 25, 45])[0]
    if size == 2 and rng.random() < 0.15:  # a parent and a grown child
        parent = _adult(rng, sex, 45, 80)
        child_age = max(0, parent.age - rng.randint(22, 34))
        return [parent, _Member(rng.choice("MF"), child_age, parent.surname)]
    if size >= 3:
        band = (26, 50)
    husband = _adult(rng, "M", *band)
    wife = _adult(rng, "F", max(20, husband.age - 5), husband.age + 2)
    members = [husband, wife]
    children = {3: 1, 4: rng.choice((1, 2)), 5: rng.choice((1, 2))}.get(size, 0)
    for _ in range(children):
        age = max(0, wife.age - rng.randint(23, 33))
        members.append(_Member(rng.choice("MF"), age, husband.surname))
    while len(members) < size:
        elder_surname = husband.surname if rng.random() < 0.7 else wife.surname
        members.append(
            _Member(rng.choice("MF"), min(95, husband.age + rng.randint(24, 32)), elder_surname)
        )
    return members


def _given(rng: random.Random, sex: str) -> str:
    return rng.choice(names.GIVEN_MALE if sex == "M" else names.GIVEN_FEMALE)


def _birth_date(rng: random.Random, age: int) -> date:
    year = 2022 - age
    last = date(2022, 3, 20) if year == 2022 else date(year, 12, 31)
    first = date(year, 1, 1)
    return first + timedelta(days=rng.randint(0, (last - first).days))


# ---------------------------------------------------------------- workplaces

# kind: (industries, (min, max) staff, units as (name, unit kind))
_KINDS: dict[str, tuple[tuple[str, ...], tuple[int, int], tuple[tuple[str, str], ...]]] = {
    "factory": (
        ("manufacturing", "manufacturing", "manufacturing", "energy", "medical_supplies"),
        (40, 300),
        (("质检部", "department"), ("仓储部", "department"), ("办公室", "department")),
    ),
    "hospital": (
        ("healthcare",),
        (60, 250),
        (
            ("内科", "department"),
            ("外科", "department"),
            ("急诊科", "department"),
            ("发热门诊", "department"),
            ("检验科", "department"),
            ("护理部", "department"),
            ("行政办公室", "department"),
        ),
    ),
    "clinic": (("healthcare",), (4, 12), (("门诊部", "department"),)),
    "shop": (("retail",), (3, 12), (("营业部", "department"), ("库房", "team"))),
    "restaurant": (("catering",), (5, 20), (("后厨", "team"), ("前厅", "team"))),
    "office": (
        ("finance", "it_services", "government", "other"),
        (10, 60),
        (
            ("综合部", "department"),
            ("财务部", "department"),
            ("业务部", "department"),
            ("技术部", "department"),
        ),
    ),
    "logistics": (
        ("transport_logistics",),
        (15, 80),
        (("车队", "team"), ("仓储部", "department"), ("调度中心", "department")),
    ),
    "construction": (
        ("construction", "major_project"),
        (20, 150),
        (("项目部", "department"), ("施工一队", "team"), ("施工二队", "team")),
    ),
    "farm": (("agriculture",), (5, 30), (("生产队", "team"),)),
    "training": (("childcare_training",), (4, 15), (("教学部", "department"),)),
    "leisure": (
        ("culture_entertainment", "sports_fitness"),
        (5, 20),
        (("运营部", "department"),),
    ),
}
_KIND_WEIGHTS = {
    "factory": 38, "hospital": 6, "clinic": 2, "shop": 12, "restaurant": 7, "office": 13,
    "logistics": 7, "construction": 8, "farm": 3, "training": 2, "leisure": 2,
}  # fmt: skip
_COMPANY_SUFFIX = {
    "manufacturing": (
        "化工有限公司", "陶瓷有限公司", "机械制造有限公司", "纺织有限公司", "新材料股份有限公司",
    ),
    "energy": ("热电有限公司", "燃气有限公司"),
    "medical_supplies": ("医疗器械有限公司", "医药有限公司"),
    "finance": ("银行支行", "保险代理有限公司"),
    "it_services": ("信息技术有限公司", "软件有限公司"),
    "government": ("街道办事处", "市场监督管理所"),
    "other": ("商务服务有限公司", "物业管理有限公司"),
    "transport_logistics": ("物流有限公司", "运输有限公司"),
    "construction": ("建筑工程有限公司", "建设集团有限公司"),
    "major_project": ("重点项目指挥部",),
    "agriculture": ("农业专业合作社", "果蔬种植基地"),
    "childcare_training": ("教育培训学校", "托管中心"),
    "culture_entertainment": ("文化传媒有限公司",),
    "sports_fitness": ("体育健身中心",),
    "retail": ("商贸有限公司", "超市"),
    "catering": ("餐饮有限公司", "酒店"),
}  # fmt: skip
TEACHER_RATIO = 15  # pupils per teacher
CLASS_SIZE = 45


def _grade(age: int) -> str | None:
    if 6 <= age <= 11:
        return f"{names.CHINESE_NUMBERS[age - 6]}年级"
    if 12 <= age <= 14:
        return f"初{names.CHINESE_NUMBERS[age - 12]}"
    if 15 <= age <= 17:
        return f"高{names.CHINESE_NUMBERS[age - 15]}"
    return None


# ---------------------------------------------------------------- the generator


@dataclass
class _Draft:
    """A person being built; address, workplace and unit are filled in by stages."""

    member: _Member
    household: int
    building: _Building
    room: str
    workplace: int = -1
    unit: str = ""


def build_city(*, seed: int = 2022, scale: float = 1.0) -> City:
    """The synthetic city for ``seed`` at ``scale`` (1.0: about 20,000 persons)."""
    if scale < MIN_SCALE:
        raise ValueError(f"scale must be at least {MIN_SCALE}")
    rng = random.Random(seed)
    total = round(PERSONS_AT_SCALE_1 * scale)
    districts = [d for d in regions.districts(CITY_CODE) if d.code in DISTRICT_POPULATION]
    per_district = apportion(total, [DISTRICT_POPULATION[d.code] for d in districts])

    drafts: list[_Draft] = []
    household_no = 0
    for district, people in zip(districts, per_district, strict=True):
        streets = regions.streets(district.code)
        weights = [STREET_WEIGHT["街道" if s.name.endswith("街道") else "镇"] for s in streets]
        for street, target in zip(streets, apportion(people, weights), strict=True):
            if target == 0:
                continue
            buildings = _street_buildings(rng, district.code, street, math.ceil(target / 2.6))
            placed = 0
            while placed < target:
                size = min(
                    int(_weighted(rng, [(str(n), w) for n, w in HOUSEHOLD_SIZES])), target - placed
                )
                building = rng.choice(buildings)
                room = building.next_room()
                household_no += 1
                for member in _household(rng, size):
                    member.given = _given(rng, member.sex)
                    drafts.append(_Draft(member, household_no, building, room))
                placed += size

    workplaces = _assign_work(rng, drafts, districts)
    persons = _persons(rng, drafts, workplaces)
    venues = _venues(rng, districts, per_district, workplaces)
    return City(seed, scale, tuple(persons), tuple(w for w, _ in workplaces), tuple(venues))


def _assign_work(
    rng: random.Random, drafts: list[_Draft], districts: list[regions.District]
) -> list[tuple[Workplace, str]]:
    """Schools take pupils by classroom, then every workplace its staff; returns
    (workplace, kind) in id order and sets each draft's workplace index and unit."""
    made: list[tuple[Workplace, str]] = []
    trade = _Unique()
    codes = [d.code for d in districts]
    pop = [float(DISTRICT_POPULATION[c]) for c in codes]

    def new(
        kind: str, industry: str, district: str, name: str, units: tuple[tuple[str, str], ...]
    ) -> int:
        street = rng.choice(regions.streets(district))
        road = rng.choice(names.TRADE_WORDS) + "路"
        address = f"{street.name}{road}{rng.randint(1, 300)}号"
        workplace_id = f"W{len(made) + 1:05d}"
        made.append(
            (Workplace(workplace_id, name, industry, district, street.code, address, units), kind)
        )
        return len(made) - 1

    workers: dict[str, list[_Draft]] = defaultdict(list)
    pupils: dict[str, list[_Draft]] = defaultdict(list)
    for d in drafts:
        age = d.member.age
        if _grade(age):
            pupils[d.building.district].append(d)
        elif 18 <= age <= 60 and rng.random() < EMPLOYMENT_RATE:
            home = d.building.district
            where = home if rng.random() < 0.8 else rng.choices(codes, weights=pop)[0]
            workers[where].append(d)

    for district in codes:
        staff = workers[district]
        rng.shuffle(staff)
        dname = short_name(regions.registry().districts[district].name)
        kids = pupils[district]
        n_schools = max(1, round(len(kids) / 400)) if kids else 0
        for s in range(n_schools):
            members = kids[s::n_schools]
            by_grade: dict[str, list[_Draft]] = defaultdict(list)
            for kid in members:
                grade = _grade(kid.member.age)
                assert grade is not None
                by_grade[grade].append(kid)
            units: list[tuple[str, str]] = [("教师办公室", "department"), ("后勤", "team")]
            for grade in sorted(by_grade, key=lambda g: min(k.member.age for k in by_grade[g])):
                group = by_grade[grade]
                classes = max(1, math.ceil(len(group) / CLASS_SIZE))
                for i, kid in enumerate(group):
                    kid.unit = f"{grade}{i % classes + 1}班"
                units.extend((f"{grade}{c + 1}班", "classroom") for c in range(classes))
            school = f"{dname}第{names.CHINESE_NUMBERS[s]}中学" if s < 10 else f"{dname}实验学校{s}"
            index = new("school", "education", district, school, tuple(units))
            for kid in members:
                kid.workplace = index
            teachers = max(1, math.ceil(len(members) / TEACHER_RATIO))
            for t in staff[:teachers]:
                t.workplace, t.unit = index, "教师办公室" if rng.random() < 0.85 else "后勤"
            del staff[:teachers]
        while staff:
            kind = _weighted(rng, list(_KIND_WEIGHTS.items()))
            industries, (lo, hi), base_units = _KINDS[kind]
            industry = rng.choice(industries)
            size = min(len(staff), rng.randint(lo, hi))
            units_list = list(base_units)
            if kind == "factory":
                shops = max(1, math.ceil(size / 40))
                units_list = [
                    (f"生产{names.CHINESE_NUMBERS[i % 10]}车间", "workshop") for i in range(shops)
                ] + units_list
            if kind == "hospital":
                name = f"{dname}{trade.take(lambda: rng.choice(names.TRADE_WORDS))}医院"
            elif kind == "clinic":
                name = f"{rng.choice(names.SURNAMES)[0]}氏诊所（{dname}{len(made)}）"
            else:
                word = trade.take(
                    lambda: rng.choice(names.TRADE_WORDS) + rng.choice(names.TRADE_WORDS)
                )
                name = f"淄博{word}{rng.choice(_COMPANY_SUFFIX[industry])}"
            index = new(kind, industry, district, name, tuple(units_list))
            unit_weights = [3 if k in ("workshop", "team") else 1 for _, k in units_list]
            for person in staff[:size]:
                person.workplace = index
                person.unit = rng.choices(units_list, weights=unit_weights)[0][0]
            del staff[:size]
    return made


def _draw_id(rng: random.Random, district: str, born: date, sex: str) -> str:
    return id_number(district, born, sex, rng.randint(0, 499))


def _persons(
    rng: random.Random, drafts: list[_Draft], workplaces: list[tuple[Workplace, str]]
) -> list[Person]:
    ids = _Unique()
    phones = _Unique()
    persons = []
    for n, d in enumerate(drafts, start=1):
        m = d.member
        born = _birth_date(rng, m.age)
        number = ids.take(partial(_draw_id, rng, d.building.district, born, m.sex))
        phone = ""
        if m.age >= 12 and rng.random() < 0.96:
            phone = phones.take(
                lambda: rng.choice(PHONE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
            )
        b = d.building
        persons.append(
            Person(
                person_id=f"P{n:07d}",
                name=m.surname + m.given,
                id_number=number,
                phone=phone,
                sex=m.sex,
                birth_year=born.year,
                household_id=f"H{d.household:06d}",
                district=b.district,
                street=b.street,
                community=b.community,
                compound=b.compound,
                building=b.name,
                room=d.room,
                workplace_id=workplaces[d.workplace][0].workplace_id if d.workplace >= 0 else "",
                workplace_unit=d.unit if d.workplace >= 0 else "",
            )
        )
    return persons


# ---------------------------------------------------------------- venues

# category: (share of venues, (min, max) capacity, industry)
_VENUES: dict[str, tuple[int, tuple[int, int], str]] = {
    "restaurant": (22, (30, 200), "catering"),
    "supermarket": (12, (100, 800), "retail"),
    "market": (5, (200, 1500), "retail"),
    "mall": (3, (1000, 6000), "retail"),
    "hotel": (5, (50, 400), "catering"),
    "clinic": (8, (10, 50), "healthcare"),
    "office": (5, (100, 1000), "other"),
    "bath": (2, (50, 300), "other"),
    "internet_cafe": (2, (40, 150), "culture_entertainment"),
    "cinema": (2, (200, 1200), "culture_entertainment"),
    "ktv": (3, (50, 300), "culture_entertainment"),
    "gym": (3, (50, 300), "sports_fitness"),
    "stadium": (1, (1000, 8000), "sports_fitness"),
    "swimming_pool": (1, (100, 500), "sports_fitness"),
    "park": (3, (500, 5000), "other"),
    "care_home": (2, (30, 200), "healthcare"),
    "kindergarten": (3, (60, 300), "education"),
    "bus": (4, (40, 80), "transport_logistics"),
}
_FROM_WORKPLACE = {
    "hospital": "hospital", "school": "school", "factory": "factory",
    "construction": "construction_site",
}  # fmt: skip
PERSONS_PER_VENUE = 40


def _venue_name(rng: random.Random, category: str, dname: str, sname: str) -> str:
    word = rng.choice(names.TRADE_WORDS)
    surname = rng.choice(names.SURNAMES)[0]
    options = {
        "restaurant": (
            f"{surname}家菜馆", f"老{surname}烧烤", f"{word}酒楼", f"{sname}烧饼店", f"{dname}菜馆",
        ),
        "supermarket": (f"{word}生活超市", f"{word}便利店", f"{sname}{word}超市"),
        "market": (f"{sname}农贸市场", f"{sname}综合市场"),
        "mall": (f"{word}购物中心", f"{word}广场"),
        "hotel": (f"{word}宾馆", f"{word}大酒店", f"{sname}{word}快捷酒店"),
        "clinic": (f"{word}大药房", f"{surname}氏诊所", f"{sname}卫生室"),
        "office": (f"{word}大厦", f"{word}写字楼"),
        "bath": (f"{word}洗浴中心",),
        "internet_cafe": (f"{word}网咖",),
        "cinema": (f"{word}影城", f"{dname}{word}国际影城"),
        "ktv": (f"{word}量贩KTV", f"{word}音乐会所"),
        "gym": (f"{word}健身", f"{word}健身会所"),
        "stadium": (f"{dname}体育馆",),
        "swimming_pool": (f"{dname}游泳馆", f"{word}游泳馆"),
        "park": (f"{sname}文化广场", f"{sname}公园"),
        "care_home": (f"{sname}敬老院", f"{word}颐养中心"),
        "kindergarten": (f"{sname}幼儿园", f"{word}幼儿园"),
        "bus": (f"{dname}公交{rng.randint(1, 199)}路",),
    }  # fmt: skip
    return rng.choice(options[category])


def _venues(
    rng: random.Random,
    districts: list[regions.District],
    per_district: list[int],
    workplaces: list[tuple[Workplace, str]],
) -> list[Venue]:
    venues: list[Venue] = []
    counter: dict[str, int] = defaultdict(int)

    def add(
        district: str,
        street: str,
        name: str,
        category: str,
        industry: str,
        capacity: int,
        address: str,
    ) -> None:
        counter[district] += 1
        code = f"V{district}{counter[district]:05d}"
        venues.append(Venue(code, name, category, industry, district, street, address, capacity))

    categories = list(_VENUES)
    for district, people in zip(districts, per_district, strict=True):
        dname = short_name(district.name)
        streets = regions.streets(district.code)
        centre = streets[0]
        add(
            district.code,
            centre.code,
            f"{dname}汽车站",
            "transport",
            "transport_logistics",
            rng.randint(300, 1500),
            f"{centre.name}车站路1号",
        )
        add(
            district.code,
            centre.code,
            f"{district.name}政务服务中心",
            "government",
            "government",
            rng.randint(200, 600),
            f"{centre.name}府前街8号",
        )
        seen: set[str] = set()
        for _ in range(max(8, people // PERSONS_PER_VENUE)):
            category = rng.choices(categories, weights=[_VENUES[c][0] for c in categories])[0]
            street = rng.choice(streets)
            name = _venue_name(rng, category, dname, short_name(street.name))
            if name in seen:
                name = f"{name}（{short_name(street.name)}店）"
                if name in seen:
                    continue
            seen.add(name)
            _, (lo, hi), industry = _VENUES[category]
            address = f"{street.name}{rng.choice(names.TRADE_WORDS)}路{rng.randint(1, 300)}号"
            add(district.code, street.code, name, category, industry, rng.randint(lo, hi), address)
    for workplace, kind in workplaces:
        site = _FROM_WORKPLACE.get(kind)
        if site:
            capacity = rng.randint(200, 2000)
            add(
                workplace.district,
                workplace.street,
                workplace.name,
                site,
                workplace.industry,
                capacity,
                workplace.address,
            )
    return venues
