"""Password rules (R40): context words and a strength estimate (zxcvbn) for every profile; character
classes for the 等保 profile."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from zxcvbn import zxcvbn  # type: ignore[import-untyped]

from linli.orgs.selectors import password_context_words

CONTEXT_WORDS = ("linli", "邻里", "community", "shequ", "wuye", "xiaoqu", "password", "mima")


class ContextWordValidator:
    """Refuse passwords built around the product's or a community's name."""

    def validate(self, password: str, user=None) -> None:
        lowered = password.lower()
        for word in CONTEXT_WORDS:
            if word in lowered and len(lowered) - len(word) < 8:
                raise ValidationError(_("密码不能以产品或社区名称为主体"), code="password_context_word")

    def get_help_text(self) -> str:
        return _("密码不能以产品或社区名称为主体。")


class ProfileValidator:
    """``LINLI_PASSWORD_PROFILE=dengbao`` requires at least three of four character classes."""

    def validate(self, password: str, user=None) -> None:
        if getattr(settings, "PASSWORD_PROFILE", "asvs") != "dengbao":
            return
        classes = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
        if classes < 3:
            raise ValidationError(
                _("密码需包含大写字母、小写字母、数字、符号中的至少三类"), code="password_classes"
            )

    def get_help_text(self) -> str:
        if getattr(settings, "PASSWORD_PROFILE", "asvs") != "dengbao":
            return ""
        return _("需包含大写字母、小写字母、数字、符号中的至少三类。")


# The product's own names: the first words a guesser tries against any Linli account.
PRODUCT_WORDS = ("linli", "邻里", "linli-platform", "邻里平台")
# zxcvbn refuses longer input (its matching is quadratic); the first 72 characters carry the estimate.
_ZXCVBN_MAX = 72
# Characters a password must have beyond the context words it contains.
_MIN_OWN_CHARS = 8
# Pinyin syllables, to recognise a community's name spelt out (康乐苑 KLY → "kangleyuan").
_PINYIN_SYLLABLES = (
    "a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu pa pai pan pang pao "
    "pei pen peng pi pian piao pie pin ping po pou pu ma mai man mang mao me mei men meng mi mian miao "
    "mie min ming miu mo mou mu fa fan fang fei fen feng fo fou fu da dai dan dang dao de dei den deng di "
    "dia dian diao die ding diu dong dou du duan dui dun duo ta tai tan tang tao te teng ti tian tiao tie "
    "ting tong tou tu tuan tui tun tuo na nai nan nang nao ne nei nen neng ni nian niang niao nie nin "
    "ning niu nong nou nu nuan nun nuo nv nve la lai lan lang lao le lei leng li lia lian liang liao lie "
    "lin ling liu lo long lou lu luan lun luo lv lve ga gai gan gang gao ge gei gen geng gong gou gu gua "
    "guai guan guang gui gun guo ka kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan kuang kui "
    "kun kuo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo ji jia jian "
    "jiang jiao jie jin jing jiong jiu ju juan jue jun qi qia qian qiang qiao qie qin qing qiong qiu qu "
    "quan que qun xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun zha zhai zhan zhang zhao "
    "zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo cha chai chan chang "
    "chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun chuo sha shai shan shang "
    "shao she shei shen sheng shi shou shu shua shuai shuan shuang shui shun shuo ran rang rao re ren "
    "reng ri rong rou ru rua ruan rui run ruo za zai zan zang zao ze zei zen zeng zi zong zou zu zuan zui "
    "zun zuo ca cai can cang cao ce cen ceng ci cong cou cu cuan cui cun cuo sa sai san sang sao se sen "
    "seng si song sou su suan sui sun suo ya yan yang yao ye yi yin ying yo yong you yu yuan yue yun wa "
    "wai wan wang wei wen weng wo wu e ei en eng er o ou "
)
_PINYIN = frozenset(_PINYIN_SYLLABLES.split())


def _pinyin_initials(run: str) -> set[str]:
    """Every way ``run`` splits into pinyin syllables, as the string of their first letters."""
    ways: list[set[str]] = [set() for _ in range(len(run) + 1)]
    ways[0].add("")
    for end in range(1, len(run) + 1):
        for start in range(max(0, end - 6), end):
            if ways[start] and run[start:end] in _PINYIN:
                ways[end].update(w + run[start] for w in ways[start])
    return ways[len(run)]


def context_words(user) -> list[str]:
    """What a guesser knows about ``user``: the product, the user's names, their organisations and
    the names and codes of the estates and communities of their memberships."""
    words = list(PRODUCT_WORDS)
    if user is not None:
        for attr in ("username", "display_name", "first_name", "last_name", "email"):
            value = str(getattr(user, attr, "") or "")
            if value:
                words.append(value)
                words.extend(part for part in re.split(r"[\W_]+", value) if len(part) >= 3)
        words.extend(password_context_words(user))
    return words


class StrengthValidator:
    """Refuse a password zxcvbn scores below ``min_score`` (default 3 of 0–4: about 10^8 guesses)
    against the dictionaries plus this user's context words (R40). Repeats (学府花园学府花园…,
    ``kly_techkly_tech``), keyboard walks and the community's name spelt in pinyin score low."""

    def __init__(self, min_score: int = 3) -> None:
        self.min_score = min_score

    def validate(self, password: str, user=None) -> None:
        sample = password[:_ZXCVBN_MAX]
        words = context_words(user)
        codes = {w.lower() for w in words if w.isascii() and w.isalpha() and 2 <= len(w) <= 8}
        for run in re.findall(r"[a-z]{4,}", sample.lower()):
            if _pinyin_initials(run) & codes:
                words.append(run)
        result = zxcvbn(sample, user_inputs=words)
        if result["score"] < self.min_score:
            reason = _reason(result)
        elif len(_without(sample, words)) < _MIN_OWN_CHARS:
            # zxcvbn prices two known words glued together (linli-kangleyuan) near its 10^8 line.
            reason = _("包含产品、小区、组织或用户名等可猜到的词")
        else:
            return
        raise ValidationError(
            _("密码太容易被猜到：%(reason)s") % {"reason": reason}, code="password_too_guessable"
        )

    def get_help_text(self) -> str:
        return _("不要使用重复、键盘连续的字符，或产品、小区、用户名等可猜到的词。")


def _without(password: str, words: list[str]) -> str:
    """``password`` with every context word (longest first) and every separator removed."""
    rest = password.lower()
    for word in sorted({w.lower() for w in words if len(w) >= 2}, key=len, reverse=True):
        rest = rest.replace(word, "")
    return re.sub(r"[\W_]+", "", rest)


def _reason(result: dict) -> str:
    """Why zxcvbn found the password easy, in zh-Hans (its own feedback is English)."""
    patterns = {m.get("pattern") for m in result.get("sequence", ())}
    dictionaries = {
        m.get("dictionary_name") for m in result.get("sequence", ()) if m.get("pattern") == "dictionary"
    }
    if "repeat" in patterns:
        return _("由重复的字符或词组成")
    if "spatial" in patterns:
        return _("是键盘上连续的按键")
    if "user_inputs" in dictionaries:
        return _("包含产品、小区、组织或用户名等可猜到的词")
    if "sequence" in patterns:
        return _("是连续的字母或数字")
    if "date" in patterns:
        return _("包含日期")
    if dictionaries:
        return _("由常见密码或常用词组成")
    return _("长度或变化不足")
