"""Thin clients for an envrun reward server (standard library only).

Three ways in, all going through ``POST /v1/score``:

* ``EnvrunClient`` -- the wire API (score, episodes, packs), with retries on 429/503 honouring Retry-After.
* ``compute_score(data_source, solution_str, ground_truth, extra_info=None)`` -- verl's custom reward
  function (``custom_reward_function.path=clients/python/envrun_client.py``, ``name=compute_score``), plus
  ``compute_score_batch`` for verl's batch reward manager.
* ``make_trl_reward(...)`` / ``envrun_reward`` -- TRL's reward function ``(prompts, completions, **kwargs)``.

The server address comes from ``ENVRUN_URL`` (default ``http://127.0.0.1:8080``) and the optional bearer
token from ``ENVRUN_TOKEN``.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Iterable, Optional

__all__ = [
    "EnvrunClient",
    "EnvrunError",
    "compute_score",
    "compute_score_batch",
    "make_trl_reward",
    "envrun_reward",
]

DEFAULT_URL = "http://127.0.0.1:8080"

# verl data_source names -> envrun packs. Anything else is used as a pack name as-is when the server has it.
DATA_SOURCE_PACKS = {
    "openai/gsm8k": "gsm8k",
    "gsm8k": "gsm8k",
    "HuggingFaceH4/MATH-500": "math500",
    "lighteval/MATH": "math500",
    "DigitalLearningGmbH/MATH-lighteval": "math500",
    "math500": "math500",
    "openai_humaneval": "humaneval",
    "openai/openai_humaneval": "humaneval",
    "humaneval": "humaneval",
    "mbpp": "mbpp",
    "google-research-datasets/mbpp": "mbpp",
}


class EnvrunError(Exception):
    """An HTTP error from the server, carrying its JSON error body (code, message, field)."""

    def __init__(self, status: int, code: str, message: str, field: Optional[str] = None):
        super().__init__(f"{status} {code}: {field + ': ' if field else ''}{message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field


class EnvrunClient:
    """The wire API of ``envrun serve``."""

    def __init__(self, base_url: Optional[str] = None, token: Optional[str] = None, timeout: float = 300.0,
                 retries: int = 8):
        self.base_url = (base_url or os.environ.get("ENVRUN_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else os.environ.get("ENVRUN_TOKEN")
        self.timeout = timeout
        self.retries = retries

    # -- transport ----------------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        attempt = 0
        while True:
            req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    payload = resp.read()
                    ctype = resp.headers.get("Content-Type", "")
                    return json.loads(payload) if "json" in ctype else payload.decode("utf-8")
            except urllib.error.HTTPError as err:
                payload = err.read()
                if err.code in (429, 503) and attempt < self.retries:
                    attempt += 1
                    time.sleep(_retry_after(err.headers.get("Retry-After"), attempt))
                    continue
                raise _error_from(err.code, payload) from None

    # -- /v1 API ------------------------------------------------------------------------------------------
    def score(self, items: list[dict]) -> list[dict]:
        """Scores ``[{"pack", "task_id" | "task", "response"}, ...]``; returns one RewardResult dict per item."""
        return self.request("POST", "/v1/score", {"items": items})["results"]

    def packs(self) -> list[dict]:
        return self.request("GET", "/v1/packs")["packs"]

    def tasks(self, pack: str, offset: int = 0, limit: int = 50) -> dict:
        return self.request("GET", f"/v1/packs/{urllib.parse.quote(pack)}/tasks?offset={offset}&limit={limit}")

    def reset(self, pack: str, task_id: str) -> dict:
        return self.request("POST", "/v1/episodes", {"pack": pack, "task_id": task_id})

    def step(self, episode_id: str, action: str) -> dict:
        return self.request("POST", f"/v1/episodes/{urllib.parse.quote(episode_id)}/step", {"action": action})

    def health(self) -> dict:
        return self.request("GET", "/healthz")


def _retry_after(header: Optional[str], attempt: int) -> float:
    try:
        return max(0.05, float(header)) if header else min(8.0, 0.25 * 2 ** attempt)
    except ValueError:
        return min(8.0, 0.25 * 2 ** attempt)


def _error_from(status: int, payload: bytes) -> EnvrunError:
    try:
        detail = json.loads(payload)["error"]
        return EnvrunError(status, detail.get("code", "error"), detail.get("message", ""), detail.get("field"))
    except (ValueError, KeyError, TypeError):
        return EnvrunError(status, "http_error", payload.decode("utf-8", "replace")[:500])


_default_client: Optional[EnvrunClient] = None


def _client() -> EnvrunClient:
    global _default_client
    if _default_client is None:
        _default_client = EnvrunClient()
    return _default_client


# -- item building ------------------------------------------------------------------------------------------
def _pack_for(data_source: Optional[str], fallback: str) -> str:
    if not data_source:
        return fallback
    return DATA_SOURCE_PACKS.get(data_source, data_source)


def _item(pack: str, response: str, ground_truth: Any = None, extra: Optional[dict] = None) -> dict:
    """One ScoreItem. A ``task_id`` (in extra, or a "pack/id" ground truth) scores against the pack's task;
    otherwise the ground truth is an inline gold answer."""
    extra = extra or {}
    pack = extra.get("pack") or pack
    task_id = extra.get("task_id")
    if task_id is None and isinstance(ground_truth, str) and "/" in ground_truth:
        head, _, tail = ground_truth.partition("/")
        if head == pack and tail:
            task_id = tail
    if task_id is not None:
        return {"pack": pack, "task_id": str(task_id), "response": response}
    task = {"id": str(extra.get("index", "inline")), "prompt": str(extra.get("question", extra.get("prompt", "")))}
    if ground_truth is not None:
        task["answer"] = ground_truth if isinstance(ground_truth, str) else json.dumps(ground_truth)
    return {"pack": pack, "task": task, "response": response}


def _completion_text(completion: Any) -> str:
    """TRL completions are strings, or conversations: a list of {"role", "content"} messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    return str(completion)


