"""The collection artifact as Galaxy / Automation Hub and its users get it (scripts/build.sh).

Run by `scripts/test.sh build` with ALATION_SCIM_ARTIFACT naming the tarball it built; without
it the tarball is built here. Every file that ships is listed below: a new file ships only once
it is added to galaxy.yml's manifest and to this list.
"""

import json
import os
import re
import subprocess
import tarfile

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

EXPECTED_FILES = """
CHANGELOG.rst
.ansible-lint
COPYING
FILES.json
MANIFEST.json
README.md
changelogs/changelog.yaml
changelogs/config.yaml
examples/ansible.cfg
examples/ci/awx/collections/requirements.yml
examples/ci/awx/credential_type.yml
examples/ci/awx/credential_type_pingfederate.yml
examples/ci/awx/credential_type_sailpoint.yml
examples/ci/awx/job_template.yml
examples/ci/awx/merge_job_template.yml
examples/ci/awx/merge_reports.yml
examples/ci/awx/schedule.yml
examples/ci/awx/scheduled_rotation.yml
examples/ci/awx/workflow_job_template.yml
examples/ci/github-actions.yml
examples/ci/gitlab-ci.yml
examples/custom/hashi_vault_kv.yml
examples/custom_push/store_token_in_vault.yml
examples/execution-environment/execution-environment.yml
examples/execution-environment/requirements.yml
examples/inventory/group_vars/alation_servers/main.yml
examples/inventory/group_vars/alation_servers/vault.yml.example
examples/inventory/hosts.yml
examples/monitoring/README.md
examples/monitoring/alation_scim_alerts.yml
examples/monitoring/alation_scim_alerts_test.yml
examples/monitoring/alation_scim_dashboard.json
examples/sailpoint_iiq/README.md
examples/sailpoint_iiq/alation-scim-token-workflow.xml
meta/ee-bindep.txt
meta/execution-environment.yml
meta/runtime.yml
playbooks/check_scim_expiry.yml
playbooks/merge_reports.yml
playbooks/rotate_scim.yml
playbooks/scheduled_rotation.yml
playbooks/tasks/fleet_host.yml
playbooks/tasks/fleet_report.yml
plugins/action/entra_token_rotation.py
plugins/action/fleet_report.py
plugins/action/token_handoff.py
plugins/action/token_read.py
plugins/action/token_rotate.py
plugins/action/token_rotation_cycle.py
plugins/doc_fragments/alation_host.py
plugins/doc_fragments/entra_auth.py
plugins/doc_fragments/idp_http.py
plugins/doc_fragments/okta_auth.py
plugins/doc_fragments/pingfederate.py
plugins/doc_fragments/pingone_auth.py
plugins/doc_fragments/sailpoint.py
plugins/module_utils/_alation_shell.py
plugins/module_utils/_graph.py
plugins/module_utils/_host_modules.py
plugins/module_utils/_http.py
plugins/module_utils/_jwt.py
plugins/module_utils/_okta.py
plugins/module_utils/_pingfederate.py
plugins/module_utils/_pingone.py
plugins/module_utils/_report.py
plugins/module_utils/_sailpoint.py
plugins/module_utils/_token_state.py
plugins/modules/entra_scim_credentials.py
plugins/modules/entra_sync_job.py
plugins/modules/entra_token_rotation.py
plugins/modules/fleet_report.py
plugins/modules/okta_provisioning_info.py
plugins/modules/pingfederate_sp_connection.py
plugins/modules/pingone_scim_store.py
plugins/modules/sailpoint_source.py
plugins/modules/token_handoff.py
plugins/modules/token_info.py
plugins/modules/token_read.py
plugins/modules/token_rotate.py
plugins/modules/token_rotation_cycle.py
plugins/plugin_utils/_cycle.py
plugins/plugin_utils/_handoff.py
plugins/plugin_utils/_host_script.py
plugins/plugin_utils/_role_variables.py
plugins/plugin_utils/_token_action.py
plugins/plugin_utils/drivers/__init__.py
plugins/plugin_utils/drivers/base.py
plugins/plugin_utils/drivers/entra.py
plugins/plugin_utils/drivers/handoff.py
plugins/plugin_utils/drivers/pingfederate.py
plugins/plugin_utils/drivers/pingone.py
plugins/plugin_utils/drivers/sailpoint.py
plugins/plugin_utils/drivers/sailpoint_iiq.py
plugins/plugin_utils/drivers/simple.py
roles/token_rotation/README.md
roles/token_rotation/defaults/main.yml
roles/token_rotation/meta/argument_specs.yml
roles/token_rotation/meta/main.yml
roles/token_rotation/tasks/check.yml
roles/token_rotation/tasks/confirm.yml
roles/token_rotation/tasks/cycle.yml
roles/token_rotation/tasks/followup.yml
roles/token_rotation/tasks/main.yml
roles/token_rotation/tasks/main_alone.yml
roles/token_rotation/tasks/read_expiry.yml
roles/token_rotation/tasks/summary.yml
roles/token_rotation/tasks/yaml_push.yml
roles/token_rotation/vars/main.yml
""".split()

