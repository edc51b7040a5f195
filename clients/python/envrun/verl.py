"""verl's reward function, async (verl's reward loop awaits coroutine reward functions and runs many at once).

Point verl at it with ``custom_reward_function.path=<site-packages>/envrun/verl.py`` and
``custom_reward_function.name=compute_score`` (or the file in a clone: ``clients/python/envrun/verl.py``).

The result is a dict: ``score`` (the reward), ``envrun_failed`` (1.0 when the check failed on envrun's side:
a judge down, a sandbox failure of envrun's -- never because of the response), ``envrun_status`` and
``envrun_source``. verl takes ``score`` as the reward and logs the other keys as ``reward_extra_info``; a failed
check has ``score`` 0.0 *and* ``envrun_failed`` 1.0, so mask those samples (e.g. drop them from the batch or
zero their advantages) instead of training on a 0. With ``ENVRUN_ON_FAILURE=raise`` a failed check raises
``EnvrunError`` instead.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any, Optional

if __package__ in (None, ""):  # loaded by path (verl's custom_reward_function.path)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from envrun.client import EnvrunClient, EnvrunError, _client, _item, _pack_for
else:
    from .client import EnvrunClient, EnvrunError, _client, _item, _pack_for

__all__ = ["compute_score", "result_to_verl"]


def result_to_verl(result: dict, pack: str) -> dict:
    """One envrun RewardResult as verl's score dict."""
    failed = result.get("status") == "error"
    if failed and os.environ.get("ENVRUN_ON_FAILURE", "flag") == "raise":
        details = result.get("details") or {}
        raise EnvrunError(200, details.get("error_code", "score_error"), details.get("error", "scoring failed"), pack)
    return {
        "score": 0.0 if failed else float(result["reward"]),
        "envrun_failed": 1.0 if failed else 0.0,
        "envrun_status": result.get("status", "error"),
        "envrun_source": result.get("source", ""),
    }


async def compute_score(data_source, solution_str, ground_truth, extra_info=None, *, math_pack: str = "math500",
                        client: Optional[EnvrunClient] = None, **_ignored: Any) -> dict:
    """verl ``compute_score(data_source, solution_str, ground_truth, extra_info)``: a ``data_source`` like
    ``openai/gsm8k`` maps to its pack; ``extra_info`` may carry ``pack`` and ``task_id``; otherwise the
    ground truth is the gold answer."""
    item = _item(_pack_for(data_source, math_pack), solution_str, ground_truth, extra_info)
    results = await asyncio.to_thread((client or _client()).score, [item])
    return result_to_verl(results[0], item["pack"])
