"""Vocabularies of the registry: sexes, workplace unit kinds, industries, venue categories.

Codes are English (API, files); labels are what people read. Imports accept either.
"""

from __future__ import annotations

SEXES = {"M": "男", "F": "女"}

UNIT_KINDS = {"department": "部门", "workshop": "车间", "classroom": "班级", "team": "班组"}

# Industries, grouped as the 淄博 reopening notice of 22 March 2022 named them (seed 000).
INDUSTRIES = {
    "epidemic_prevention": "疫情防控",
    "energy": "能源供应",
    "transport_logistics": "交通物流",
    "medical_supplies": "医疗物资",
    "major_project": "重大工程",
    "manufacturing": "制造业",
    "construction": "建筑业",
    "retail": "批发零售",
    "catering": "住宿餐饮",
    "education": "教育",
    "childcare_training": "托管培训",
    "healthcare": "医疗卫生",
    "culture_entertainment": "文化娱乐",
    "sports_fitness": "体育健身",
    "government": "机关事业单位",
    "finance": "金融",
    "it_services": "信息技术服务",
    "agriculture": "农林牧渔",
    "other": "其他",
}

VENUE_CATEGORIES = {
    "supermarket": "超市",
    "market": "农贸市场",
    "mall": "商场",
    "restaurant": "餐馆",
    "hotel": "宾馆",
    "hospital": "医院",
    "clinic": "诊所药店",
    "school": "学校",
    "kindergarten": "幼儿园",
    "office": "办公场所",
    "factory": "工厂",
    "construction_site": "建筑工地",
    "transport": "交通场站",
    "bus": "公交车",
    "cinema": "影剧院",
    "ktv": "KTV",
    "gym": "健身房",
    "stadium": "体育馆",
    "swimming_pool": "游泳馆",
    "bath": "洗浴场所",
    "internet_cafe": "网吧",
    "government": "政务大厅",
    "religious": "宗教场所",
    "care_home": "养老机构",
    "park": "公园广场",
    "other": "其他",
}


def normalise(value: str, vocabulary: dict[str, str]) -> str | None:
    """The code for a code or a label; ``None`` when it is neither."""
    text = value.strip()
    if text in vocabulary:
        return text
    for code, label in vocabulary.items():
        if label == text:
            return code
    return None
