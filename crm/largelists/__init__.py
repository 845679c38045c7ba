"""Lists that stay fast with millions of rows.

  queryset.py     ScannableQuerySet: the one export to the models
  search_text.py  an opportunity's search text (title, customer's names and number)
  search.py       what a search term is: phone or email prefix, FULLTEXT words
  scan.py         the ordered scan: a broad search's first rows in the list's order
  paginator.py    the capped count, and pages read by the scan
  changelist.py   the admin mixin and changelist: related rows by key, never a JOIN
  rows.py         the changelist's rows written whole, as Django writes them

The models import only ``queryset`` (which imports only ``search_text``);
the admin imports ``changelist`` and ``search``, the template tags ``rows``.
Nothing here imports a model or the admin. What is borrowed from Django's
private API is named in crm/django_private.py.
"""
