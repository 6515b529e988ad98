"""The API processes must not pay for torch/diffusers (seconds of CPU and hundreds of MB
each): only workers load the generation engine."""

import subprocess
import sys


def test_importing_the_wsgi_app_does_not_import_torch_or_diffusers(tmp_path):
    code = ("import sys, app.wsgi; "
            "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"LINEAGE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "PATH": "/usr/bin"})
    assert result.stdout.strip() == "[]"
