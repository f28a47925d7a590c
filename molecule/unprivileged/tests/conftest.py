import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, '..', '..', 'shared'))
sys.path.insert(0, os.path.join(HERE, '..', '..', '..', 'demo'))

import rampart_fleet as fleet  # noqa: E402


@pytest.fixture(autouse=True)
def clear_recent_lists():
    """Forget the sources the recent lists hold (port-scan trap, SSH guard) before each test,
    so that one test's probes do not lock the next test's client out."""
    for plat in fleet.platforms():
        if set(plat.get('groups', [])) & {'single_hosts', 'routers', 'bastions'}:
            subprocess.run(['podman', 'exec', plat['name'], 'sh', '-c',
                            'for f in /proc/net/xt_recent/*; do [ -e "$f" ] && echo / > "$f"; done; true'],
                           capture_output=True, check=False)
    yield
