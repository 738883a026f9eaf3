# Tests for rule django-debug (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
# A settings module (it assigns INSTALLED_APPS); a development module that only extends a base
# (`from .base import *` then `DEBUG = True`) is not reported, and cannot share this file.
import os

import environ
from django.conf import settings

env = environ.Env()

# The settings module of `django-admin startproject`: DEBUG on next to INSTALLED_APPS.
# ruleid: django-debug
DEBUG = True

# On unless the environment says otherwise.
# ruleid: django-debug
DEBUG = env.bool("DJANGO_DEBUG", default=True)

# ruleid: django-debug
DEBUG = os.environ.get("DJANGO_DEBUG", "True") == "True"

# Off unless the environment says otherwise.
# ok: django-debug
DEBUG = env.bool("DJANGO_DEBUG", default=False)

# ok: django-debug
DEBUG = os.environ.get("DJANGO_DEBUG", "False") == "True"

# ok: django-debug
TEMPLATE_DEBUG = False

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "files",
]


def configure_for_script() -> None:
    # ruleid: django-debug
    settings.configure(DEBUG=True, INSTALLED_APPS=INSTALLED_APPS)


def configure_for_tests() -> None:
    # ok: django-debug
    settings.configure(DEBUG=False, INSTALLED_APPS=INSTALLED_APPS)


class DevelopmentToggles:
    # ok: django-debug
    DEBUG = True
