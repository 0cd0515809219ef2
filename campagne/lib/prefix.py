"""Index-friendly prefix filters on ASCII search keys, on SQLite and PostgreSQL alike."""

from django.db import connections
from django.db.models import Q

# Search keys hold only [a-z0-9 @._+-]; "~" sorts after all of them byte-wise.
_AFTER_ALL = "~"


def prefix_q(field: str, key: str, *, using: str = "default") -> Q:
    """``field`` starts with ``key``, written so the database walks the index.

    SQLite uses an index for a byte-wise range but not for ``LIKE`` on a column that is
    not ``COLLATE NOCASE``; PostgreSQL uses the ``varchar_pattern_ops`` index Django
    creates for ``db_index`` columns with ``LIKE 'key%'`` but not a range under a
    linguistic collation. So each gets the form its planner likes.
    """
    if connections[using].vendor == "sqlite":
        return Q(**{f"{field}__gte": key, f"{field}__lt": key + _AFTER_ALL})
    return Q(**{f"{field}__startswith": key})
