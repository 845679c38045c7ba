"""The ``crm`` app's tables, one module per concern, all importable from
``crm.models`` (the app label and the migrations name them here)."""

from crm.models.choices import (
    CLOSED_STAGES,
    Fulfilment,
    PaymentStatus,
    Stage,
    Status,
    payment_status_for,
    status_for_stage,
)
from crm.models.customers import Customer, DeletedCustomer
from crm.models.fields import WhatsAppNumberField
from crm.models.imports import ImportChange, ImportJob, ImportRecord
from crm.models.opportunities import Opportunity, StageChange
from crm.models.orders import (
    Payment,
    check_payment,
    check_payments_together,
    outstanding,
    receivables,
    record_payment,
    update_payment_status,
)
from crm.models.outbox import (
    Message,
    MessageBatch,
    MessageTemplate,
    NotificationRule,
    ScheduledRun,
    SendingState,
    StaffProfile,
)
from crm.models.rollups import ClosedDay, CreatedDay, OrderTotal
from crm.models.workers import WorkerHeartbeat

__all__ = [
    "CLOSED_STAGES", "ClosedDay", "CreatedDay", "Customer", "DeletedCustomer", "Fulfilment",
    "ImportChange", "ImportJob", "ImportRecord", "Message", "MessageBatch", "MessageTemplate",
    "NotificationRule", "OrderTotal", "Opportunity", "Payment", "PaymentStatus",
    "ScheduledRun", "SendingState", "StaffProfile", "Stage", "StageChange", "Status",
    "WhatsAppNumberField", "WorkerHeartbeat", "check_payment", "check_payments_together",
    "outstanding", "payment_status_for", "receivables", "record_payment",
     "status_for_stage", "update_payment_status",
]
