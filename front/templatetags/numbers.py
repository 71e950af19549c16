"""How the pages write numbers: ARR with the currency and thousands separators, counts with
thousands separators, scores with one decimal in lists (two on the account page)."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.conf import settings

register = template.Library()


@register.filter
def money(value: object) -> str:
    """1234567.4 → "USD 1,234,567" (whole units; the currency is settings.CURRENCY)."""
    if value is None or value == "":
        return "–"
    try:
        amount = Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return str(value)
    return f"{settings.CURRENCY} {amount:,}"


@register.simple_tag
def currency() -> str:
    return settings.CURRENCY
