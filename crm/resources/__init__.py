"""Spreadsheet import and export of customers and opportunities
(django-import-export resources).

widgets        the cells: text, numbers, choices, rupiah, dates
columns        a file's headers matched to our columns
base           SpreadsheetResource: what every import and export does
customers      CustomerResource, customers found by number
opportunities  OpportunityResource

The names other modules use are importable from here.
"""

from crm.resources.base import SpreadsheetResource
from crm.resources.customers import CUSTOMER_HEADERS, CustomerByPhoneLoader, CustomerResource
from crm.resources.opportunities import OPPORTUNITY_HEADERS, OpportunityResource

__all__ = [
    "CUSTOMER_HEADERS", "OPPORTUNITY_HEADERS", "CustomerByPhoneLoader", "CustomerResource",
    "OpportunityResource", "SpreadsheetResource",
]
