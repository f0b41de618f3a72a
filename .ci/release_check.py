"""The release workflow's checks that need no runner (.ci/release_check runs this).

python .ci/release_check.py CIBUILDWHEEL_VERSION CIBUILDWHEEL_COMMAND

Reads .github/workflows/release.yml and checks that it builds a wheel on each platform a class
uses with the cibuildwheel given, leaves which Pythons and the test command to pyproject.toml,
builds an sdist, and publishes on a version tag only, through trusted publishing; then asks that
cibuildwheel which wheels pyproject.toml selects on each of those platforms: CPython 3.10-3.13.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
PYTHONS = ["cp310", "cp311", "cp312", "cp313"]
# (cibuildwheel platform, architecture): the wheel's platform tag as cibuildwheel names it
PLATFORMS = {
    ("linux", "x86_64"): "manylinux_x86_64",
    ("linux", "aarch64"): "manylinux_aarch64",
    ("macos", "arm64"): "macosx_arm64",
    ("macos", "x86_64"): "macosx_x86_64",
    ("windows", "AMD64"): "win_amd64",
}
# GitHub's macOS runners with an Intel processor (the others are Apple silicon)
INTEL_MACS = {"macos-13", "macos-13-large", "macos-14-large", "macos-15-large", "macos-15-intel"}
# settings that belong to pyproject.toml, where .ci/wheel's test compares them
NOT_IN_THE_WORKFLOW = ["CIBW_BUILD", "CIBW_SKIP", "CIBW_TEST_COMMAND", "CIBW_TEST_SKIP"]

errors: list[str] = []


def check(condition: object, message: str) -> None:
    if not condition:
        errors.append(message)


def runner_fits(platform: str, arch: str, runner: str) -> bool:
    """Does this runner build this platform's wheels natively?"""
    if platform == "linux":
        return runner.startswith("ubuntu-") and runner.endswith("-arm") == (arch == "aarch64")
    if platform == "macos":
        return runner.startswith("macos-") and (runner in INTEL_MACS) == (arch == "x86_64")
    return runner.startswith("windows-")


def check_wheels(job: dict, cibuildwheel_version: str) -> list[tuple[str, str]]:
    """The wheel jobs: one per platform, each on its own runner; returns (platform, arch)s."""
    entries = job.get("strategy", {}).get("matrix", {}).get("include", [])
    built = [(e.get("platform"), e.get("arch")) for e in entries]
    check(
        sorted(built) == sorted(PLATFORMS),
        f"the wheel jobs build {sorted(built)}, not {sorted(PLATFORMS)}",
    )
    for e in entries:
        where = f"wheel job {e.get('platform')} {e.get('arch')}"
        check(
            runner_fits(e["platform"], e["arch"], e.get("os", "")), f"{where}: runner {e.get('os')}"
        )
        if e["platform"] == "macos":
            check(e.get("macos_target"), f"{where}: no macOS deployment target")
    check(job.get("runs-on") == "${{ matrix.os }}", "the wheel jobs do not run on matrix.os")
    steps = job.get("steps", [])
    action = [s for s in steps if str(s.get("uses", "")).startswith("pypa/cibuildwheel@")]
    check(len(action) == 1, "the wheel jobs do not run pypa/cibuildwheel once")
    if action:
        step = action[0]
        check(
            step["uses"] == f"pypa/cibuildwheel@v{cibuildwheel_version}",
            f"the workflow runs {step['uses']}, the check cibuildwheel {cibuildwheel_version}",
        )
        env = step.get("env", {})
        check(
            env.get("CIBW_PLATFORM") == "${{ matrix.platform }}", "CIBW_PLATFORM not the matrix's"
        )
        check(env.get("CIBW_ARCHS") == "${{ matrix.arch }}", "CIBW_ARCHS not the matrix's")
        check(
            env.get("MACOSX_DEPLOYMENT_TARGET") == "${{ matrix.macos_target }}",
            "MACOSX_DEPLOYMENT_TARGET not the matrix's",
        )
        for name in NOT_IN_THE_WORKFLOW:
            check(name not in env, f"the workflow sets {name}: it belongs to pyproject.toml")
    check(any("upload-artifact" in str(s.get("uses", "")) for s in steps), "wheels not uploaded")
    return [b for b in built if b in PLATFORMS]


def check_sdist_and_publish(jobs: dict) -> None:
    sdist = jobs.get("sdist", {})
    commands = " ".join(str(s.get("run", "")) for s in sdist.get("steps", []))
    check("python -m build --sdist" in commands, "the sdist job does not build the sdist")
    check("twine check --strict" in commands, "the sdist job does not run twine check --strict")
    publish = jobs.get("publish", {})
    check(
        sorted(publish.get("needs", [])) == ["sdist", "wheels"],
        "publishing does not wait for the wheels and the sdist",
    )
    check(
        "startsWith(github.ref, 'refs/tags/v')" in str(publish.get("if", "")),
        "publishing does not run on version tags only",
    )
    check(publish.get("permissions", {}).get("id-token") == "write", "no id-token: write")
    uses = [s for s in publish.get("steps", []) if "gh-action-pypi-publish" in str(s.get("uses"))]
    check(len(uses) == 1, "publishing does not use pypa/gh-action-pypi-publish")
    check(
        all("password" not in s.get("with", {}) for s in uses),
        "publishing passes a password: trusted publishing needs none",
    )


def check_identifiers(command: str, platform: str, arch: str) -> None:
    """cibuildwheel, reading pyproject.toml, selects CPython 3.10-3.13 for this platform."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIBW_")}
    result = subprocess.run(
        [command, "--print-build-identifiers", "--platform", platform, "--archs", arch],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    got = result.stdout.split()
    expected = [f"{python}-{PLATFORMS[platform, arch]}" for python in PYTHONS]
    check(
        result.returncode == 0 and got == expected,
        f"pyproject.toml selects {got or result.stderr.strip()} on {platform} {arch}, "
        f"not {expected}",
    )
    if got == expected:
        print(f"{platform} {arch}: {' '.join(got)}")


def main() -> int:
    cibuildwheel_version, command = sys.argv[1], sys.argv[2]
    workflow = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key `on` as true
    triggers = workflow.get("on", workflow.get(True, {}))
    check("v*" in triggers.get("push", {}).get("tags", []), "the workflow does not run on v* tags")
    jobs = workflow.get("jobs", {})
    built = check_wheels(jobs.get("wheels", {}), cibuildwheel_version)
    check_sdist_and_publish(jobs)
    for platform, arch in built:
        check_identifiers(command, platform, arch)
    for message in errors:
        print(f"error: release check: {message}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
