"""deploy.sh against moto's server mode: AWS itself cannot be reached from here, so moto stands in
for it (with the CloudFormation gaps closed in moto_cfn_server.py, each explained there). Images
are not built (--skip-build): no registry is reachable for a base image.

The first deploy creates the four stacks closed (plain HTTP answers 403, no rules), a second one
opens them for a demo (AllowPlainHttp, OperatorCidrs), a third with the same settings must change
nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from devtools.processes import HttpReady, ProcessSpec, running
from devtools.redis_server import free_port

ROOT = Path(__file__).resolve().parents[3]
REGION = "us-east-1"
STACK = "kit"
IMAGE_TAG = "0123456789ab"
STACKS = [f"{STACK}-{name}" for name in ("network", "cache", "platform", "services")]
TABLE = ROOT / "tests" / "unit" / "routing" / "tables" / "shipped.toml"  # never the live one

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    spec = ProcessSpec("moto", (sys.executable, "-m", "tests.integration.infra.moto_cfn_server",
                                "-H", "127.0.0.1", "-p", str(port)),
                       env={"PYTHONPATH": str(ROOT)}, port=port,
                       ready=HttpReady(f"{url}/moto-api/", lambda status: status < 500))
    with running(spec, timeout=30):
        yield url


def aws_env(tmp_path: Path, endpoint: str | None) -> dict[str, str]:
    """Dummy credentials only, never the machine's own AWS configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=str(tmp_path / "no-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
               IMAGE_TAG=IMAGE_TAG, BUILD_DIR=str(tmp_path / "cfn"), ROUTING_TABLE=str(TABLE),
               PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint  # belt and braces: nothing may reach real AWS
    return env


def deploy(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / "deploy.sh"), REGION, STACK, *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=150, check=False)


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint,  # type: ignore[call-overload]
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def snapshot(endpoint: str) -> dict[str, Any]:
    cfn = client("cloudformation", endpoint)
    return {name: (cfn.describe_stacks(StackName=name)["Stacks"][0].get("LastUpdatedTime"),
                   len(cfn.describe_stack_events(StackName=name)["StackEvents"]),
                   sorted(str((r.get("LogicalResourceId"), r.get("PhysicalResourceId"))) for r in
                          cfn.describe_stack_resources(StackName=name)["StackResources"]))
            for name in STACKS}


def outputs(endpoint: str, stack: str) -> dict[str, str]:
    described = client("cloudformation", endpoint).describe_stacks(StackName=stack)
    return {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0]["Outputs"]}


OPEN_FOR_A_DEMO = ("--set", "AllowPlainHttp=true", "--set", "OperatorCidrs=203.0.113.0/24")


