"""An instance installed without the apprise extra starts, and says how to get chat channels."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import sys
sys.modules["apprise"] = None  # as if the extra were not installed: `import apprise` fails
import django
django.setup()
from django.core.management import call_command
call_command("check")
from incidentdesk.comms.transports.apprise import check_url
print(check_url("slack://T000/B000/XXX"))
"""


def test_without_apprise_the_product_starts_and_refuses_chat_channels_clearly(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "incidentdesk.settings",
        "INCIDENTDESK_DATA_DIR": str(tmp_path),
        "INCIDENTDESK_DATABASE_URL": "",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'incidentdesk[apprise]'" in result.stdout