# Galaxy's standard tags (ansible-lint's galaxy profile wants at least one of them).
STANDARD_TAGS = {"application", "cloud", "database", "eda", "infrastructure", "linux", "monitoring",
                 "networking", "security", "storage", "tools", "windows"}
# What a reader of the artifact cannot follow: the checkout's own tools, tests and internal docs.
NOT_IN_ARTIFACT_RE = re.compile(r"(?<![\w.-])(\./)?(scripts|tests|benchmarks|docs|\.ci)/|example\.invalid")
LINK_RE = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    path = os.environ.get("ALATION_SCIM_ARTIFACT")
    if not path:
        out = tmp_path_factory.mktemp("dist")
        path = subprocess.run([os.path.join(REPO, "scripts", "build.sh"), str(out)], check=True,
                              stdout=subprocess.PIPE, universal_newlines=True).stdout.strip().splitlines()[-1]
    with tarfile.open(path) as tar:
        members = dict((m.name, m) for m in tar.getmembers())
        files = dict((name, tar.extractfile(m).read()) for name, m in members.items() if m.isfile())
    return members, files


def test_exactly_the_intended_files_ship(artifact):
    members, files = artifact
    assert sorted(name for name, m in members.items() if not m.isdir()) == sorted(EXPECTED_FILES)
    assert all(m.isfile() for m in members.values() if not m.isdir()), "no links in the artifact"


def test_the_readme_is_the_collection_readme_and_needs_nothing_outside_the_artifact(artifact):
    members, files = artifact
    readme = files["README.md"].decode("utf-8")
    with open(os.path.join(REPO, "docs", "galaxy", "README.md"), "rb") as f:
        assert files["README.md"] == f.read()
    assert not NOT_IN_ARTIFACT_RE.search(readme), NOT_IN_ARTIFACT_RE.search(readme).group(0)
    for target in LINK_RE.findall(readme):
        if re.match(r"^[a-z]+://", target):
            continue
        path = target.split("#")[0].rstrip("/")
        assert path in members, "README.md links %s, which is not in the artifact" % target


def test_every_shipped_markdown_file_needs_nothing_outside_the_artifact(artifact):
    members, files = artifact
    for name in sorted(n for n in files if n.endswith(".md")):
        text = files[name].decode("utf-8")
        for target in LINK_RE.findall(text):
            if re.match(r"^[a-z]+://", target) or target.startswith("#"):
                continue
            path = os.path.normpath(os.path.join(os.path.dirname(name), target.split("#")[0]))
            assert path in members, "%s links %s, which is not in the artifact" % (name, target)


def test_metadata_tells_the_truth(artifact):
    members, files = artifact
    info = json.loads(files["MANIFEST.json"].decode("utf-8"))["collection_info"]
    with open(os.path.join(REPO, "galaxy.yml")) as f:
        galaxy = yaml.safe_load(f)
    assert (info["namespace"], info["name"], info["version"]) == (galaxy["namespace"], galaxy["name"],
                                                                  galaxy["version"])
    assert info["readme"] == "README.md"
    # Keys for things that do not exist yet are left out, not filled with placeholders.
    for key in ("repository", "documentation", "homepage", "issues"):
        assert info[key] is None, key
    assert "example.invalid" not in files["MANIFEST.json"].decode("utf-8")
    assert set(info["tags"]) & STANDARD_TAGS
    assert all(re.match(r"^[a-z0-9_]{1,64}$", tag) for tag in info["tags"]) and len(info["tags"]) <= 20
    assert info["license"] == ["GPL-3.0-or-later"] and "COPYING" in files
