"""NeMo Gym's resources-server routes and vLLM's scoring routes, from their documented shapes (neither has a
client library that installs without a GPU stack): urllib against the live server."""

import http.cookiejar
import json
import unittest
import urllib.error
import urllib.request

from envrun_fixtures import JUDGED, JUDGED_URL, LIVE, URL


def post(url, body, headers=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read()), r.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), e.headers


def responses_object(text):
    """An OpenAI Responses API object with one assistant message, as Gym's agent posts it."""
    return {"id": "resp_1", "created_at": 1761955953.0, "model": "policy", "object": "response",
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "output": [{"id": "fc_0", "type": "function_call", "name": "execute_python", "arguments": "{}", "call_id": "c"},
                       {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": text, "annotations": []}]}]}


@LIVE
class NeMoGymTests(unittest.TestCase):
    def test_session_cookie_round_trips_on_every_route(self):
        status, body, headers = post(f"{URL}/seed_session", {"responses_create_params": {"input": []}})
        self.assertEqual((status, body), (200, {}))
        cookie = headers["Set-Cookie"].split(";")[0]
        self.assertTrue(cookie.startswith("envrun_gym_session="))
        for path, payload in [("/execute_python", {"code": "print(2 + 2)"}),
                              ("/verify", {"response": responses_object("\\boxed{4}"), "expected_answer": "4"})]:
            _, _, h = post(URL + path, payload, {"Cookie": cookie})
            self.assertEqual(h["Set-Cookie"].split(";")[0], cookie, path)

    def test_verify_echoes_the_row_and_adds_the_reward(self):
        row = {"responses_create_params": {"input": [{"role": "user", "content": "What is 2+2?"}]},
               "response": responses_object("So it is \\boxed{4}."), "expected_answer": "4", "question": "2+2?",
               "_ng_task_index": 3, "_ng_rollout_index": 1}
        status, out, _ = post(f"{URL}/ng-rollout/rollout-7/verify", row)
        self.assertEqual(status, 200)
        self.assertEqual(out["reward"], 1.0)
        self.assertEqual(out["reward_components"], {"correct": 1.0})
        self.assertEqual(out["correct"], 1.0)  # components at the top level too: Gym's metrics read those
        for key, value in row.items():
            self.assertEqual(out[key], value, key)
        self.assertNotIn("mask_sample", out)
        status, wrong, _ = post(f"{URL}/verify", {**row, "response": responses_object("\\boxed{5}")})
        self.assertEqual(wrong["reward"], 0.0)
        status, by_task, _ = post(f"{URL}/verify", {"response": responses_object("\\boxed{18}"), "pack": "gsm8k",
                                                    "task_id": "test-0000"})
        self.assertEqual(by_task["reward"], 1.0)
        status, bad, _ = post(f"{URL}/verify", {"response": responses_object("1")})
        self.assertEqual(status, 400)
        self.assertIn("expected_answer", bad["error"]["message"])

    def test_execute_python_tool_and_reverify_mode(self):
        status, out, _ = post(f"{URL}/execute_python", {"code": "print(6 * 7)"})
        self.assertEqual((status, out["success"], out["stdout"]), (200, True, "42\n"))
        _, failed, _ = post(f"{URL}/execute_python", {"code": "raise SystemExit(2)"})
        self.assertFalse(failed["success"])
        with urllib.request.urlopen(f"{URL}/reverify_mode", timeout=30) as r:
            self.assertEqual(json.loads(r.read()), "stateless")

    def test_aggregate_metrics(self):
        rows = [{"_ng_task_index": 0, "reward": 1.0, "correct": 1.0}, {"_ng_task_index": 0, "reward": 0.0, "correct": 0.0},
                {"_ng_task_index": 1, "reward": 1.0, "correct": True},
                {"_ng_task_index": 1, "reward": 0.0, "mask_sample": True}]
        status, out, _ = post(f"{URL}/aggregate_metrics", {"verify_responses": rows})
        self.assertEqual(status, 200)
        self.assertAlmostEqual(out["agent_metrics"]["mean/reward"], 2 / 3)
        self.assertEqual(out["agent_metrics"]["masked"], 1.0)
        self.assertEqual([g["num_rollouts"] for g in out["group_level_metrics"]], [2.0, 1.0])
        self.assertEqual(out["group_level_metrics"][0]["mean/reward"], 0.5)
        self.assertIn("mean/reward", out["key_metrics"])


@JUDGED
class NeMoGymMaskingTests(unittest.TestCase):
    def test_a_failed_check_is_masked_for_gym_and_nemo_rl(self):
        status, out, _ = post(f"{JUDGED_URL}/verify", {"response": responses_object("Boil it."), "pack": "judged",
                                                       "task_id": "q1", "instance_config": {"keep": 1}})
        self.assertEqual(status, 200)
        self.assertTrue(out["mask_sample"])
        self.assertEqual(out["instance_config"], {"keep": 1, "mask_sample": True})  # where NeMo RL reads it
        self.assertEqual(out["_ng_failure_class"], "envrun_check_failed")
        self.assertTrue(out["failure_reason"])
        self.assertEqual(out["envrun_status"], "error")


@LIVE
class VLLMScoringTests(unittest.TestCase):
    good = "Human: How do I boil an egg?\n\nAssistant: Put it in boiling water for nine minutes, then in cold water."
    bad = "Human: How do I boil an egg?\n\nAssistant: no"

    def test_classify_in_vllms_shape_as_verl_reads_it(self):
        for path in ("/classify", "/v1/classify"):
            status, out, _ = post(URL + path, {"model": "hh-helpful", "input": [self.good, self.bad], "use_activation": False})
            self.assertEqual(status, 200)
            self.assertEqual(out["object"], "list")
            self.assertTrue(out["id"].startswith("classify-"))
            self.assertEqual([d["index"] for d in out["data"]], [0, 1])
            self.assertEqual([d["num_classes"] for d in out["data"]], [1, 1])
            for key in ("prompt_tokens", "total_tokens"):
                self.assertIn(key, out["usage"])
        good, bad = (d["probs"][-1] for d in out["data"])
        self.assertGreater(good, bad)
        # One string (verl sends one chat-templated string per call) and chat messages score the same pair alike.
        _, one, _ = post(f"{URL}/classify", {"model": "hh-helpful", "input": self.good, "activation": False})
        _, chat, _ = post(f"{URL}/classify", {"model": "hh-helpful", "messages": [
            {"role": "user", "content": "How do I boil an egg?"},
            {"role": "assistant", "content": "Put it in boiling water for nine minutes, then in cold water."}]})
        self.assertAlmostEqual(one["data"][-1]["probs"][-1], good, places=5)
        self.assertAlmostEqual(chat["data"][-1]["probs"][-1], good, places=5)

    def test_pooling_and_errors(self):
        status, out, _ = post(f"{URL}/pooling", {"model": "hh-helpful", "input": self.good})
        self.assertEqual((status, out["data"][0]["object"]), (200, "pooling"))
        self.assertEqual(len(out["data"][0]["data"]), 1)
        self.assertEqual(post(f"{URL}/classify", {"model": "no-such-pack", "input": "x"})[0], 404)
        self.assertEqual(post(f"{URL}/classify", {"model": "gsm8k", "input": "x"})[0], 400)
        self.assertEqual(post(f"{URL}/classify", {"model": "hh-helpful"})[0], 400)


if __name__ == "__main__":
    unittest.main()
