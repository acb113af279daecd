#!/usr/bin/env python3
"""Checks the composite action (action.yml), which actionlint does not lint: every `run:`
script goes through shellcheck (with `${{ … }}` expressions replaced by a word), every step
that runs a script names its shell, and every workflow that uses the action (`uses: ./`)
passes only inputs it declares. Usage: .ci/action-check.py; exits 1 on any finding."""
import glob
import re
import subprocess
import sys
import tempfile

import yaml

findings = []
action = yaml.safe_load(open("action.yml"))
inputs = set(action.get("inputs", {}))
for i, step in enumerate(action["runs"]["steps"]):
    where = f"action.yml: step {i + 1} ({step.get('name', step.get('id', '?'))})"
    if "run" not in step:
        continue
    if step.get("shell") != "bash":
        findings.append(f"{where}: a composite step's `run` needs `shell: bash`")
    for used in re.findall(r"\$\{\{\s*inputs\.([\w-]+)", yaml.safe_dump(step)):
        if used not in inputs:
            findings.append(f"{where}: inputs.{used} is not declared")
    script = re.sub(r"\$\{\{.*?\}\}", "EXPR", step["run"])
    with tempfile.NamedTemporaryFile("w", suffix=".sh") as f:
        f.write("#!/usr/bin/env bash\n" + script)
        f.flush()
        out = subprocess.run(["shellcheck", "-s", "bash", f.name], capture_output=True, text=True)
        if out.returncode:
            findings.append(f"{where}: shellcheck:\n{out.stdout.replace(f.name, 'run')}")
for wf in sorted(glob.glob(".github/workflows/*.yml")):
    for job in yaml.safe_load(open(wf)).get("jobs", {}).values():
        for step in job.get("steps", []):
            if step.get("uses") == "./":
                for key in step.get("with", {}):
                    if key not in inputs:
                        findings.append(f"{wf}: `with: {key}` is not an input of action.yml")
for f in findings:
    print(f)
print(f"action check: action.yml, {len(findings)} finding(s)")
sys.exit(1 if findings else 0)
