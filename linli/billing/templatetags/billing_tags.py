"""Money filters: ``{{ fen|yuan }}`` → "223.75", ``{{ rate|percent }}`` → "95.1%"."""

from django import template

from linli.billing.money import yuan as _yuan

register = template.Library()


@register.filter
def yuan(fen) -> str:
    try:
        return _yuan(int(fen))
    except (TypeError, ValueError):
        return ""


@register.filter
def percent(rate) -> str:
    try:
        return f"{float(rate) * 100:.1f}%"
    except (TypeError, ValueError):
        return ""
