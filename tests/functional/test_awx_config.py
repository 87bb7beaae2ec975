"""AWX / Automation Controller configuration as code (awx/): the project-level wrappers, the job templates'
surveys checked against the playbooks' variables and the roles' argument specs, the kubeconfig credential
type, and awx/configure_awx.yml run for real against stand-in awx.awx modules.

awx.awx is not installed here (the ``ansible`` package does not ship it and Galaxy is unreachable), so
configure_awx.yml runs against stand-in modules whose argument specs are those of awx.awx's modules
(the options this playbook uses): a wrong option name or type fails the run as it would against AWX, and
every call is recorded for the assertions below. What AWX itself does with a survey spec is reproduced
from its API's validation (awx/api/views JobTemplateSurveySpec._validate_spec_data).
"""
from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.scalarops.pitr.plugins.module_utils.k8s_client import auth_argument_spec
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from fixtures.common import REPO_ROOT, VENV_BIN

AWX = REPO_ROOT / "awx"
PLAYBOOKS = sorted(p.stem for p in (REPO_ROOT / "playbooks").glob("*.yml"))
KUBECONFIG_TYPE = "Kubeconfig (scalarops.pitr)"


class _Loader(yaml.SafeLoader):
    """safe_load plus Ansible's ``!unsafe`` tag (a plain string that Ansible must not template)."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


TEMPLATES: list[dict] = _load(AWX / "config" / "job_templates.yml")["awx_job_templates"]
CREDENTIAL_TYPES: list[dict] = _load(AWX / "config" / "credential_types.yml")["awx_credential_types"]


def _role_options() -> dict[str, dict]:
    """Every option of every role's main entry point, by name (backend roles' options are set by the playbooks too)."""
    options: dict[str, dict] = {}
    for spec_file in sorted((REPO_ROOT / "roles").glob("*/meta/argument_specs.yml")):
        options.update(yaml.safe_load(spec_file.read_text())["argument_specs"]["main"]["options"])
    return options


ROLE_OPTIONS = _role_options()


def _playbook(name: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The playbook's documented variables (its ``vars:``) and, per variable, the role options it is passed to."""
    (play,) = yaml.safe_load((REPO_ROOT / "playbooks" / f"{name}.yml").read_text())
    passed_to: dict[str, list[str]] = {}
    for task in play["tasks"]:
        if "ansible.builtin.include_role" in task:
            for option, value in task.get("vars", {}).items():
                match = re.fullmatch(r"\{\{\s*(\w+)\s*\}\}", str(value))
                if match:
                    passed_to.setdefault(match.group(1), []).append(option)
    return play["vars"], passed_to


def _choices(question: dict) -> list[str]:
    choices = question["choices"]
    return [c for c in choices.splitlines() if c.strip()] if isinstance(choices, str) else list(choices)


def _awx_survey_errors(survey: dict) -> list[str]:
    """What AWX's API refuses in a survey spec (JobTemplateSurveySpec._validate_spec_data), as a list of errors."""
    types = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str, "integer": int, "float": float}
    errors = []
    for field, kind in (("name", str), ("description", str), ("spec", list)):
        if not isinstance(survey.get(field), kind):
            errors.append(f"survey {field} must be {kind.__name__}")
    if not survey.get("spec"):
        return errors + ["spec has no items"]
    seen = set()
    for idx, item in enumerate(survey["spec"]):
        where = f"question {idx} ({item.get('variable')})"
        for field in ("type", "question_name", "variable"):
            if not isinstance(item.get(field), str):
                errors.append(f"{where}: {field} missing or not a string")
        if not isinstance(item.get("required"), bool):
            errors.append(f"{where}: required missing or not a boolean")
        if item.get("variable") in seen:
            errors.append(f"{where}: variable duplicated")
        seen.add(item.get("variable"))
        qtype = item.get("type")
        if qtype not in types:
            errors.append(f"{where}: type {qtype!r} is not an AWX question type")
            continue
        default = item.get("default", "")
        if default != "" and (not isinstance(default, types[qtype]) or isinstance(default, bool)):
            errors.append(f"{where}: default {default!r} is not of type {qtype}")
            continue
        for key in ("min", "max"):
            if item.get(key) is not None and not isinstance(item[key], int):
                errors.append(f"{where}: {key} must be an integer")
        if qtype in ("multiplechoice", "multiselect"):
            if "choices" not in item:
                errors.append(f"{where}: no choices")
            elif default != "" and default not in _choices(item):
                errors.append(f"{where}: default {default!r} is not one of the choices")
        # Not checked by the API but by the launch: a default must itself be a valid answer.
        if qtype in ("integer", "float") and default != "":
            if not item.get("min", default) <= default <= item.get("max", default):
                errors.append(f"{where}: default {default} outside min..max")
        if qtype in ("text", "textarea") and default != "" and not item.get("min", 0) <= len(default) <= item.get("max", 1024):
            errors.append(f"{where}: default length outside min..max")
    return errors


