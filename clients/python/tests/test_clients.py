"""Tests of the Python clients against a running ``envrun serve`` (set ENVRUN_URL, and ENVRUN_TOKEN if the
server wants one). The Swift end-to-end test starts the real binary and runs these with /usr/bin/python3."""

import http.server
import json
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import envrun_client as ec  # noqa: E402

URL = os.environ.get("ENVRUN_URL")
LIVE = unittest.skipUnless(URL, "ENVRUN_URL is not set: no live envrun server to test against")


def first_task_with(client, verifier, field):
    """A (pack, task) whose reward spec uses `verifier` and whose task has `field`, from the live server."""
    for pack in client.packs():
        if pack["verifier"] == verifier and pack["task_count"] > 0:
            for task in client.tasks(pack["name"], 0, 20)["tasks"]:
                if task.get(field):
                    return pack["name"], task
    raise unittest.SkipTest(f"the server has no {verifier} pack with {field}")


@LIVE
class LiveServerTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = ec.EnvrunClient(URL)
        cls.math_pack, cls.math_task = first_task_with(cls.client, "math", "answer")

    def test_health(self):
        health = self.client.health()
        self.assertEqual(health["status"], "ok")
        self.assertIn(self.math_pack, health["packs"])

    def test_verl_compute_score_by_task_reference(self):
        gold = self.math_task["answer"]
        extra = {"pack": self.math_pack, "task_id": self.math_task["id"]}
        right = ec.compute_score(self.math_pack, f"So the answer is \\boxed{{{gold}}}.", gold, extra)
        wrong = ec.compute_score(self.math_pack, "So the answer is \\boxed{-987654321}.", gold, extra)
        self.assertEqual(right, 1.0)
        self.assertEqual(wrong, 0.0)

    def test_verl_compute_score_inline_gold_answer(self):
        right, wrong = ec.compute_score_batch(
            [self.math_pack, self.math_pack], ["The answer is \\boxed{12}.", "The answer is \\boxed{13}."],
            ["12", "12"], [None, None])
        self.assertEqual((right, wrong), (1.0, 0.0))

    def test_verl_unknown_task_raises_rather_than_scoring_zero(self):
        with self.assertRaises(ec.EnvrunError) as ctx:
            ec.compute_score(self.math_pack, "1", "1", {"task_id": "no-such-task-xyz"})
        self.assertEqual(ctx.exception.code, "not_found")

    def test_trl_reward_function(self):
        reward = ec.make_trl_reward(pack=self.math_pack, client=self.client)
        prompts = ["What is 6*7?", [{"role": "user", "content": "What is 6*7?"}], "?"]
        completions = ["\\boxed{42}", [{"role": "assistant", "content": "\\boxed{41}"}], "1"]
        scores = reward(prompts, completions, answer=["42", "42", None],
                        task_id=[None, None, "no-such-task-xyz"])
        self.assertEqual(scores, [1.0, 0.0, None])
        self.assertEqual(reward.__name__, "envrun")

    def test_bad_request_names_the_field(self):
        with self.assertRaises(ec.EnvrunError) as ctx:
            self.client.score([])
        self.assertEqual(ctx.exception.status, 400)
        self.assertEqual(ctx.exception.field, "items")


class RetryTests(unittest.TestCase):
    """The client honours 429 + Retry-After (a tiny loopback server answers 429 once, then 200)."""

    def test_retries_after_429(self):
        calls = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                calls.append(self.path)
                if len(calls) == 1:
                    body = json.dumps({"error": {"code": "saturated", "message": "busy", "field": None}}).encode()
                    self.send_response(429)
                    self.send_header("Retry-After", "0")
                else:
                    body = json.dumps({"results": [{"reward": 1, "status": "ok", "source": "rule",
                                                    "components": {}, "details": {}}]}).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            client = ec.EnvrunClient(f"http://127.0.0.1:{server.server_port}")
            results = client.score([{"pack": "p", "task_id": "1", "response": "x"}])
            self.assertEqual(results[0]["reward"], 1)
            self.assertEqual(calls, ["/v1/score", "/v1/score"])
        finally:
            server.shutdown()
            server.server_close()

    def test_error_body_is_parsed(self):
        err = ec._error_from(404, b'{"error": {"code": "not_found", "message": "unknown pack", "field": "pack"}}')
        self.assertEqual((err.status, err.code, err.field), (404, "not_found", "pack"))


if __name__ == "__main__":
    unittest.main()
