"""Horizon's WSGI application for tools/cloud, static files included.

Horizon's settings import ``local.local_settings``: ``etc/horizon`` (from
``PYDOCK_HORIZON_ETC``) goes first on ``sys.path`` so that its ``local``
package, written by tools/cloud, is the one found; nothing is written
into the venv. WhiteNoise serves the files that ``collectstatic`` and
``compress`` put in STATIC_ROOT at install (``horizon_static.py``), with
far-future caching for the compressed, hashed bundles.
"""
import os
import sys

sys.path.insert(0, os.environ['PYDOCK_HORIZON_ETC'])
os.environ['DJANGO_SETTINGS_MODULE'] = 'openstack_dashboard.settings'

from django.conf import settings  # noqa: E402
from openstack_dashboard.wsgi import application as dashboard  # noqa: E402
from whitenoise import WhiteNoise  # noqa: E402

application = WhiteNoise(dashboard, root=settings.STATIC_ROOT,
                         prefix=settings.STATIC_URL)
