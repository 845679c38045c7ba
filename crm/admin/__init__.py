"""The CRM's admin, one module per concern. Django's autodiscover imports
``crm.admin``; importing these modules registers their admins.

mixins         what the admins share: record visibility, read-only logs, badges
spreadsheets   import and export plumbing on an admin
imports        the import records, their undo, the background jobs' pages
whatsapp_send  the send page and the lists' send action
whatsapp       the message log, batches, templates, notification rules
customers      customers, and the deleted ones brought back
board          the pipeline board's pages (on the opportunity admin)
payments       an order's payments inline
opportunities  opportunities
users          users, with their WhatsApp profile
"""

from crm.admin import customers, imports, opportunities, users, whatsapp  # noqa: F401
