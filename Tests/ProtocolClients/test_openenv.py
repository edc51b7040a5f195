"""OpenEnv: the real `openenv-core` client (GenericEnvClient, over the WebSocket at /openenv/{env}/ws) against
`envrun serve`, plus the raw messages, MCP and the stateless HTTP routes from OpenEnv's documented shapes."""

import asyncio
import json
import unittest
import urllib.error
import urllib.request

import websockets
from openenv.core.generic_client import GenericEnvClient

from envrun_fixtures import JUDGED, JUDGED_URL, LIVE, MAX_SESSIONS, URL, task

GSM8K_ID = "test-0000"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


def http(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def ws_url(base, env):
    return base.replace("http://", "ws://") + f"/openenv/{env}/ws"


async def exchange(ws, message):
    await ws.send(message if isinstance(message, str) else json.dumps(message))
    return json.loads(await asyncio.wait_for(ws.recv(), 60))


@LIVE
class OpenEnvClientTests(unittest.TestCase):
    def test_gsm8k_episode_with_the_real_client(self):
        gold = task("gsm8k", GSM8K_ID)["answer"]

        async def go():
            async with GenericEnvClient(base_url=f"{URL}/openenv/gsm8k") as env:
                start = await env.reset(task_id=GSM8K_ID)
                self.assertIn("Janet", start.observation["text"])
                self.assertIsNone(start.reward)
                self.assertFalse(start.done)
                self.assertNotIn(gold, json.dumps(start.observation).replace(GSM8K_ID, ""))
                result = await env.step({"response": f"The answer is \\boxed{{{gold}}}."})
                self.assertEqual(result.reward, 1.0)
                self.assertTrue(result.done)
                self.assertFalse(result.observation["mask_sample"])
                state = await env.state()
                self.assertEqual(state["step_count"], 1)
                self.assertEqual(state["task_id"], GSM8K_ID)
                # The same socket starts a new episode on reset; a wrong answer scores 0, not an error.
                await env.reset(task_id=GSM8K_ID)
                wrong = await env.step({"response": "The answer is \\boxed{-12345}."})
                self.assertEqual(wrong.reward, 0.0)
                self.assertEqual(wrong.observation["status"], "ok")

        run(go())

    def test_seeded_reset_is_reproducible(self):
        async def go():
            ids = []
            for _ in range(2):
                async with GenericEnvClient(base_url=f"{URL}/openenv/gsm8k") as env:
                    ids.append((await env.reset(seed=42)).observation["task_id"])
            async with GenericEnvClient(base_url=f"{URL}/openenv/gsm8k") as env:
                other = (await env.reset(seed=43)).observation["task_id"]
            return ids, other

        ids, other = run(go())
        self.assertEqual(ids[0], ids[1])
        self.assertNotEqual(ids[0], other)

    def test_multi_turn_pack_continues_until_done(self):
        async def go():
            async with GenericEnvClient(base_url=f"{URL}/openenv/humaneval") as env:
                await env.reset(task_id="HumanEval/0")
                first = await env.step({"response": "```python\ndef has_close_elements(numbers, threshold):\n    return False\n```"})
                self.assertEqual(first.reward, 0.0)
                self.assertFalse(first.done, "a wrong first try of a 3-turn pack leaves the episode open")
                self.assertIn("turn", first.observation["text"])
                solution = task("humaneval", "HumanEval/0")["reference"]
                second = await env.step({"response": f"```python\n{solution}\n```"})
                self.assertEqual(second.reward, 1.0)
                self.assertTrue(second.done)
                self.assertEqual(second.observation["turn_rewards"], [0.0, 1.0])

        run(go())

    def test_feedback_does_not_show_the_hidden_tests(self):
        # The tests are the reward: a program that raises an error carrying its inputs, or a failing
        # assertion, must not put the hidden test's values into the next observation.
        async def go():
            async with GenericEnvClient(base_url=f"{URL}/openenv/humaneval") as env:
                await env.reset(task_id="HumanEval/0")
                leak = ("```python\ndef has_close_elements(numbers, threshold):\n"
                        "    raise ValueError('LEAK' + repr((numbers, threshold)))\n```")
                step = await env.step({"response": leak})
                seen = json.dumps(step.observation)
                self.assertIn("Passed 0 of", step.observation["text"])
                for secret in ("LEAK", "3.9", "candidate"):
                    self.assertNotIn(secret, seen)
                wrong = await env.step({"response": "```python\ndef has_close_elements(numbers, threshold):\n    return False\n```"})
                seen = json.dumps(wrong.observation)
                self.assertIn("the tests are not shown", wrong.observation["text"])
                self.assertNotIn("candidate", seen)

        run(go())

    def test_coding_env_runs_in_the_sandbox(self):
        async def go():
            async with GenericEnvClient(base_url=f"{URL}/openenv/coding") as env:
                start = await env.reset()
                self.assertEqual(start.observation, {"stdout": "", "stderr": "", "exit_code": 0})
                ok = await env.step({"code": "print(6 * 7)"})
                self.assertEqual(ok.observation, {"stdout": "42\n", "stderr": "", "exit_code": 0})
                self.assertIsNone(ok.reward)
                failed = await env.step({"code": "import sys\nprint('x', file=sys.stderr)\nsys.exit(3)"})
                self.assertEqual(failed.observation["exit_code"], 3)
                self.assertIn("x", failed.observation["stderr"])
                # The sandbox: its own fresh work dir (/work holds only the program), no project, no home.
                probe = await env.step({"code": "import os\nprint(sorted(os.listdir('.')), os.path.exists('/root'), "
                                                "os.path.exists('/work/main'))"})
                self.assertEqual(probe.observation["stdout"], "['main.py'] False False\n")

        run(go())

    def test_many_concurrent_sessions(self):
        gold = task("gsm8k", GSM8K_ID)["answer"]
        n = max(2, min(32, (MAX_SESSIONS or 64) - 8))

        async def one(i):
            async with GenericEnvClient(base_url=f"{URL}/openenv/gsm8k") as env:
                await env.reset(task_id=GSM8K_ID)
                answer = gold if i % 2 == 0 else "-1"
                return (await env.step({"response": f"\\boxed{{{answer}}}"})).reward

        async def go():
            return await asyncio.gather(*(one(i) for i in range(n)))

        rewards = run(go())
        self.assertEqual(rewards, [1.0 if i % 2 == 0 else 0.0 for i in range(n)])

    @unittest.skipUnless(MAX_SESSIONS, "ENVRUN_MAX_SESSIONS is not set: the server's session bound is unknown")
    def test_capacity_reached_past_max_sessions(self):
        async def go():
            held = [await websockets.connect(ws_url(URL, "gsm8k")) for _ in range(MAX_SESSIONS)]
            try:
                for ws in held:  # every held socket is a working session
                    reply = await exchange(ws, {"type": "reset", "data": {"task_id": GSM8K_ID}})
                    self.assertEqual(reply["type"], "observation")
                extra = GenericEnvClient(base_url=f"{URL}/openenv/gsm8k")
                with self.assertRaises(Exception) as raised:
                    async with extra:
                        await extra.reset(task_id=GSM8K_ID)
                self.assertIn("CAPACITY_REACHED", str(raised.exception))
            finally:
                for ws in held:
                    await ws.close()
            # Closing gives the slots back.
            await asyncio.sleep(0.5)
            async with GenericEnvClient(base_url=f"{URL}/openenv/gsm8k") as env:
                self.assertFalse((await env.reset(task_id=GSM8K_ID)).done)

        run(go())


@LIVE
class OpenEnvWireTests(unittest.TestCase):
    def test_error_codes_and_the_session_survives_them(self):
        async def go():
            async with websockets.connect(ws_url(URL, "gsm8k")) as ws:
                self.assertEqual((await exchange(ws, "{not json"))["data"]["code"], "INVALID_JSON")
                self.assertEqual((await exchange(ws, {"type": "dance"}))["data"]["code"], "UNKNOWN_TYPE")
                early = await exchange(ws, {"type": "step", "data": {"response": "1"}})
                self.assertEqual(early["data"]["code"], "EXECUTION_ERROR")
                self.assertIn("reset", early["data"]["message"])
                unknown = await exchange(ws, {"type": "reset", "data": {"task_id": "no-such-task"}})
                self.assertEqual(unknown["data"]["code"], "VALIDATION_ERROR")
                await exchange(ws, {"type": "reset", "data": {"task_id": GSM8K_ID}})
                missing = await exchange(ws, {"type": "step", "data": {"answer": "18"}})
                self.assertEqual(missing["data"]["code"], "VALIDATION_ERROR")
                self.assertIn("response", missing["data"]["message"])
                good = await exchange(ws, {"type": "step", "data": {"response": "\\boxed{18}"}})
                self.assertEqual(good["type"], "observation")
                self.assertEqual(good["data"]["reward"], 1.0)

        run(go())

    def test_mcp_over_the_socket(self):
        async def go():
            async with websockets.connect(ws_url(URL, "gsm8k")) as ws:
                listed = await exchange(ws, {"type": "mcp", "data": {"jsonrpc": "2.0", "method": "tools/list", "id": 1}})
                self.assertEqual(listed["type"], "mcp")
                self.assertEqual([t["name"] for t in listed["data"]["result"]["tools"]], ["submit"])
                self.assertEqual(listed["data"]["id"], 1)
                await exchange(ws, {"type": "reset", "data": {"task_id": GSM8K_ID}})
                called = await exchange(ws, {"type": "mcp", "data": {
                    "jsonrpc": "2.0", "method": "tools/call", "id": "c1",
                    "params": {"name": "submit", "arguments": {"response": "\\boxed{18}"}}}})
                result = called["data"]["result"]
                self.assertEqual(result["structuredContent"]["reward"], 1.0)
                self.assertFalse(result["isError"])
                nope = await exchange(ws, {"type": "mcp", "data": {"jsonrpc": "2.0", "method": "tools/sing", "id": 2}})
                self.assertEqual(nope["data"]["error"]["code"], -32601)

        run(go())

    def test_stateless_http_routes(self):
        base = f"{URL}/openenv/gsm8k"
        self.assertEqual(http("GET", f"{base}/health"), (200, {"status": "healthy"}))
        status, meta = http("GET", f"{base}/metadata")
        self.assertEqual((status, meta["name"]), (200, "gsm8k"))
        for key in ("description", "readme_content", "version", "author", "documentation_url"):
            self.assertIn(key, meta)
        status, schema = http("GET", f"{base}/schema")
        self.assertEqual(schema["action"]["required"], ["response"])
        self.assertIn("mask_sample", schema["observation"]["properties"])
        status, reset = http("POST", f"{base}/reset", {"task_id": GSM8K_ID})
        self.assertEqual((status, reset["observation"]["task_id"], reset["reward"], reset["done"]), (200, GSM8K_ID, None, False))
        status, step = http("POST", f"{base}/step", {"action": {"response": "\\boxed{18}", "task_id": GSM8K_ID}})
        self.assertEqual((status, step["reward"], step["done"]), (200, 1.0, True))
        status, err = http("POST", f"{base}/step", {"action": {"response": "\\boxed{18}"}})
        self.assertEqual(status, 400)
        self.assertIn("task_id", err["error"]["message"])
        status, rpc = http("POST", f"{base}/mcp", {"jsonrpc": "2.0", "method": "tools/call", "id": 7, "params": {
            "name": "submit", "arguments": {"response": "\\boxed{17}", "task_id": GSM8K_ID}}})
        self.assertEqual(rpc["result"]["structuredContent"]["reward"], 0.0)
        self.assertEqual(http("GET", f"{URL}/openenv/no-such-env/health")[0], 404)
        status, coding = http("POST", f"{URL}/openenv/coding/step", {"action": {"code": "print(1)"}})
        self.assertEqual(coding["observation"], {"stdout": "1\n", "stderr": "", "exit_code": 0})


@JUDGED
class OpenEnvMaskingTests(unittest.TestCase):
    def test_a_check_that_failed_on_our_side_is_masked_not_zero(self):
        async def go():
            async with GenericEnvClient(base_url=f"{JUDGED_URL}/openenv/judged") as env:
                await env.reset(task_id="q1")
                result = await env.step({"response": "Boil it for nine minutes."})
                self.assertIsNone(result.reward, "an unreachable judge must not become a reward")
                self.assertTrue(result.observation["mask_sample"])
                self.assertEqual(result.observation["status"], "error")
                self.assertTrue(result.observation["failure_reason"])
                self.assertFalse(result.done, "a failed check does not use up the turn")
                self.assertEqual((await env.state())["step_count"], 0)

        run(go())
        status, step = http("POST", f"{JUDGED_URL}/openenv/judged/step", {"action": {"response": "x", "task_id": "q1"}})
        self.assertEqual((status, step["reward"], step["observation"]["mask_sample"]), (200, None, True))


if __name__ == "__main__":
    unittest.main()
