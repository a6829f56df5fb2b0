"""The scheduling examples (GitHub Actions, GitLab CI, AWX) and the execution environment.

No CI system or container engine runs here, so these check what can be checked locally: YAML
syntax (yamllint), playbook syntax (ansible-playbook --syntax-check against this checkout as
the alation.scim collection), the keys each CI system needs and that they agree with what the
playbooks write, the AWX RRULE (python-dateutil), and that ansible-builder produces a build
context and can introspect the installed collection.
"""

import os
import re
import shutil
import subprocess
import sys
import tarfile
from datetime import timedelta

import pytest
import yaml
from dateutil.rrule import rrulestr

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CI = os.path.join(REPO, 'examples', 'ci')
VENV_BIN = os.path.dirname(sys.executable)
PLAYBOOKS = [os.path.join(REPO, 'playbooks', 'check_scim_expiry.yml'),
             os.path.join(REPO, 'playbooks', 'scheduled_rotation.yml'),
             os.path.join(REPO, 'playbooks', 'merge_reports.yml'),
             os.path.join(CI, 'awx', 'scheduled_rotation.yml'),
             os.path.join(CI, 'awx', 'merge_reports.yml')]

sys.path.insert(0, os.path.join(REPO, 'tests', 'testbed'))
import collection_link  # noqa: E402  (path set just above)


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def run(cmd, **kw):
    return subprocess.run(cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=600, **kw)


@pytest.fixture(scope='module')
def collections_path():
    root = collection_link.new_collections_path('alation-scim-examples-')
    yield root
    shutil.rmtree(root)


def report_file_names():
    """The file names the playbooks write into alation_scim_report_dir."""
    with open(os.path.join(REPO, 'playbooks', 'tasks', 'fleet_report.yml')) as f:
        text = f.read()
    names = dict(re.findall(r"(json|markdown|junit)_path: .*__dir ~ '/([\w.-]+)'", text))
    assert sorted(names) == ['json', 'junit', 'markdown']
    return names


def snapshot(dest):
    """Copy the files git knows of (tracked, or new and not ignored), as a release would see them;
    building from a copy also keeps files edited meanwhile from breaking the artifact's checksums."""
    listing = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=REPO, check=True,
                             stdout=subprocess.PIPE).stdout.decode('utf-8').split('\0')
    for rel in filter(None, listing):
        src = os.path.join(REPO, rel)
        if not os.path.lexists(src):
            continue
        target = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.islink(src):
            os.symlink(os.readlink(src), target)
        else:
            shutil.copy2(src, target)
    return dest


