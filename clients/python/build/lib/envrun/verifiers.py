"""verifiers (Prime Intellect): a reward function for a ``vf.Rubric``.

``vf.Rubric(funcs=[envrun_reward])`` -- verifiers calls it with the rollout's ``completion``, ``answer`` and
``info`` (and more, ignored). ``info`` may name ``pack`` and ``task_id``; otherwise ``answer`` is the gold
answer, checked by ``info["pack"]`` or the math pack. A check that failed on envrun's side raises
``EnvrunError`` (verifiers records the rollout as errored) rather than scoring 0.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from .client import EnvrunClient, EnvrunError, _client, _completion_text, _item

__all__ = ["envrun_reward", "make_envrun_reward"]


def make_envrun_reward(pack: str = "math500", client: Optional[EnvrunClient] = None):
    async def envrun_reward(completion: Any, answer: Any = None, info: Optional[dict] = None, **_: Any) -> float:
        extra = dict(info or {})
        item = _item(extra.get("pack") or pack, _completion_text(completion), answer, extra)
        result = (await asyncio.to_thread((client or _client()).score, [item]))[0]
        if result["status"] == "error":
            details = result.get("details") or {}
            raise EnvrunError(200, details.get("error_code", "score_error"), details.get("error", "scoring failed"),
                              item["pack"])
        return float(result["reward"])

    return envrun_reward


envrun_reward = make_envrun_reward()
