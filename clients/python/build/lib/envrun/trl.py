"""TRL: a reward function for ``GRPOTrainer(reward_funcs=...)`` and an ``environment_factory`` class.

* ``reward_func(prompts, completions, **kwargs)`` -- dataset columns ``pack`` and ``task_id`` (or ``answer``)
  name what to score; returns ``list[float | None]``; ``None`` (a check that failed on envrun's side) is left
  out of TRL's reward mean instead of counting as 0. ``make_reward_func(pack=...)`` sets a default pack.
* ``EnvrunEnvironment`` -- ``GRPOTrainer(environment_factory=EnvrunEnvironment, reward_funcs=environment_reward)``:
  each rollout gets one; ``reset(**row)`` opens an envrun episode on the row's ``pack``/``task_id`` and returns
  the prompt; the model calls the ``submit`` tool (multi-turn packs answer with feedback until done);
  ``get_reward()`` / ``environment_reward`` give the last reward, ``None`` when there is none to train on.
"""

from __future__ import annotations

from typing import Any, Optional

from .client import EnvrunClient, _client, make_trl_reward

__all__ = ["reward_func", "make_reward_func", "EnvrunEnvironment", "environment_reward"]


def make_reward_func(pack: Optional[str] = None, client: Optional[EnvrunClient] = None, name: str = "envrun"):
    """TRL's ``(prompts, completions, **kwargs) -> list[float | None]`` with ``pack`` as the default pack."""
    return make_trl_reward(pack=pack, client=client, name=name)


def reward_func(prompts, completions, **kwargs):
    """TRL reward function with the defaults (the ``pack`` column, else math500)."""
    return make_trl_reward()(prompts, completions, **kwargs)


class EnvrunEnvironment:
    """One envrun episode per rollout, for TRL's ``environment_factory``."""

    def __init__(self, client: Optional[EnvrunClient] = None, pack: Optional[str] = None):
        self.client = client or _client()
        self.default_pack = pack
        self.episode_id: Optional[str] = None
        self.reward: Optional[float] = None
        self.done = False
        self.masked = False

    def reset(self, **row: Any) -> str:
        """Opens an episode on the row's task (columns ``pack`` and ``task_id``); returns its prompt."""
        pack = row.get("pack") or self.default_pack
        task_id = row.get("task_id")
        if not pack or task_id is None:
            raise ValueError("EnvrunEnvironment.reset needs the dataset columns 'pack' and 'task_id'")
        start = self.client.reset(pack, str(task_id))
        self.episode_id, self.reward, self.done, self.masked = start["episode_id"], None, False, False
        return start["observation"]

    def submit(self, answer: str) -> str:
        """Submit your final answer (for code tasks: the complete solution) to be checked.

        Args:
            answer: The final answer, or the complete program.

        Returns:
            Whether it was right, and feedback when the task allows another try.
        """
        if self.episode_id is None:
            raise RuntimeError("submit before reset")
        if self.done:
            return "The episode is over."
        step = self.client.step(self.episode_id, answer)
        result = step.get("reward") or {}
        self.masked = result.get("status") == "error"
        self.reward = None if self.masked else float(result.get("reward", 0.0))
        self.done = bool(step.get("done"))
        return step["observation"]

    def get_reward(self) -> Optional[float]:
        """The last submission's reward; ``None`` before one, or when its check failed on envrun's side."""
        return self.reward


def environment_reward(environments, **kwargs) -> list:
    """TRL reward function over the rollouts' ``EnvrunEnvironment`` objects."""
    return [env.get_reward() for env in environments]
