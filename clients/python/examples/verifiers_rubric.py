"""verifiers: envrun as a rubric function. With verifiers installed:

    import verifiers as vf
    from envrun.verifiers import envrun_reward
    rubric = vf.Rubric(funcs=[envrun_reward])   # info={"pack": "gsm8k", "task_id": ...} or answer=<gold>

Run against a live server (calls it the way a Rubric does): python examples/verifiers_rubric.py
"""

import asyncio

from envrun.verifiers import envrun_reward

completion = [{"role": "assistant", "content": "The answer is \\boxed{18}."}]
right = asyncio.run(envrun_reward(completion=completion, answer=None, info={"pack": "gsm8k", "task_id": "test-0000"}))
wrong = asyncio.run(envrun_reward(completion="\\boxed{3}", answer="18", info={"pack": "gsm8k"}))
print(right, wrong)
assert (right, wrong) == (1.0, 0.0)
