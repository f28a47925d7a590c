"""Offline stand-in for the pip bootstrap script that ansible-test downloads.

ansible-test sanity creates a virtual environment per test and bootstraps pip in it with
a get-pip script from the Ansible project's CI file server, which machines without
internet cannot reach. scripts/sanity.sh copies this file to
~/.ansible/test/cache/get_pip_<version>.py only when that file is missing, so a machine
with internet keeps the real script.

It installs pip from the interpreter's own ensurepip wheel, then runs
`pip install ARGS` with the arguments ansible-test passed (for example pip==24.2),
so requirements still come from the package registry.
"""
import ensurepip
import os
import runpy
import sys

ensurepip.bootstrap()
# ensurepip points PIP_CONFIG_FILE at /dev/null, which would hide the machine's pip
# configuration (index, certificate bundle).
os.environ.pop('PIP_CONFIG_FILE', None)
# get-pip.py understands these two flags; pip install does not.
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
sys.argv = ['pip', 'install'] + args
runpy.run_module('pip', run_name='__main__', alter_sys=True)