# -- verl ---------------------------------------------------------------------------------------------------
def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> float:
    """verl's reward function. Returns the reward; a failed check raises rather than passing as 0."""
    return compute_score_batch([data_source], [solution_str], [ground_truth], [extra_info], **kwargs)[0]


def compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos=None, *, math_pack="math500",
                        client: Optional[EnvrunClient] = None, **_ignored) -> list[float]:
    """verl's batch reward manager entry point: one ``/v1/score`` request for the whole batch."""
    extra_infos = extra_infos or [None] * len(solution_strs)
    items = [
        _item(_pack_for(ds, math_pack), sol, gt, ex)
        for ds, sol, gt, ex in zip(data_sources, solution_strs, ground_truths, extra_infos)
    ]
    results = (client or _client()).score(items)
    out = []
    for item, result in zip(items, results):
        if result["status"] == "error":
            raise EnvrunError(200, result["details"].get("error_code", "score_error"),
                              result["details"].get("error", "scoring failed"), item["pack"])
        out.append(float(result["reward"]))
    return out


# -- TRL ----------------------------------------------------------------------------------------------------
def make_trl_reward(pack: Optional[str] = None, client: Optional[EnvrunClient] = None, name: str = "envrun"):
    """Returns TRL's reward function ``(prompts, completions, **kwargs) -> list[float | None]``.

    Dataset columns arrive as kwargs: ``pack`` and ``task_id`` score against a pack's task; ``answer``
    (or ``ground_truth``/``solution``) is an inline gold answer; with neither, the prompt alone is sent
    (reward-model packs). Items whose check failed get ``None``, which TRL leaves out of the mean.
    """

    def reward(prompts, completions, **kwargs) -> list[Optional[float]]:
        n = len(completions)
        column = lambda *names: next((kwargs[k] for k in names if kwargs.get(k) is not None), [None] * n)
        packs, task_ids = column("pack"), column("task_id")
        answers = column("answer", "ground_truth", "solution")
        items = []
        for i in range(n):
            item_pack = packs[i] or pack or "math500"
            prompt = prompts[i] if prompts is not None else ""
            prompt_text = _completion_text(prompt) if not isinstance(prompt, str) else prompt
            extra = {"task_id": task_ids[i], "prompt": prompt_text, "index": i}
            if task_ids[i] is None:
                extra.pop("task_id")
            items.append(_item(item_pack, _completion_text(completions[i]), answers[i], extra))
        results = (client or _client()).score(items)
        return [float(r["reward"]) if r["status"] == "ok" else None for r in results]

    reward.__name__ = name
    return reward


def envrun_reward(prompts, completions, **kwargs):
    """TRL reward function with the defaults (pack from the ``pack`` column, else math500)."""
    return make_trl_reward()(prompts, completions, **kwargs)

