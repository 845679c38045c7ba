"""WhatsApp messaging: the gateway seam (gateway.py, HTTP only), message
templates (templates.py), and the outbox sender (sender.py, the ORM side)."""
