"""Lists that stay fast with millions of rows: search (FULLTEXT and the
ordered scan), the queryset that carries a search's scan, the capped
paginator and the changelist's row writer.

The models import only ``crm.largelists.queryset``; the admin imports the
changelist and search modules. Kept light: importing the package must not
import the admin (the models load it).
"""