def _answers(question: dict) -> list[Any]:
    """Values AWX may send for the question's variable (an unanswered optional choice sends nothing)."""
    qtype, default = question["type"], question.get("default", "")
    if qtype == "multiplechoice":
        return _choices(question)
    if qtype in ("integer", "float"):
        cast = int if qtype == "integer" else float
        return [cast(v) for v in (default, question.get("min"), question.get("max")) if v not in (None, "")]
    # text: the default, or whatever a user types (always a string)
    return ([default] if default != "" or not question["required"] else []) + ["example-answer"]


def _spec_errors(option: str, value: Any) -> list[str]:
    """The errors of the role option's argument spec for ``value`` (as the role's argument validation reports them)."""
    spec = {k: v for k, v in ROLE_OPTIONS[option].items() if k not in ("required", "default", "description")}
    return list(ArgumentSpecValidator({option: spec}).validate({option: value}).error_messages)


def _template(playbook: str) -> dict:
    (template,) = [t for t in TEMPLATES if t["playbook"] == playbook]
    return template


# --- wrappers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_every_playbook_has_a_wrapper_importing_it(name: str) -> None:
    (entry,) = yaml.safe_load((AWX / "playbooks" / f"{name}.yml").read_text())
    assert entry["ansible.builtin.import_playbook"] == f"scalarops.pitr.{name}"
    assert set(entry) <= {"name", "ansible.builtin.import_playbook"}


