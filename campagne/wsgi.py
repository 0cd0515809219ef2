import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campagne.settings")
django_application = get_wsgi_application()

# Click and open hits are answered before Django's middleware (see campagne.tracking.wsgi).
from campagne.tracking.wsgi import TrackingFastPath  # noqa: E402

application = TrackingFastPath(django_application)

# What start-up builds (settings, URL patterns and views, the API's schemas) lives as
# long as the process: frozen out of the garbage collector's sight, its collections
# during requests scan only what requests make. Unfrozen, they were a quarter of the
# CPU of a small API call (bench/door_sync.py).
import gc  # noqa: E402

from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018 - imports every view and builds the API now
gc.freeze()
