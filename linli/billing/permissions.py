"""Permissions of billing."""

from linli.core.permissions import Permissions


class BillingPerm(Permissions):
    BILLING_VIEW = "billing.view"
    BILLING_MANAGE = "billing.manage"  # fee items, meter readings, bill runs, counter payments
    BILLING_APPROVE = "billing.approve"  # approve discounts, waivers and refunds
