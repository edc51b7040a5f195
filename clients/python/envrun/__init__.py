"""Clients for an envrun reward server (standard library only).

* ``envrun.EnvrunClient`` -- the wire API (score, episodes, packs), retrying 429/503 with Retry-After.
* ``envrun.verl.compute_score`` -- verl's (async) reward function; returns ``{"score", "envrun_failed", ...}``.
* ``envrun.trl.reward_func`` / ``make_reward_func`` -- TRL's reward function; ``envrun.trl.EnvrunEnvironment``
  -- a TRL ``environment_factory`` class (``reset(**row)``, a ``submit`` tool, ``get_reward()``).
* ``envrun.verifiers.envrun_reward`` -- a reward function for a verifiers ``Rubric``.

The server address comes from ``ENVRUN_URL`` (default ``http://127.0.0.1:8080``) and the optional bearer
token from ``ENVRUN_TOKEN``. A check that failed on envrun's side is never a reward: each entry point marks it
(a flag, ``None``, or an exception) so that the trainer can mask the sample.
"""

from .client import (EnvrunClient, EnvrunError, compute_score, compute_score_batch, envrun_reward,
                     make_trl_reward)

__all__ = ["EnvrunClient", "EnvrunError", "compute_score", "compute_score_batch", "envrun_reward",
           "make_trl_reward"]
__version__ = "0.1.0"
