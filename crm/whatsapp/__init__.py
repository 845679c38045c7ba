"""WhatsApp messaging, in three parts: the outbox (outbox.py: planning,
queueing, requeueing, opt-out; notifications.py and digests.py queue
through it), eligibility (eligibility.py, with crm.phones.is_sendable: who
may get a message), and the sender (sender.py: claims, settling; limits.py,
pauses.py, state.py), run by tasks.py. The gateway seam (gateway.py, HTTP
only), KirimWA's webhook (webhooks.py), message templates (templates.py),
and what holds sending back, for the owner (outlook.py)."""
