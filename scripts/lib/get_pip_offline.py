"""Offline stand-in for the pip bootstrap script ansible-test downloads.

ansible-test fetches get-pip.py from a host this machine cannot reach; it looks in
~/.ansible/test/cache/ first.  This file is copied there: it installs pip from the interpreter's
own ensurepip, then installs what ansible-test asked for from the package index.
"""
import subprocess
import sys

# get-pip.py understands these two flags; pip install does not.
GET_PIP_ONLY_FLAGS = ('--no-setuptools', '--no-wheel')

args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_FLAGS]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--disable-pip-version-check'] + args)
