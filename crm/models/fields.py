"""Model fields of the CRM's own."""

from django.core.exceptions import ValidationError
from django.db import models

from crm.phones import InvalidPhoneNumber, normalize_phone


class WhatsAppNumberField(models.CharField):
    """A phone number stored normalised (``6281234567890``); blank is NULL.

    Normalising in to_python makes model validation (and so the admin's
    uniqueness check) compare numbers, not spellings; normalising again in
    pre_save keeps code paths that skip validation (bulk_create, scripts)
    from storing a second spelling of an existing number.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value is None or not value.strip():
            return None
        try:
            return normalize_phone(value)
        except InvalidPhoneNumber as error:
            raise ValidationError(str(error), code="invalid_phone") from error

    def pre_save(self, model_instance, add):
        value = self.to_python(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value

    def deconstruct(self):
        # Migrations name the field where it was first defined.
        name, _path, args, kwargs = super().deconstruct()
        return name, "crm.models.WhatsAppNumberField", args, kwargs
