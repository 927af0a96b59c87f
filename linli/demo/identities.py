"""Fictitious but well-formed identities for the demo: names, ID numbers, mobiles, plates, credit codes.

Everything here is pure (no database): a ``random.Random`` in, strings out, so the demo data is the
same for the same seed. The values are shaped like real ones (GB 11643 ID numbers with a valid check
digit, GB 32100 social credit codes, 11-digit mobiles on real carrier prefixes, 晋A plates) but are
generated, never copied from anyone.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from linli.core.pii import credit_check_char, id_check_digit

# Family names weighted roughly by frequency in northern China (Shanxi has many 王/李/张/刘/郭/武/贾).
FAMILY_NAMES: list[tuple[str, int]] = [
    ("王", 90),
    ("李", 85),
    ("张", 80),
    ("刘", 65),
    ("郭", 40),
    ("赵", 35),
    ("杨", 35),
    ("陈", 30),
    ("武", 25),
    ("贾", 22),
    ("任", 20),
    ("韩", 18),
    ("孙", 18),
    ("周", 16),
    ("吴", 14),
    ("马", 14),
    ("高", 14),
    ("冯", 12),
    ("梁", 12),
    ("郝", 12),
    ("田", 11),
    ("段", 10),
    ("乔", 10),
    ("薛", 10),
    ("侯", 9),
    ("范", 9),
    ("程", 9),
    ("牛", 9),
    ("史", 8),
    ("白", 8),
    ("宋", 8),
    ("曹", 8),
    ("徐", 8),
    ("秦", 7),
    ("黄", 7),
    ("胡", 7),
    ("朱", 7),
    ("许", 6),
    ("阎", 6),
    ("苏", 6),
    ("董", 6),
    ("杜", 6),
    ("温", 5),
    ("常", 5),
    ("崔", 5),
    ("孟", 5),
    ("申", 5),
    ("卫", 4),
    ("霍", 4),
    ("成", 4),
    ("裴", 4),
    ("尹", 4),
    ("姚", 4),
    ("邢", 3),
    ("岳", 3),
    ("康", 3),
    ("石", 3),
    ("靳", 3),
    ("柴", 3),
    ("上官", 1),
    ("欧阳", 1),
]
_FAMILY, _FAMILY_W = zip(*FAMILY_NAMES, strict=True)

MALE_CHARS = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林洋峰建志国庆文博晨阳昊睿哲宏亮"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀玲燕萍红英慧琳雪倩婷颖洁佳欣悦瑶怡梅兰月晶蕾薇璐彤妍菲莉琴丹露"
NEUTRAL_CHARS = "春晓雨思嘉子文安然一可心诗梓涵欣瑞泽雅天乐晨"

# GB/T 2260 county codes: Taiyuan districts for registered residents, other places for migrants.
HOME_AREAS: dict[str, str] = {
    "140105": "山西省太原市小店区",
    "140106": "山西省太原市迎泽区",
    "140107": "山西省太原市杏花岭区",
    "140108": "山西省太原市尖草坪区",
    "140109": "山西省太原市万柏林区",
    "140110": "山西省太原市晋源区",
    "140121": "山西省太原市清徐县",
    "140122": "山西省太原市阳曲县",
    "140181": "山西省古交市",
}
OTHER_SHANXI_AREAS: dict[str, str] = {
    "140202": "山西省大同市城区",
    "140402": "山西省长治市城区",
    "140502": "山西省晋城市城区",
    "140602": "山西省朔州市朔城区",
    "140702": "山西省晋中市榆次区",
    "140802": "山西省运城市盐湖区",
    "140902": "山西省忻州市忻府区",
    "141002": "山西省临汾市尧都区",
    "141102": "山西省吕梁市离石区",
}
OTHER_PROVINCE_AREAS: dict[str, str] = {
    "130102": "河北省石家庄市长安区",
    "410105": "河南省郑州市金水区",
    "610113": "陕西省西安市雁塔区",
    "150102": "内蒙古自治区呼和浩特市新城区",
    "370102": "山东省济南市历下区",
}
ROADS = [
    "坞城路",
    "学府街",
    "长治路",
    "体育路",
    "许坦东街",
    "南内环街",
    "平阳路",
    "并州南路",
    "亲贤街",
    "晋阳街",
]

MOBILE_PREFIXES = [
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "147",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "178",
    "182",
    "183",
    "184",
    "187",
    "188",
    "130",
    "131",
    "132",
    "155",
    "156",
    "166",
    "176",
    "185",
    "186",
    "133",
    "153",
    "173",
    "177",
    "180",
    "181",
    "189",
    "199",
]
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O on Chinese plates


def person_name(rng: random.Random, *, male: bool, family: str | None = None) -> str:
    family = family or rng.choices(_FAMILY, weights=_FAMILY_W)[0]
    pool = MALE_CHARS if male else FEMALE_CHARS
    one_char = rng.random() < 0.2
    given = rng.choice(pool) if one_char else rng.choice(pool + NEUTRAL_CHARS) + rng.choice(pool)
    return family + given


def family_name_of(name: str) -> str:
    for compound in ("上官", "欧阳"):
        if name.startswith(compound):
            return compound
    return name[0]


def birth_date(rng: random.Random, *, age_min: int, age_max: int, today: date) -> date:
    age_days = rng.randint(age_min * 365 + 1, age_max * 365 + 300)
    return today - timedelta(days=age_days)


class IdentityPool:
    """Hands out unique ID numbers, mobiles and plates for one demo run."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._ids: set[str] = set()
        self._mobiles: set[str] = set()
        self._plates: set[str] = set()

    def id_number(self, *, area: str, birth: date, male: bool) -> str:
        """A GB 11643 number: area code, birth date, order code (odd for men, even for women), check."""
        while True:
            order = self.rng.randint(0, 499) * 2 + (1 if male else 0)
            first17 = f"{area}{birth:%Y%m%d}{order:03d}"
            number = first17 + id_check_digit(first17)
            if number not in self._ids:
                self._ids.add(number)
                return number

    def mobile(self) -> str:
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randint(0, 99_999_999):08d}"
            if number not in self._mobiles:
                self._mobiles.add(number)
                return number

    def plate(self, *, electric: bool) -> str:
        """晋A12345 (stored without the separator dot); new-energy plates have 8 characters (晋AD12345)."""
        rng = self.rng
        while True:
            city = rng.choices("AKMDE", weights=(90, 4, 2, 2, 2))[0]
            if electric:
                tail = rng.choice("DF") + f"{rng.randint(0, 99999):05d}"
            else:
                shape = rng.random()
                if shape < 0.6:
                    tail = f"{rng.randint(0, 99999):05d}"
                elif shape < 0.9:
                    tail = rng.choice(PLATE_LETTERS) + f"{rng.randint(0, 9999):04d}"
                else:
                    chars = [rng.choice("0123456789") for _ in range(5)]
                    for pos in rng.sample(range(5), 2):
                        chars[pos] = rng.choice(PLATE_LETTERS)
                    tail = "".join(chars)
            plate = f"晋{city}{tail}"
            if plate not in self._plates:
                self._plates.add(plate)
                return plate


def display_plate(plate: str) -> str:
    """晋A12345 → 晋A·12345 (how a plate is printed)."""
    return f"{plate[:2]}·{plate[2:]}"


# GB 32100-2015 统一社会信用代码: authority, kind, area, GB 11714 organisation code, check character.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def credit_code(rng: random.Random, *, area: str = "140105", authority: str = "9", kind: str = "1") -> str:
    """A well-formed unified social credit code (passes ``core.pii.parse_credit_code``)."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    org_check = 11 - sum(int(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    org = body + ("X" if org_check == 10 else "0" if org_check == 11 else str(org_check))
    first17 = f"{authority}{kind}{area}{org}"
    return first17 + credit_check_char(first17)
