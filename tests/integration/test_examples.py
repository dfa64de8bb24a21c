"""Every shipped config passes `tendd --check`; a broken one names file:line:column and key path."""

import glob
import os
import subprocess
import tempfile
import unittest

from harness import SOURCE_DIR, TENDD


class ExamplesTest(unittest.TestCase):
    def test_every_example_is_accepted(self):
        files = sorted(glob.glob(os.path.join(SOURCE_DIR, "config", "examples", "*.yaml")))
        files.append(os.path.join(SOURCE_DIR, "config", "tend.yaml"))
        self.assertGreaterEqual(len(files), 3)
        for f in files:
            r = subprocess.run([TENDD, "--check", f], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, f"{f}:\n{r.stderr}")
            self.assertIn(": ok", r.stdout)

    def test_errors_name_file_line_column_and_key(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.yaml")
            with open(path, "w") as f:
                f.write("jobs:\n  backup:\n    schedule: \"0 3 * * *\"\n    command: [true]\n    timeout: 300\n"
                        "    retires: {max: 2}\n")
            r = subprocess.run([TENDD, "--check", path], capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn(f"{path}:5:14: jobs.backup.timeout: ", r.stderr)
            self.assertIn("did you mean 300s?", r.stderr)
            self.assertIn(f"{path}:6:5: jobs.backup.retires: unknown key 'retires'", r.stderr)


if __name__ == "__main__":
    unittest.main()
