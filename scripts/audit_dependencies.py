"""pip-audit over the locked dependencies, for scripts/check.

Fails on any known vulnerability not listed in IGNORED (each with its reason). When the
vulnerability service cannot be reached (no network, or a registry mirror that does not serve
PyPI's JSON API, so every package comes back "not found"), it says so and passes: a machine
without that service cannot audit, and failing every check there would only teach people to
skip the check step.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

# Vulnerability id -> why it does not apply to us. Empty: nothing is accepted today.
IGNORED: dict[str, str] = {}


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    exported = subprocess.run(
        ["uv", "export", "--frozen", "--no-hashes", "--no-emit-project"],  # noqa: S607 - uv on PATH, as in every script here
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "requirements.txt"
        report = Path(tmp) / "report.json"
        requirements.write_text(exported)
        command = [
            sys.executable,
            "-m",
            "pip_audit",
            "--requirement",
            str(requirements),
            "--disable-pip",
            "--no-deps",  # the lock pins every dependency already
            "--progress-spinner",
            "off",
            "--format",
            "json",
            "--output",
            str(report),
        ]
        for vuln in IGNORED:
            command += ["--ignore-vuln", vuln]
        run = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - fixed arguments
        if not report.exists() or not report.read_text().strip():
            last = (run.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"pip-audit: SKIPPED, the vulnerability service is unreachable ({last})")
            return 0
        dependencies = json.loads(report.read_text())["dependencies"]
    audited = [d for d in dependencies if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            print(f"pip-audit: {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
    if vulnerable:
        return 1
    if not audited:
        print(
            f"pip-audit: SKIPPED, the vulnerability service answered for none of the "
            f"{len(dependencies)} locked packages (unreachable from this machine)"
        )
        return 0
    skipped = len(dependencies) - len(audited)
    print(
        f"pip-audit: {len(audited)} packages audited, no known vulnerabilities"
        + (f"; {skipped} could not be audited" if skipped else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
