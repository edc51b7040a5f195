"""Open Reward Standard: the real `openreward` client against `envrun serve` (its session server and its
listing are envrun's main port)."""

import contextlib
import io
import json
import os
import unittest

from envrun_fixtures import JUDGED, JUDGED_URL, LIVE, URL, task

os.environ["OPENREWARD_DISABLE_UPDATE_CHECK"] = "1"  # the client would ask pypi.org otherwise
os.environ["NO_PROXY"] = "127.0.0.1,localhost,::1"

from openreward import OpenReward  # noqa: E402
from openreward import cli as orwd_cli  # noqa: E402
from openreward.api.errors import ToolCallError  # noqa: E402

KEY = "envrun-test-key"


def client(base):
    # The session server takes an origin without a trailing slash (a path would be dropped by the client).
    os.environ["OPENREWARD_SESSION_URL"] = base
    os.environ["OPENREWARD_API_URL"] = base
    os.environ["OPENREWARD_URL"] = base
    os.environ["OPENREWARD_API_KEY"] = KEY
    return OpenReward(api_key=KEY)


@LIVE
class ORSClientTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = client(URL)
        cls.env = cls.client.environments.get("gsm8k")

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def test_listing_with_the_cli(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                code = orwd_cli.main(["list", "-o", "json"])
            except SystemExit as e:
                code = e.code
        self.assertIn(code, (0, None), out.getvalue()[-400:])
        self.assertIn("gsm8k", [row["name"] for row in json.loads(out.getvalue())])

    def test_splits_tasks_and_tools(self):
        env = self.env
        self.assertEqual(env.list_splits(), ["train"])
        tasks = env.list_tasks("train")
        self.assertEqual(len(tasks), env.num_tasks("train"))
        self.assertEqual(len(tasks), 1319)
        first = env.get_task("train", 0)
        self.assertEqual(first.task_spec, tasks[0].task_spec)
        self.assertEqual(first.task_spec["id"], "test-0000")
        for spec in (t.task_spec for t in tasks[:50]):
            self.assertFalse({"answer", "tests", "reference", "metadata"} & set(spec), spec)
        self.assertEqual([t.task_spec for t in env.get_task_range("train", -2, None)], [t.task_spec for t in tasks[-2:]])
        self.assertEqual([t.name for t in env.list_tools()], ["submit"])
        code_tools = [t.name for t in self.client.environments.get("mbpp").list_tools()]
        self.assertEqual(code_tools, ["submit", "run_code"])

    def test_session_rewards_and_finished(self):
        gold = task("gsm8k", "test-0000")["answer"]
        with self.env.session(split="train", index=0) as s:
            self.assertIn("Janet", " ".join(b.text for b in s.get_prompt()))
            with self.assertRaises(ToolCallError) as unknown:
                s.call_tool("no_such_tool", {})
            self.assertEqual(unknown.exception.reason, "not_found")
            out = s.call_tool("submit", {"answer": gold})
            self.assertEqual((out.reward, out.finished), (1.0, True))
            with self.assertRaises(ToolCallError) as again:
                s.call_tool("submit", {"answer": gold})
            self.assertEqual(again.exception.reason, "episode_finished")
        task0 = self.env.get_task("train", 0)
        with self.env.session(task0) as s:
            out = s.call_tool("submit", {"answer": -12345})  # a number is an answer too
            self.assertEqual((out.reward, out.finished), (0.0, True))
            self.assertEqual(out.metadata["status"], "ok")
            self.assertFalse(out.metadata["mask_sample"])

    def test_multi_turn_code_pack_and_run_code(self):
        env = self.client.environments.get("humaneval")
        with env.session(split="train", index=0) as s:
            ran = s.call_tool("run_code", {"code": "print(sum(range(5)))"})
            self.assertIn("10", ran.blocks[0].text)
            self.assertEqual((ran.reward, ran.finished), (None, False))
            wrong = s.call_tool("submit", {"answer": "```python\ndef has_close_elements(numbers, threshold):\n    return False\n```"})
            self.assertEqual((wrong.reward, wrong.finished), (0.0, False))
            solution = task("humaneval", "HumanEval/0")["reference"]
            right = s.call_tool("submit", {"answer": f"```python\n{solution}\n```"})
            self.assertEqual((right.reward, right.finished), (1.0, True))


@JUDGED
class ORSMaskingTests(unittest.TestCase):
    def test_a_check_that_failed_on_our_side_has_no_reward(self):
        c = client(JUDGED_URL)
        try:
            with c.environments.get("judged").session(split="train", index=0) as s:
                out = s.call_tool("submit", {"answer": "Boil it for nine minutes."})
                self.assertIsNone(out.reward, "an unreachable judge must not become a reward")
                self.assertTrue(out.metadata["mask_sample"])
                self.assertTrue(out.metadata["failure_reason"])
                self.assertFalse(out.finished)
        finally:
            c.close()


if __name__ == "__main__":
    unittest.main()
