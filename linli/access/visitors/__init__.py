"""Visitor passes: invitations, walk-ins, delivery and service passes, the visitor's link, guard pages."""
