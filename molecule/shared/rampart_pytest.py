"""pytest plugin loaded by every scenario's verifier (PYTEST_PLUGINS in .config/molecule/config.yml).

It replaces the per-scenario conftest.py files: the verifier's PYTHONPATH holds
molecule/shared (rampart_fleet) and demo (probe), and this fixture runs before each test.
"""
import subprocess

import pytest

import rampart_fleet as fleet

# The groups whose hosts run the roles' SSH guard and port-scan trap (xt_recent lists).
RECENT_GROUPS = {'single_hosts', 'routers', 'bastions'}


@pytest.fixture(autouse=True)
def clear_recent_lists():
    """Forget the sources the recent lists hold (port-scan trap, SSH guard) before each test,
    so that one test's probes do not lock the next test's client out."""
    try:
        plats = fleet.platforms()
    except (KeyError, OSError):
        plats = []
    for plat in plats:
        if set(plat.get('groups', [])) & RECENT_GROUPS:
            subprocess.run(['podman', 'exec', plat['name'], 'sh', '-c',
                            'for f in /proc/net/xt_recent/*; do [ -e "$f" ] && echo / > "$f"; done; true'],
                           capture_output=True, check=False)
    yield
