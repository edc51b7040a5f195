"""The envrun client as one file, for trainers that load a reward function by path (verl's
``custom_reward_function.path=clients/python/envrun_client.py``, ``name=compute_score``). The code lives in
the ``envrun`` package next to this file (``pip install ./clients/python`` installs it)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from envrun.client import *  # noqa: E402,F401,F403
from envrun.client import _error_from, _retry_after  # noqa: E402,F401