# ------------------------------------------------------------------ syntax
def test_yamllint_examples_and_playbooks():
    config = ('{extends: default, rules: {line-length: {max: 160}, '
              'truthy: {allowed-values: ["true", "false"], check-keys: false}}}')
    paths = [CI, os.path.join(REPO, 'playbooks'), os.path.join(REPO, 'meta')]
    proc = run([os.path.join(VENV_BIN, 'yamllint'), '-s', '-d', config] + paths)
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize('playbook', PLAYBOOKS, ids=os.path.basename)
def test_playbook_syntax(playbook, collections_path, tmp_path):
    config = tmp_path / 'ansible.cfg'
    config.write_text('[defaults]\n')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='False',
               ANSIBLE_NOCOLOR='1', ANSIBLE_CONFIG=str(config))
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text('all:\n  children:\n    alation_servers:\n      hosts:\n        a1:\n')
    proc = run([os.path.join(VENV_BIN, 'ansible-playbook'), '--syntax-check', '-i', str(inventory), playbook],
               env=env, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout
    assert 'playbook: %s' % playbook in proc.stdout


def test_awx_wrapper_imports_the_collection_playbook():
    plays = load(os.path.join(CI, 'awx', 'scheduled_rotation.yml'))
    # First a play on localhost that passes the report path on (tests/integration/test_slicing.py runs it).
    assert [p.get('ansible.builtin.import_playbook') for p in plays] == [None, 'alation.scim.scheduled_rotation']
    plays = load(os.path.join(CI, 'awx', 'merge_reports.yml'))
    assert [p.get('ansible.builtin.import_playbook') for p in plays] == ['alation.scim.merge_reports']


# ------------------------------------------------------------------ GitHub Actions
def test_github_actions_workflow():
    wf = load(os.path.join(CI, 'github-actions.yml'))
    triggers = wf['on']  # quoted in the file: YAML 1.1 reads a bare on key as true
    assert set(triggers) == {'schedule', 'workflow_dispatch'}
    for entry in triggers['schedule']:
        fields = entry['cron'].split()
        assert len(fields) == 5 and all(re.match(r'^[\d*/,-]+$', f) for f in fields), entry
    assert wf['permissions']['checks'] == 'write'
    (job,) = wf['jobs'].values()
    steps = job['steps']
    runs = [s.get('run', '') for s in steps]
    playbook_steps = [r for r in runs if 'ansible-playbook' in r]
    assert len(playbook_steps) == 1
    assert '-e alation_scim_report_dir=reports' in playbook_steps[0]
    assert "'scheduled_rotation'" in job['env']['PLAYBOOK'] and "'check_scim_expiry'" in job['env']['PLAYBOOK']
    names = report_file_names()
    summary = [s for s in steps if 'GITHUB_STEP_SUMMARY' in s.get('run', '')]
    assert len(summary) == 1 and summary[0]['if'] == 'always()'
    assert 'reports/%s' % names['markdown'] in summary[0]['run']
    junit = [s for s in steps if 'junit' in s.get('uses', '')]
    assert len(junit) == 1 and junit[0]['if'] == 'always()'
    assert junit[0]['with']['report_paths'] == 'reports/%s' % names['junit']
    upload = [s for s in steps if s.get('uses', '').startswith('actions/upload-artifact')]
    assert len(upload) == 1 and upload[0]['with']['path'] == 'reports/' and upload[0]['if'] == 'always()'
    # Secrets reach the run through the environment, never through a command line.
    assert not any('secrets.' in r for r in runs)
    assert set(k for k, v in job['env'].items() if 'secrets.' in str(v)) == {
        'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET'}


# ------------------------------------------------------------------ GitLab CI
def test_gitlab_ci_pipeline():
    ci = load(os.path.join(CI, 'gitlab-ci.yml'))
    job = ci['alation-scim']
    assert job['stage'] in ci['stages']
    assert {'if': '$CI_PIPELINE_SOURCE == "schedule"'} in job['rules']
    assert job['variables']['ALATION_SCIM_PLAYBOOK'] == 'alation.scim.scheduled_rotation'
    (script,) = job['script']
    assert script.startswith('ansible-playbook ') and '"$ALATION_SCIM_PLAYBOOK"' in script
    assert '-e alation_scim_report_dir=reports' in script
    assert job['artifacts']['when'] == 'always'
    assert job['artifacts']['reports']['junit'] == 'reports/%s' % report_file_names()['junit']
    assert 'AZURE_CLIENT_SECRET' not in ' '.join(job['before_script'] + job['script'])


# ------------------------------------------------------------------ AWX
def test_awx_credential_type_injects_the_entra_environment():
    ct = load(os.path.join(CI, 'awx', 'credential_type.yml'))
    assert ct['kind'] == 'cloud'
    fields = dict((f['id'], f) for f in ct['inputs']['fields'])
    assert set(ct['inputs']['required']) == set(fields) == {'tenant_id', 'client_id', 'client_secret'}
    assert fields['client_secret'].get('secret') is True
    assert not fields['tenant_id'].get('secret') and not fields['client_id'].get('secret')
    env = ct['injectors']['env']
    assert env == {'AZURE_TENANT_ID': '{{ tenant_id }}', 'AZURE_CLIENT_ID': '{{ client_id }}',
                   'AZURE_CLIENT_SECRET': '{{ client_secret }}'}
    # ... and these are the variables the Entra modules fall back to.
    with open(os.path.join(REPO, 'plugins', 'module_utils', '_graph.py')) as f:
        graph = f.read()
    for var in env:
        assert "env_fallback, ['%s']" % var in graph, var


def test_awx_job_template_and_schedule():
    jt = load(os.path.join(CI, 'awx', 'job_template.yml'))
    assert jt['job_type'] == 'run' and jt['allow_simultaneous'] is False
    assert os.path.exists(os.path.join(CI, 'awx', jt['playbook']))
    assert 'alation_scim_report_dir' in jt['extra_vars']
    assert any('alation.scim' in c for c in jt['credentials'])
    assert jt['job_slice_count'] > 1
    merge = load(os.path.join(CI, 'awx', 'merge_job_template.yml'))
    assert os.path.exists(os.path.join(CI, 'awx', merge['playbook'])) and merge['inventory'] == jt['inventory']
    workflow = load(os.path.join(CI, 'awx', 'workflow_job_template.yml'))
    rotate, report = workflow['workflow_nodes']
    assert (rotate['unified_job_template']['name'], report['unified_job_template']['name']) == (jt['name'], merge['name'])
    assert rotate['related']['always_nodes'] == [{'identifier': report['identifier']}]
    sched = load(os.path.join(CI, 'awx', 'schedule.yml'))
    assert sched['unified_job_template'] == workflow['name']
    rrule = sched['rrule']
    # AWX wants exactly one DTSTART and one RRULE, on one line.
    assert '\n' not in rrule and rrule.count('DTSTART') == 1 and rrule.count('RRULE:') == 1
    rule = rrulestr(rrule)
    first, second = rule[0], rule[1]
    assert first.utcoffset() == timedelta(0)
    assert (first.hour, first.minute) == (5, 17)
    assert second - first == timedelta(days=1)


# ------------------------------------------------------------------ execution environment
def test_ansible_builder_creates_a_build_context(tmp_path):
    ee_dir = os.path.join(REPO, 'examples', 'execution-environment')
    context = tmp_path / 'context'
    proc = run([os.path.join(VENV_BIN, 'ansible-builder'), 'create', '-f',
                os.path.join(ee_dir, 'execution-environment.yml'), '-c', str(context)])
    assert proc.returncode == 0, proc.stdout
    files = os.listdir(str(context))
    assert 'Containerfile' in files or 'Dockerfile' in files, files
    build = context / '_build'
    assert load(str(build / 'requirements.yml')) == load(os.path.join(ee_dir, 'requirements.yml'))
    instructions = (context / ('Containerfile' if 'Containerfile' in files else 'Dockerfile')).read_text()
    assert 'ansible-core>=2.16,<2.20' in instructions
    assert 'quay.io/centos/centos:stream9' in instructions
    # The collection's system packages come from introspecting the installed collections.
    assert 'introspect' in instructions


def test_collection_is_introspectable_by_ansible_builder(tmp_path):
    """ansible-builder reads meta/execution-environment.yml of every collection installed in an EE
    and resolves its `system` file from the collection root: that must work for alation.scim."""
    source = snapshot(str(tmp_path / 'src'))
    out = tmp_path / 'dist'
    proc = run([os.path.join(VENV_BIN, 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path',
                str(out), source], cwd=source)
    assert proc.returncode == 0, proc.stdout
    (tarball,) = [str(p) for p in out.iterdir()]
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert 'meta/execution-environment.yml' in names and 'meta/ee-bindep.txt' in names
    installed = tmp_path / 'installed'
    proc = run([os.path.join(VENV_BIN, 'ansible-galaxy'), 'collection', 'install', '-p', str(installed), tarball])
    assert proc.returncode == 0, proc.stdout
    import ansible_builder
    introspect = os.path.join(os.path.dirname(ansible_builder.__file__), '_target_scripts', 'introspect.py')
    proc = run([sys.executable, introspect, 'introspect', str(installed)])
    assert proc.returncode == 0, proc.stdout
    result = yaml.safe_load(proc.stdout)
    assert sorted(result['system']) == sorted(
        '%s  # from collection alation.scim' % line
        for line in open(os.path.join(REPO, 'meta', 'ee-bindep.txt')).read().splitlines()
        if line.strip() and not line.startswith('#'))
