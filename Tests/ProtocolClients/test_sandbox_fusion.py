"""SandboxFusion: the real `sandbox-fusion` client's run_code against envrun's /run_code."""

import base64
import unittest

from sandbox_fusion import RunCodeRequest, RunStatus, run_code

from envrun_fixtures import LIVE, URL


def run(**kw):
    return run_code(RunCodeRequest(**kw), endpoint=URL, max_attempts=1, client_timeout=60)


@LIVE
class SandboxFusionClientTests(unittest.TestCase):
    def test_python_success_and_failure(self):
        ok = run(code="print(input() * 2)", language="python", stdin="ab\n")
        self.assertEqual(ok.status, RunStatus.Success)
        self.assertEqual(ok.run_result.stdout, "abab\n")
        self.assertEqual(ok.run_result.return_code, 0)
        self.assertIsNone(ok.compile_result)
        failed = run(code="raise SystemExit(4)", language="python")
        self.assertEqual(failed.status, RunStatus.Failed)
        self.assertEqual(failed.run_result.return_code, 4)

    def test_compiled_language_reports_its_compile(self):
        c = run(code='#include <stdio.h>\nint main(void){puts("hi");return 0;}', language="cpp")
        self.assertEqual(c.status, RunStatus.Success)
        self.assertEqual(c.compile_result.status, "Finished")
        self.assertEqual(c.compile_result.return_code, 0)
        self.assertEqual(c.run_result.stdout, "hi\n")
        broken = run(code="int main(void){ return }", language="cpp")
        self.assertEqual(broken.status, RunStatus.Failed)
        self.assertNotEqual(broken.compile_result.return_code, 0)
        self.assertIsNone(broken.run_result)

    def test_files_in_and_fetch_files_out(self):
        data = base64.b64encode(b"3 4\n").decode()
        r = run(code="a, b = map(int, open('in.txt').read().split())\nopen('out.txt', 'w').write(str(a * b))\n"
                     "import os\nos.symlink('/etc/passwd', 'link.txt')\nos.mkdir('dir.txt')",
                language="python", files={"in.txt": data}, fetch_files=["out.txt", "missing.txt", "link.txt", "dir.txt"])
        self.assertEqual(r.status, RunStatus.Success, r.message)
        self.assertEqual(base64.b64decode(r.files["out.txt"]), b"12")
        # A missing file is left out; a link or a directory the program made is never read (FIFOs it cannot make).
        self.assertEqual(sorted(r.files), ["out.txt"])

    def test_fetch_files_cannot_multiply_one_file(self):
        # Hard links to one file, and sparse files, cost the job nothing and would cost envrun gigabytes.
        code = ("import os\nopen('a', 'wb').write(b'x' * 1000)\n[os.link('a', f'l{i}') for i in range(20)]\n"
                "f = open('s', 'wb'); f.truncate(8 << 20); f.close()")
        r = run(code=code, language="python", fetch_files=["a", "s"] + [f"l{i}" for i in range(20)])
        self.assertEqual(r.status, RunStatus.Success, r.message)
        self.assertEqual(r.files, {})


if __name__ == "__main__":
    unittest.main()