def test_wrappers_run_the_collection_playbooks(tool_env: dict[str, str]) -> None:
    """ansible-playbook resolves each wrapper to the collection's playbook: same plays, same tasks."""
    def listing(paths: list[str]) -> list[str]:
        result = subprocess.run([str(VENV_BIN / "ansible-playbook"), "--list-tasks", *paths], cwd=REPO_ROOT, env=tool_env,
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        return [line for line in result.stdout.splitlines() if line.strip() and not line.startswith("playbook:")]

    wrapped = listing([str(AWX / "playbooks" / f"{name}.yml") for name in PLAYBOOKS])
    direct = listing([f"scalarops.pitr.{name}" for name in PLAYBOOKS])
    assert wrapped == direct
    assert len([line for line in direct if "play #" in line]) == len(PLAYBOOKS)


# --- job templates and surveys ----------------------------------------------------------------------


def test_every_playbook_has_one_job_template() -> None:
    assert sorted(t["playbook"] for t in TEMPLATES) == PLAYBOOKS
    assert len({t["name"] for t in TEMPLATES}) == len(TEMPLATES)
    for template in TEMPLATES:
        assert template["cloud"] in ("aws", "azure", "none")


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_survey_is_accepted_by_awx(name: str) -> None:
    template = _template(name)
    survey = {"name": template["name"], "description": template["description"], "spec": template["survey"]}
    assert _awx_survey_errors(survey) == []


def test_awx_validation_refuses_what_awx_refuses() -> None:
    """The reproduction of AWX's checks can fail: the mistakes AWX answers with a 400."""
    good = copy.deepcopy(_template("restore_dynamodb")["survey"])
    cases = {
        "default 'sideways' is not one of the choices": [dict(good[0], type="multiplechoice", choices=["a", "b"], default="sideways")],
        "default '10' is not of type integer": [dict(good[0], type="integer", default="10")],
        "variable duplicated": [good[0], good[0]],
        "required missing": [{k: v for k, v in good[0].items() if k != "required"}],
    }
    for expected, spec in cases.items():
        errors = _awx_survey_errors({"name": "n", "description": "", "spec": spec})
        assert any(expected in e for e in errors), (expected, errors)


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_survey_and_variables_cover_the_playbook_variables(name: str) -> None:
    """Each documented variable is asked once: in the survey (same name and default) or as template extra_vars."""
    variables = _playbook(name)[0]
    template = _template(name)
    asked = [q["variable"] for q in template["survey"]]
    assert len(asked) == len(set(asked))
    assert not set(asked) & set(template["extra_vars"])
    assert sorted(asked + list(template["extra_vars"])) == sorted(variables)
    for question in template["survey"]:
        default = variables[question["variable"]]
        qtype = question["type"]
        if isinstance(default, bool):
            # yes/no: a "false"/"true" choice whose default is the playbook's
            assert qtype == "multiplechoice" and sorted(_choices(question)) == ["false", "true"], question
            assert question["default"] == str(default).lower(), question
        elif isinstance(default, int):
            assert qtype == "integer" and question["default"] == default, question
        else:
            # password: AWX keeps the answer encrypted and never shows it again (sql_password)
            assert isinstance(default, str) and qtype in ("text", "multiplechoice", "password"), question
            assert question["default"] == default, question
    for variable, value in template["extra_vars"].items():
        assert isinstance(variables[variable], (list, dict)), variable
        assert value == variables[variable], variable


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_every_answer_passes_the_role_argument_specs(name: str) -> None:
    """Every value AWX can send for a question (each choice, the integer bounds, the default, a typed string)
    and every extra_vars default is accepted by the argument spec of the role option the playbook passes it to."""
    variables, passed_to = _playbook(name)
    template = _template(name)
    checked = 0
    for question in template["survey"]:
        options = [o for o in passed_to.get(question["variable"], []) if o in ROLE_OPTIONS]
        for answer in _answers(question):
            if not options:
                # Used in an expression, not passed on (scale_scalar's scalar_state): the playbook's type.
                assert isinstance(answer, type(variables[question["variable"]])), (question, answer)
            for option in options:
                assert _spec_errors(option, answer) == [], (question["variable"], option, answer)
                checked += 1
        if not question["required"]:
            # Left empty: the playbook's default applies, and must pass too.
            for option in options:
                assert _spec_errors(option, variables[question["variable"]]) == [], (question["variable"], option)
    for variable, value in template["extra_vars"].items():
        for option in passed_to.get(variable, []):
            assert _spec_errors(option, value) == [], (variable, option)
    assert checked or name == "scale_scalar"


def test_a_survey_answer_cannot_carry_a_list() -> None:
    """Why lists are extra_vars and not textarea questions: a survey answer is a string, and the roles refuse a
    YAML/JSON string for scalar_releases (nothing turns it into a list before the role's argument validation)."""
    errors = _spec_errors("restore_flow_releases", '[{"name": "ledger", "namespace": "scalar", "product": "ledger", "chart_ref": "x"}]')
    assert errors
    assert _spec_errors("restore_flow_releases", [{"name": "ledger", "namespace": "scalar", "product": "ledger", "chart_ref": "x"}]) == []


# --- the kubeconfig credential type --------------------------------------------------------------


def test_kubeconfig_credential_type_injects_a_file_and_k8s_auth_kubeconfig(tmp_path: Path) -> None:
    (cred,) = [c for c in CREDENTIAL_TYPES if c["name"] == KUBECONFIG_TYPE]
    assert cred["kind"] in ("cloud", "net")   # the kinds AWX allows for custom types
    (field,) = [f for f in cred["inputs"]["fields"] if f["id"] == "kubeconfig"]
    assert field["type"] == "string" and field["secret"] is True and field["multiline"] is True
    assert cred["inputs"]["required"] == ["kubeconfig"]
    # Render the injectors as AWX does (a sandboxed Jinja2 environment; the file's path as tower.filename).
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    kubeconfig = "apiVersion: v1\nkind: Config\ncurrent-context: prod\n"
    injected_file = tmp_path / "kubeconfig"
    injected_file.write_text(env.from_string(cred["injectors"]["file"]["template"]).render(kubeconfig=kubeconfig))
    assert injected_file.read_text() == kubeconfig
    rendered_env = {k: env.from_string(v).render(kubeconfig=kubeconfig, tower={"filename": str(injected_file)})
                    for k, v in cred["injectors"]["env"].items()}
    assert rendered_env == {"K8S_AUTH_KUBECONFIG": str(injected_file), "KUBECONFIG": str(injected_file)}
    # ... the variable the collection's modules and kubernetes.core's helm modules read.
    assert auth_argument_spec(env_fallback)["kubeconfig"]["fallback"][1] == ["K8S_AUTH_KUBECONFIG"]
    helm_args = (VENV_BIN.parent / "lib" / "python3.12" / "site-packages" / "ansible_collections" / "kubernetes" / "core" / "plugins"
                 / "module_utils" / "helm_args_common.py").read_text()
    assert '["K8S_AUTH_KUBECONFIG"]' in helm_args


# --- configure_awx.yml against stand-in awx.awx modules ----------------------------------------------

_AUTH = {"controller_host": {}, "controller_username": {}, "controller_password": {"no_log": True},
         "controller_oauthtoken": {"no_log": True}, "validate_certs": {"type": "bool"}, "controller_config_file": {"type": "path"}}
_STATE = {"choices": ["present", "absent"], "default": "present"}
# The options of awx.awx's modules (awx_collection/plugins/modules) that configure_awx.yml may use.
AWX_MODULE_SPECS: dict[str, dict] = {
    "credential_type": {"name": {"required": True}, "description": {}, "kind": {"choices": ["ssh", "vault", "net", "scm", "cloud", "insights"]},
                        "inputs": {"type": "dict"}, "injectors": {"type": "dict"}, "state": _STATE},
    "credential": {"name": {"required": True}, "description": {}, "organization": {}, "credential_type": {},
                   "inputs": {"type": "dict", "no_log": True}, "state": _STATE},
    "execution_environment": {"name": {"required": True}, "image": {"required": True}, "description": {}, "organization": {},
                              "credential": {}, "pull": {"choices": ["always", "missing", "never"], "default": "missing"}, "state": _STATE},
    "inventory": {"name": {"required": True}, "description": {}, "organization": {}, "variables": {"type": "dict"}, "state": _STATE},
    "project": {"name": {"required": True}, "description": {}, "organization": {}, "scm_type": {"choices": ["manual", "git", "svn", "insights", "archive"]},
                "scm_url": {}, "scm_branch": {}, "credential": {}, "default_environment": {}, "scm_update_on_launch": {"type": "bool"},
                "wait": {"type": "bool", "default": True}, "state": _STATE},
    "job_template": {"name": {"required": True}, "description": {}, "organization": {}, "project": {}, "playbook": {}, "inventory": {},
                     "job_type": {"choices": ["run", "check"]}, "credentials": {"type": "list", "elements": "str"},
                     "execution_environment": {}, "extra_vars": {"type": "dict"}, "ask_variables_on_launch": {"type": "bool"},
                     "ask_credential_on_launch": {"type": "bool"}, "ask_inventory_on_launch": {"type": "bool"},
                     "survey_enabled": {"type": "bool"}, "survey_spec": {"type": "dict"}, "allow_simultaneous": {"type": "bool"},
                     "verbosity": {"type": "int", "choices": [0, 1, 2, 3, 4]}, "timeout": {"type": "int"}, "state": _STATE},
}
STUB_MODULE = '''#!/usr/bin/python
"""Stand-in for awx.awx.{name}: validates the options like the real module, records the call."""
from __future__ import annotations
import json
import os
from ansible.module_utils.basic import AnsibleModule

SPEC = json.loads({spec!r})


def main() -> None:
    module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True)
    with open(os.environ["AWX_STUB_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({{"module": "{name}", "params": module.params}}) + "\\n")
    module.exit_json(changed=True)


if __name__ == "__main__":
    main()
'''


@pytest.fixture(scope="module")
def stub_env(tmp_path_factory: pytest.TempPathFactory, tool_env: dict[str, str]) -> dict[str, str]:
    """tool_env with the stand-in awx.awx collection first on the collections path, and the calls' log."""
    root = tmp_path_factory.mktemp("awx")
    modules = root / "collections" / "ansible_collections" / "awx" / "awx" / "plugins" / "modules"
    modules.mkdir(parents=True)
    for name, spec in AWX_MODULE_SPECS.items():
        (modules / f"{name}.py").write_text(STUB_MODULE.format(name=name, spec=json.dumps(dict(spec, **_AUTH))))
    return dict(tool_env, AWX_STUB_LOG=str(root / "calls.jsonl"),
                ANSIBLE_COLLECTIONS_PATH=f"{root / 'collections'}:{tool_env['ANSIBLE_COLLECTIONS_PATH']}")


@pytest.fixture(scope="module")
def awx_calls(tmp_path_factory: pytest.TempPathFactory, stub_env: dict[str, str]) -> list[dict]:
    workdir = tmp_path_factory.mktemp("configure")
    kubeconfig = workdir / "kubeconfig.yaml"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncurrent-context: prod\n")
    extra = {"awx_execution_environment_image": "registry.example.com/scalarops-pitr-ee:0.1.0", "awx_aws_credential": "AWS prod",
             "awx_azure_credential": "Azure prod", "awx_kubeconfig_credential": "Kube prod", "awx_kubeconfig_file": str(kubeconfig)}
    result = subprocess.run([str(VENV_BIN / "ansible-playbook"), str(AWX / "configure_awx.yml"), "-e", json.dumps(extra)],
                            cwd=workdir, env=stub_env, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    log = Path(stub_env["AWX_STUB_LOG"])
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    log.unlink()
    return calls


def _calls(calls: list[dict], module: str) -> list[dict]:
    return [c["params"] for c in calls if c["module"] == module]


def test_configure_awx_registers_the_credential_type_untemplated(awx_calls: list[dict]) -> None:
    (registered,) = _calls(awx_calls, "credential_type")
    (expected,) = CREDENTIAL_TYPES
    # AWX renders the injectors: Ansible must pass "{{ tower.filename }}" through as text.
    assert registered["injectors"] == expected["injectors"]
    assert registered["injectors"]["env"]["K8S_AUTH_KUBECONFIG"] == "{{ tower.filename }}"
    assert registered["inputs"] == expected["inputs"] and registered["kind"] == "cloud"
    (credential,) = _calls(awx_calls, "credential")
    assert credential["credential_type"] == KUBECONFIG_TYPE and credential["name"] == "Kube prod"
    assert credential["inputs"] == {"kubeconfig": "apiVersion: v1\nkind: Config\ncurrent-context: prod"}


def test_configure_awx_registers_a_job_template_per_playbook(awx_calls: list[dict]) -> None:
    (ee,) = _calls(awx_calls, "execution_environment")
    (project,) = _calls(awx_calls, "project")
    (inventory,) = _calls(awx_calls, "inventory")
    assert ee["image"] == "registry.example.com/scalarops-pitr-ee:0.1.0"
    assert project["default_environment"] == ee["name"] and project["scm_type"] == "git"
    templates = {t["name"]: t for t in _calls(awx_calls, "job_template")}
    assert len(templates) == len(PLAYBOOKS)
    credentials = {"aws": ["Kube prod", "AWS prod"], "azure": ["Kube prod", "Azure prod"], "none": ["Kube prod"]}
    for config in TEMPLATES:
        registered = templates[config["name"]]
        # The path AWX looks up in the project (this repository): the wrapper of the playbook.
        assert (REPO_ROOT / registered["playbook"]) == AWX / "playbooks" / f"{config['playbook']}.yml"
        assert registered["project"] == project["name"] and registered["inventory"] == inventory["name"]
        assert registered["execution_environment"] == ee["name"]
        assert registered["credentials"] == credentials[config["cloud"]]
        assert registered["ask_variables_on_launch"] is True and registered["survey_enabled"] is True
        assert registered["extra_vars"] == config["extra_vars"]
        assert registered["survey_spec"]["spec"] == config["survey"]
        assert _awx_survey_errors(registered["survey_spec"]) == []


def test_configure_awx_refuses_to_run_without_an_image(tmp_path: Path, stub_env: dict[str, str]) -> None:
    """The settings check runs before anything is registered."""
    result = subprocess.run([str(VENV_BIN / "ansible-playbook"), str(AWX / "configure_awx.yml")], cwd=tmp_path, env=stub_env,
                            capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode != 0
    assert "Set awx_execution_environment_image" in result.stdout, result.stdout + result.stderr
    assert not Path(stub_env["AWX_STUB_LOG"]).exists()
