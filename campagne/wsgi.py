import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campagne.settings")
django_application = get_wsgi_application()

# Click and open hits are answered before Django's middleware (see campagne.tracking.wsgi).
from campagne.tracking.wsgi import TrackingFastPath  # noqa: E402

application = TrackingFastPath(django_application)