def test_deploy_creates_closed_stacks_opens_them_when_asked_then_a_rerun_changes_nothing(
        moto_url: str, tmp_path: Path) -> None:
    env = aws_env(tmp_path, moto_url)
    first = deploy(env, "--skip-build", "--endpoint-url", moto_url)
    assert first.returncode == 0, first.stdout + first.stderr
    for index, name in enumerate(STACKS, start=1):
        assert f"[{index}/4] stack {name}" in first.stdout
    assert "get-login" not in first.stdout  # nothing about images with --skip-build

    platform = outputs(moto_url, f"{STACK}-platform")
    elbv2 = client("elbv2", moto_url)
    [balancer] = elbv2.describe_load_balancers()["LoadBalancers"]
    assert platform["AlbUrl"] == f"http://{balancer['DNSName']}"
    assert f"deployed: {platform['AlbUrl']}" in first.stdout

    # Closed by default: no certificate, no AllowPlainHttp, so plain HTTP answers 403 and no rule
    # forwards anything.
    [listener] = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    assert listener["ListenerArn"] == platform["ListenerArn"] and listener["Port"] == 80
    [closed] = listener["DefaultActions"]
    assert closed["Type"] == "fixed-response"
    assert closed["FixedResponseConfig"]["StatusCode"] == "403"
    rules = elbv2.describe_rules(ListenerArn=platform["ListenerArn"])["Rules"]
    assert [r["Priority"] for r in rules] == ["default"]

    # Access logs go to the stack's encrypted bucket. (moto's CloudFormation ignores a load
    # balancer's attributes and a bucket's public access block and versioning: the template facts
    # check those.)
    s3 = client("s3", moto_url)
    bucket = platform["AccessLogsBucketName"]
    [rule] = s3.get_bucket_encryption(Bucket=bucket)[
        "ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    # us-east-1 opened before August 2022: its ELB account delivers the logs
    policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    assert "arn:aws:iam::127311923021:root" in policy

    # The cache stack's key encrypts the app's secrets. (moto's CloudFormation drops a log group's
    # KmsKeyId: the template facts check that the log groups name the key.)
    key_arn = outputs(moto_url, f"{STACK}-cache")["AppDataKeyArn"]
    key = client("kms", moto_url).describe_key(KeyId=key_arn)["KeyMetadata"]
    assert key["KeyManager"] == "CUSTOMER" and key["Enabled"]
    secrets = client("secretsmanager", moto_url).list_secrets()["SecretList"]
    assert len(secrets) == 8  # pepper, keyring, a Redis user's each (five, and the default's)
    assert {s.get("KmsKeyId") for s in secrets} == {key["KeyId"]}

    # Opened for a demo: plain HTTP serves, the pins only from the operators' addresses.
    opened = deploy(env, "--skip-build", "--endpoint-url", moto_url, *OPEN_FOR_A_DEMO)
    assert opened.returncode == 0, opened.stdout + opened.stderr
    rules = elbv2.describe_rules(ListenerArn=platform["ListenerArn"])["Rules"]
    by_priority = {r["Priority"]: r for r in rules}
    # the fixture table's 1, 2, 3, 10, 20 one higher, after the internal-paths rule
    assert set(by_priority) == {"1", "2", "3", "4", "11", "21", "default"}
    [internal] = by_priority["1"]["Actions"]
    assert internal["FixedResponseConfig"]["StatusCode"] == "404"
    for pin in ("2", "3", "4"):
        sources = [c for c in by_priority[pin]["Conditions"] if c["Field"] == "source-ip"]
        assert [c["SourceIpConfig"]["Values"] for c in sources] == [["203.0.113.0/24"]], pin
    forward = by_priority["11"]["Actions"][0]["ForwardConfig"]["TargetGroups"]
    assert {(g["TargetGroupArn"], g["Weight"]) for g in forward} == {
        (platform["MonolithTargetGroupArn"], 100), (platform["SendTargetGroupArn"], 0)}
    groups = elbv2.describe_target_groups()["TargetGroups"]
    assert sorted(g["Port"] for g in groups) == [8001, 8002, 8003]
    assert {g["HealthCheckPath"] for g in groups} == {"/readyz"}

    # Outputs passed along: services run in the platform's cluster with the cache's endpoint.
    ecs = client("ecs", moto_url)
    cluster = platform["ClusterName"]
    service_arns = ecs.list_services(cluster=cluster)["serviceArns"]
    assert len(service_arns) == 5
    cache = outputs(moto_url, f"{STACK}-cache")
    for described in ecs.describe_services(cluster=cluster, services=service_arns)["services"]:
        task = ecs.describe_task_definition(taskDefinition=described["taskDefinition"])
        [container] = task["taskDefinition"]["containerDefinitions"]
        assert container["image"].endswith(f"/strangler-kit/{container['name']}:{IMAGE_TAG}")
        environment = {e["name"]: e["value"] for e in container["environment"]}
        assert environment["REDIS_URL"] == (
            f"rediss://{container['name']}@{cache['CacheAddress']}:6379/0")
        # CacheMode replication-group (the default): cluster mode disabled, no cluster client
        assert environment["REDIS_CLUSTER"] == cache["RedisCluster"] == "0"
        # Its own Redis user's password only (the cache stack's output for that component).
        secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
        title = container["name"].capitalize()
        assert secrets["REDIS_PASSWORD"] == f"{cache[title + 'RedisSecretArn']}:password::"

    alarms = client("cloudwatch", moto_url).describe_alarms()["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in alarms) == sorted(
        [platform[f"{t}AlarmName"] for t in ("Monolith", "Send", "Verify")]
        + [cache[f"CacheNode{n}MemoryAlarmName"] for n in (1, 2)])
    elasticache = client("elasticache", moto_url)
    [group] = elasticache.describe_replication_groups()["ReplicationGroups"]
    assert group["TransitEncryptionEnabled"] is True
    assert group["ClusterEnabled"] is False  # the single-shard group: no cluster-mode one besides
    users = {u["UserName"]: u for u in elasticache.describe_users()["Users"]}
    assert users["default"]["AccessString"] == "off -@all"
    assert {"monolith", "events", "dispatcher", "send", "verify"} <= set(users)
    memory = [a for a in alarms if a["MetricName"] == "DatabaseMemoryUsagePercentage"]
    assert sorted(a["Dimensions"][0]["Value"] for a in memory) == [
        f"{group['ReplicationGroupId']}-001", f"{group['ReplicationGroupId']}-002"]

    before = snapshot(moto_url)
    second = deploy(env, "--skip-build", "--endpoint-url", moto_url, *OPEN_FOR_A_DEMO)
    assert second.returncode == 0, second.stdout + second.stderr
    for name in STACKS:
        assert f"No changes to deploy. Stack {name} is up to date" in second.stdout
    assert "Successfully created/updated" not in second.stdout
    assert snapshot(moto_url) == before
    assert f"deployed: {platform['AlbUrl']}" in second.stdout


def test_dry_run_prints_the_plan_and_touches_nothing(tmp_path: Path) -> None:
    env = aws_env(tmp_path, None)
    env["DOCKER"] = "sh"  # the dry run only checks that the client exists; it never runs it
    result = deploy(env, "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "aws ecr get-login-password | sh login --username AWS --password-stdin" in out
    assert out.count("+ sh build") == 5 and out.count("+ sh push") == 5
    assert f"strangler-kit/monolith:{IMAGE_TAG}" in out
    assert out.count("+ aws --region us-east-1 cloudformation deploy") == 4
    assert f"MonolithImageTag={IMAGE_TAG}" in out
    assert "VpcId=<kit-network:VpcId>" in out  # outputs of earlier stacks feed later ones
    assert "--no-fail-on-empty-changeset" in out
    assert "python -m infra build" in out.replace(sys.executable, "python")
    assert not (tmp_path / "cfn").exists()


def test_missing_credentials_stop_with_a_clear_error(tmp_path: Path) -> None:
    env = aws_env(tmp_path, "http://127.0.0.1:9")
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    result = deploy(env, "--skip-build")
    assert result.returncode == 1
    assert "no usable AWS credentials" in result.stderr


def test_a_missing_docker_is_reported_unless_the_build_is_skipped(tmp_path: Path) -> None:
    env = aws_env(tmp_path, "http://127.0.0.1:9")
    env["DOCKER"] = str(tmp_path / "no-such-docker")
    result = deploy(env)
    assert result.returncode == 1
    assert "is not installed: install it, set DOCKER, or pass --skip-build" in result.stderr
    assert "no usable AWS credentials" not in result.stderr  # tools are checked first


@pytest.mark.parametrize("mode", ["cluster", "serverless"])
def test_a_cluster_mode_cache_needs_the_statement_that_version_2_is_drained(
        tmp_path: Path, mode: str) -> None:
    env = aws_env(tmp_path, "http://127.0.0.1:9")  # nothing listens: it must stop before AWS
    result = deploy(env, "--skip-build", "--set", f"CacheMode={mode}")
    assert result.returncode == 1
    assert f"--set CacheMode={mode} needs --storage-v3-drained" in result.stderr
    assert "Migration from version 2" in result.stderr  # what to do first, and where it is
    assert "no usable AWS credentials" not in result.stderr
    assert not (tmp_path / "cfn").exists()  # refused before any template was built
    stated = deploy(env, "--dry-run", "--skip-build", "--storage-v3-drained",
                    "--set", f"CacheMode={mode}")
    assert stated.returncode == 0, stated.stdout + stated.stderr
    assert f"CacheMode={mode}" in stated.stdout  # passed to the cache stack
    allowed = deploy(env, "--dry-run", "--skip-build", "--set", "CacheMode=replication-group")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "CacheMode=replication-group" in allowed.stdout


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    env = aws_env(tmp_path, None)
    result = subprocess.run([str(ROOT / "deploy.sh"), "not a region", STACK], env=env,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1 and "is not an AWS region name" in result.stderr
    result = deploy(env, "--frobnicate")
    assert result.returncode == 1 and "unknown option '--frobnicate'" in result.stderr
