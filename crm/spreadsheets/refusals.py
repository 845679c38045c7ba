"""What a user is told when a file cannot be imported: SpreadsheetRefused,
raised by the readers at a limit or an unreadable file, and the sentence
for any exception met while importing."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class SpreadsheetRefused(ValueError):
    """A file past one of the import's limits, or unreadable; the message is
    a sentence for the user."""


def import_error_message(error):
    """The sentence a user reads for an exception met while importing.

    Ours (SpreadsheetRefused, the ValidationErrors and ValueErrors our
    resources and widgets raise) are sentences for the user already. Any
    other (a database error, a bug) is said in plain words: its class and
    message name server internals and library jargon.
    """
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    if isinstance(error, SpreadsheetRefused):
        return str(error)
    return _("The file could not be imported because of a problem on our side. Nothing was "
             "written. Try again later; if it happens again, send the file to whoever "
             "looks after this application.")
