"""verl calls compute_score once per sample (and awaits it: it is async). Config:

    custom_reward_function.path=clients/python/envrun/verl.py   # or the installed envrun/verl.py
    custom_reward_function.name=compute_score

Run against a live server: ENVRUN_URL=http://127.0.0.1:8080 python examples/verl_compute_score.py
"""

import asyncio

from envrun.verl import compute_score


async def main():
    # A verl row for GSM8K: data_source picks the pack, extra_info names the task (or ground_truth is the gold).
    right, wrong, inline = await asyncio.gather(
        compute_score("openai/gsm8k", "... so she makes \\boxed{18} dollars.", "18", {"task_id": "test-0000"}),
        compute_score("openai/gsm8k", "... so she makes \\boxed{17} dollars.", "18", {"task_id": "test-0000"}),
        compute_score("openai/gsm8k", "The total is \\boxed{42}.", "42"),
    )
    print(right, wrong, inline, sep="\n")
    assert right["score"] == 1.0 and right["envrun_failed"] == 0.0
    assert wrong["score"] == 0.0 and wrong["envrun_failed"] == 0.0
    assert inline["score"] == 1.0


asyncio.run(main())
