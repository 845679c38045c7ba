"""An uploaded spreadsheet kept between the import's preview and its
confirmation, in the database every web process shares."""

import uuid

from django.conf import settings
from django.core.cache import caches
from django.db import connections, router
from django.utils import timezone
from import_export.tmp_storages import CacheStorage


class SharedUploadStorage(CacheStorage):
    """Keeps an uploaded spreadsheet between the preview and the confirmation
    in the ``import_uploads`` cache, a table in the database.

    The library's default, a temporary file, is on one machine's disk: with
    several web processes behind a load balancer the confirmation can reach
    another machine and find no file. The database is shared by all of them.
    """

    def _cache(self):
        return caches["import_uploads"]

    def save(self, data):
        if not self.name:
            self.name = uuid.uuid4().hex
        # Django's DatabaseCache deletes expired rows only once MAX_ENTRIES
        # is passed: abandoned previews' files (up to 13.5 MB each) would
        # stay in the table until then.
        purge_expired_uploads()
        self._cache().set(self.CACHE_PREFIX + self.name, data)

    def read(self):
        data = self._cache().get(self.CACHE_PREFIX + self.name)
        if data is None:
            raise FileNotFoundError(self.name)  # expired or already used
        return data if self.read_mode == "rb" or isinstance(data, str) else data.decode(
            self.encoding or "utf-8"
        )

    def remove(self):
        self._cache().delete(self.CACHE_PREFIX + self.name)


def purge_expired_uploads():
    """Delete the uploads whose time in the import_uploads cache ran out;
    returns how many. The table has Django's createcachetable layout, with
    an index on ``expires``."""
    cache = caches["import_uploads"]
    connection = connections[router.db_for_write(cache.cache_model_class)]
    table = connection.ops.quote_name(settings.CACHES["import_uploads"]["LOCATION"])
    now = timezone.now().replace(microsecond=0)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE expires < %s",
            [connection.ops.adapt_datetimefield_value(now)],
        )
        return cursor.rowcount
