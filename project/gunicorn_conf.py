"""gunicorn settings that are code rather than flags (docker/entrypoint.sh passes the flags).

gunicorn writes its access and error logs itself, outside Django's LOGGING,
so they get the same filter as the app's console: the webhook token in a
request line ("POST /whatsapp/webhook/<token>/ HTTP/1.1") is masked.
"""

from gunicorn.glogging import Logger

from crm.logs import MaskSecretsFilter


class MaskingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)  # (re)creates the handlers, at start and on reload
        for log in (self.access_log, self.error_log):
            for handler in log.handlers:
                handler.addFilter(MaskSecretsFilter())


logger_class = MaskingLogger
