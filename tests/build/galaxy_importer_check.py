"""Run galaxy-importer, what Galaxy and Automation Hub run on every upload, on the artifact.

    python tests/build/galaxy_importer_check.py alation-scim-X.Y.Z.tar.gz

ansible-lint and flake8 on, as on the servers; its ansible-test step needs a container engine,
so it is off. Every WARNING or ERROR line the importer prints is a finding that every upload would
show: the check passes only with none, and names each one (file:line: what) at the end.
"""

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

FINDING_RE = re.compile(r"^(WARNING|ERROR): (.*)$")
FLAKE8_RE = re.compile(r"^(?P<path>[\w./-]+\.py):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]\d+) (?P<text>.*)$")
# A stand-in for the only check run here differently from the servers; see repository_findings().
STAND_IN_REPOSITORY = "https://stand-in.invalid/repository-not-set"


def repository_findings(artifact, workdir):
    """Galaxy refuses an artifact without `repository` before it checks anything else.

    The collection has no public source repository yet, and galaxy.yml names none rather than a
    placeholder. So the importer runs on a copy that names a stand-in, and the missing key is a
    finding only with ALATION_SCIM_REQUIRE_REPOSITORY=1 (a release upload, where it blocks): every
    other finding counts always. Returns (findings, blocked notes, artifact to import).
    """
    with tarfile.open(artifact) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        if manifest["collection_info"].get("repository"):
            return [], [], artifact
        manifest["collection_info"]["repository"] = STAND_IN_REPOSITORY
        data = json.dumps(manifest, indent=4).encode("utf-8")
        copy = os.path.join(workdir, os.path.basename(artifact))
        with tarfile.open(copy, "w:gz") as out:
            for member in tar.getmembers():
                if member.name == "MANIFEST.json":
                    member.size = len(data)
                    out.addfile(member, io.BytesIO(data))
                else:
                    out.addfile(member, tar.extractfile(member) if member.isfile() else None)
    note = ("galaxy.yml has no repository: Galaxy and Automation Hub refuse the upload "
            "(\"'repository' is required\"). Fix: set galaxy.yml repository: to the collection's "
            "public source repository once it exists.")
    if os.environ.get("ALATION_SCIM_REQUIRE_REPOSITORY") == "1":
        return [note], [], copy
    return [], ["BLOCKED (not counted until a public repository exists): " + note], copy


def describe(text):
    match = FLAKE8_RE.match(text)
    if match:
        return "flake8 %(code)s at %(path)s:%(line)s:%(col)s: %(text)s" % match.groupdict()
    return text


def main(artifact):
    artifact = os.path.abspath(artifact)
    workdir = tempfile.mkdtemp(prefix="galaxy-importer-")
    findings, blocked, to_import = repository_findings(artifact, workdir)
    env = dict(os.environ,
               GALAXY_IMPORTER_RUN_ANSIBLE_LINT="true", GALAXY_IMPORTER_OFFLINE_ANSIBLE_LINT="true",
               GALAXY_IMPORTER_RUN_FLAKE8="true", GALAXY_IMPORTER_RUN_ANSIBLE_DOC="true",
               GALAXY_IMPORTER_CHECK_CHANGELOG="true", GALAXY_IMPORTER_CHECK_REQUIRED_TAGS="true",
               GALAXY_IMPORTER_RUN_ANSIBLE_TEST="false",
               # as Automation Hub does for certified uploads
               GALAXY_IMPORTER_REQUIRE_V1_OR_GREATER="true",
               GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP=os.path.join(workdir, "ansible-tmp"),
               GALAXY_IMPORTER_TMP_ROOT_DIR=workdir)
    # The importer finds ansible-lint, flake8 and ansible-doc on PATH: the ones of this venv.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    try:
        proc = subprocess.run([sys.executable, "-m", "galaxy_importer.main", to_import], cwd=workdir, env=env, check=False,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(proc.stdout, end="")
    for line in proc.stdout.splitlines():
        match = FINDING_RE.match(line.strip())
        if match:
            findings.append("%s %s" % (match.group(1), describe(match.group(2).strip())))
    if proc.returncode != 0:
        findings.append("galaxy-importer exited with status %d (the import failed)" % proc.returncode)
    print("\n-- galaxy-importer on %s: %d finding(s)" % (os.path.basename(artifact), len(findings)))
    for finding in findings + blocked:
        print("   " + finding)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
