"""The Python package in clients/python: `pip install ./clients/python` works in a fresh venv with nothing else,
and each runnable example (verl, TRL, verifiers) passes against the live server."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from envrun_fixtures import LIVE, ROOT, URL

PACKAGE = os.path.join(ROOT, "clients", "python")


class PackageInstallTests(unittest.TestCase):
    def test_pip_install_into_a_fresh_venv(self):
        with tempfile.TemporaryDirectory() as tmp:
            venv = os.path.join(tmp, "venv")
            subprocess.run(["/usr/bin/python3", "-m", "venv", venv], check=True, timeout=120)
            py = os.path.join(venv, "bin", "python")
            # A copy, so that the build leaves nothing in the clone. The package needs nothing but the standard
            # library (pip fetches setuptools to build it).
            source = shutil.copytree(PACKAGE, os.path.join(tmp, "pkg"), ignore=shutil.ignore_patterns("build", "*.egg-info"))
            done = subprocess.run([py, "-m", "pip", "install", "--quiet", source],
                                  capture_output=True, text=True, timeout=300)
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            probe = subprocess.run(
                [py, "-c", "import envrun, envrun.verl, envrun.trl, envrun.verifiers, inspect; "
                           "assert inspect.iscoroutinefunction(envrun.verl.compute_score); print(envrun.__version__)"],
                capture_output=True, text=True, timeout=60, cwd=tmp)
            self.assertEqual(probe.returncode, 0, probe.stderr)
            freeze = subprocess.run([py, "-m", "pip", "freeze"], capture_output=True, text=True, timeout=60).stdout
            self.assertEqual([line.split("==")[0].split(" @ ")[0] for line in freeze.splitlines()], ["envrun"], freeze)


@LIVE
class ExampleTests(unittest.TestCase):
    def test_examples_run_against_the_server(self):
        examples = sorted(glob.glob(os.path.join(PACKAGE, "examples", "*.py")))
        self.assertEqual(len(examples), 3)
        env = dict(os.environ, ENVRUN_URL=URL, PYTHONPATH=PACKAGE)
        for path in examples:
            with self.subTest(example=os.path.basename(path)):
                done = subprocess.run([sys.executable, path], env=env, capture_output=True, text=True, timeout=120)
                self.assertEqual(done.returncode, 0, done.stdout + done.stderr)

    def test_the_one_file_shim_still_loads_by_path(self):
        # verl's custom_reward_function.path loads a file, not a package.
        code = ("import importlib.util as u; s = u.spec_from_file_location('m', %r); m = u.module_from_spec(s); "
                "s.loader.exec_module(m); print(m.compute_score('gsm8k', '\\\\boxed{18}', '18', {'task_id': 'test-0000'}))"
                % os.path.join(PACKAGE, "envrun_client.py"))
        done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, ENVRUN_URL=URL), capture_output=True,
                              text=True, timeout=60)
        self.assertEqual((done.returncode, done.stdout.strip()), (0, "1.0"), done.stderr)


if __name__ == "__main__":
    unittest.main()
