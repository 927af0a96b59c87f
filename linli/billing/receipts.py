"""Payment receipts (收据) as PDF, drawn with reportlab's built-in CID font STSong-Light (no font files)."""

from __future__ import annotations

import io

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from linli.billing.models import Payment
from linli.billing.money import yuan
from linli.billing.selectors import payment_receipt_lines
from linli.core.errors import Conflict
from linli.core.pii import mask_name

FONT = "STSong-Light"


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _payer(payment: Payment) -> str:
    household = None
    lines = payment_receipt_lines(payment)
    for line in lines:
        if line.bill.household_id:
            household = line.bill.household
            break
    head = getattr(household, "head", None)
    return mask_name(head.name) if head is not None else _("住户")


def receipt_pdf(payment: Payment) -> bytes:
    """One page: company/estate, receipt number, masked payer, room, items and amounts in 元."""
    if payment.status != Payment.Status.PAID or not payment.receipt_no:
        raise Conflict(_("该笔款项尚未支付，没有收据"))
    font = _font()
    buf = io.BytesIO()
    size = landscape(A5)
    c = canvas.Canvas(buf, pagesize=size, pageCompression=0)
    c.setTitle(f"{_('收据')} {payment.receipt_no}")
    c.setSubject(payment.receipt_no)
    width, height = size
    from linli.orgs.selectors import property_company_of

    serving = property_company_of(payment.estate)
    company = serving.name if serving is not None else _("物业服务中心")
    y = height - 18 * mm
    c.setFont(font, 16)
    c.drawCentredString(width / 2, y, f"{payment.estate.name} {company} {_('收款收据')}")
    y -= 10 * mm
    c.setFont(font, 10)
    paid_at = timezone.localtime(payment.paid_at)
    label = f"{_('收据编号')}："
    c.drawString(15 * mm, y, label)
    c.setFont("Helvetica", 10)  # the number in a standard font stays searchable text in the PDF
    c.drawString(15 * mm + pdfmetrics.stringWidth(label, font, 10), y, payment.receipt_no)
    c.setFont(font, 10)
    c.drawRightString(width - 15 * mm, y, f"{_('收款时间')}：{paid_at:%Y-%m-%d %H:%M}")
    y -= 6 * mm
    c.drawString(15 * mm, y, f"{_('缴费人')}：{_payer(payment)}")
    c.drawRightString(width - 15 * mm, y, f"{_('收款方式')}：{payment.get_channel_display()}")
    y -= 6 * mm
    where = payment.room.standard_address if payment.room_id else _("无（临时收费）")
    c.drawString(15 * mm, y, f"{_('房屋')}：{where}")
    y -= 9 * mm
    c.setFont(font, 10)
    cols = (15 * mm, 80 * mm, 110 * mm, width - 15 * mm)
    c.drawString(cols[0], y, _("收费项目"))
    c.drawString(cols[1], y, _("账期"))
    c.drawString(cols[2], y, _("账单金额（元）"))
    c.drawRightString(cols[3], y, _("本次实收（元）"))
    c.line(15 * mm, y - 2 * mm, width - 15 * mm, y - 2 * mm)
    for line in payment_receipt_lines(payment):
        if line.amount_fen == 0:
            continue
        y -= 7 * mm
        c.drawString(cols[0], y, line.bill.title[:24])
        c.drawString(cols[1], y, line.bill.period)
        c.drawString(cols[2], y, yuan(line.bill.total_fen))
        c.drawRightString(cols[3], y, yuan(line.amount_fen))
    y -= 4 * mm
    c.line(15 * mm, y, width - 15 * mm, y)
    y -= 7 * mm
    received = payment.amount_fen - payment.excess_fen
    c.setFont(font, 12)
    c.drawRightString(width - 15 * mm, y, f"{_('合计实收')}：¥{yuan(received)}")
    if payment.excess_fen:
        y -= 6 * mm
        c.setFont(font, 9)
        c.drawRightString(width - 15 * mm, y, f"{_('已原路退回多付金额')}：¥{yuan(payment.excess_fen)}")
    c.setFont(font, 8)
    c.drawString(15 * mm, 10 * mm, _("本收据由邻里系统生成，可凭收据编号在物业服务中心核验。"))
    c.showPage()
    c.save()
    return buf.getvalue()
