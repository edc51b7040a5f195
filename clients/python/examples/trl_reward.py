"""TRL: a reward function and an environment_factory class. With TRL installed:

    from envrun.trl import reward_func, EnvrunEnvironment, environment_reward
    GRPOTrainer(model=..., reward_funcs=reward_func, train_dataset=ds)   # ds has columns pack, task_id
    GRPOTrainer(model=..., environment_factory=EnvrunEnvironment, reward_funcs=environment_reward, ...)

Run against a live server (calls them the way TRL does): python examples/trl_reward.py
"""

from envrun.trl import EnvrunEnvironment, environment_reward, reward_func

prompts = ["Janet's ducks ...", "Janet's ducks ..."]
completions = [[{"role": "assistant", "content": "She makes \\boxed{18}."}], "She makes \\boxed{20}."]
rewards = reward_func(prompts, completions, pack=["gsm8k", "gsm8k"], task_id=["test-0000", "test-0000"])
print("reward_func:", rewards)
assert rewards == [1.0, 0.0]

env = EnvrunEnvironment()
prompt = env.reset(pack="humaneval", task_id="HumanEval/0")
feedback = env.submit("```python\ndef has_close_elements(numbers, threshold):\n    return False\n```")
print("first try:", env.get_reward(), feedback.splitlines()[0])
assert env.get_reward() == 0.0 and not env.done  # a 3-turn pack: feedback, then another try
print("environment_reward:", environment_reward([env]))
