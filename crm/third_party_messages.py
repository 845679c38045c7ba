"""Strings of jazzmin, django-import-export, simple-history and axes that ship
no Indonesian, or a wrong one.

jazzmin and import-export do not translate to Indonesian, and the others'
catalogues miss strings our pages show, so those pages would show English
in an Indonesian interface. Listing the strings here lets `make messages`
keep them in locale/id, where they are translated like our own.
Nothing imports this module.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

JAZZMIN = [
    gettext_noop(
        "First, enter a username and password. Then, you'll be able to edit more user options."
    ),
    gettext_noop("Enter a username and password."),
    gettext_noop("Please correct the errors below."),
    gettext_noop("Theme"),
    gettext_noop("Color Scheme"),
    gettext_noop("Light"),
    gettext_noop("Dark"),
    gettext_noop("Auto"),
    gettext_noop("Account"),
    gettext_noop("See Profile"),
    gettext_noop("Dashboard"),
    gettext_noop("Copyright"),
    gettext_noop("All rights reserved."),
    gettext_noop("%(full_result_count)s total"),
    gettext_noop("New"),
    gettext_noop("Go back to admin homepage"),
    gettext_noop("Actions"),
    gettext_noop("%(timesince)s ago"),
    gettext_noop("Forgotten your password or username?"),
    gettext_noop(
        "This object doesn't have a change history. "
        "It probably wasn't added via this admin site."
    ),
    gettext_noop("Popup closing..."),
    # The change form's first tab.
    gettext_noop("General"),
    # Django's own catalogue has it with a curly apostrophe; jazzmin's
    # password change page asks with a straight one.
    gettext_noop(
        "Please enter your old password, for security's sake, and then enter your new "
        "password twice so we can verify you typed it in correctly."
    ),
]

SIMPLE_HISTORY = [
    gettext_noop("Changes"),
]

AXES = [
    # axes's Indonesian keeps these in English.
    gettext_noop("User Agent"),
    gettext_noop("Failed Logins"),
    gettext_noop("Logout Time"),
]

IMPORT_EXPORT = [
    gettext_noop("Export"),
    gettext_noop("Import"),
    gettext_noop("Submit"),
    gettext_noop("Confirm import"),
    gettext_noop(
        "Below is a preview of data to be imported. If you are satisfied with the results, "
        "click 'Confirm import'"
    ),
    gettext_noop("This importer will import the following fields: "),
    gettext_noop("This exporter will export the following fields: "),
    gettext_noop("Errors"),
    gettext_noop("Line number"),
    gettext_noop("Some rows failed to validate"),
    gettext_noop(
        "Please correct these errors in your data where possible, "
        "then reupload it using the form above."
    ),
    gettext_noop("Row"),
    gettext_noop("Non field specific"),
    gettext_noop("Preview"),
    gettext_noop("Skipped"),
    gettext_noop("Update"),
    gettext_noop("%s through import_export"),
    gettext_noop("Import finished: {} new, {} updated, {} deleted and {} skipped {}."),
    gettext_noop(
        "%(exc_name)s encountered while trying to read file. "
        "Ensure you have chosen the correct format for the file."
    ),
    gettext_noop(
        "No valid data to import. Ensure your file has the correct headers or data for import."
    ),
    gettext_noop("Export selected %(verbose_name_plural)s"),
    gettext_noop("export failed due to IllegalCharacterError"),
    gettext_noop("Resource"),
    gettext_noop("Format"),
    gettext_noop("File to import"),
    gettext_noop('Select at least 1 field for "%(resource_name)s" to export'),
    gettext_noop("Select all"),
    gettext_noop("Value could not be parsed."),
    # Django's own Indonesian says "nama pengguna" twice here: ours reads right.
    gettext_noop(
        "Please enter the correct %(username)s and password for a staff account. Note that "
        "both fields may be case-sensitive."
    ),
    ngettext_lazy("Export %(len)s selected item.", "Export %(len)s selected items.", "len"),
]
