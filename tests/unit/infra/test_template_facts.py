"""Focused facts about the generated templates: security, resilience and routing wiring."""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
from typing import Any

import pytest

from infra import platform
from infra.access_logs import ELB_LOG_ACCOUNTS, LOG_DELIVERY_SERVICE
from infra.components import COMPONENTS, HEALTH_CHECK_PATH, WEB_COMPONENTS
from infra.redis_acl import USERS_BY_COMPONENT
from routing.alb.production import INTERNAL_PATHS, PIN_HEADER
from routing.table.loader import load_table

from .cfn_eval import deployed
from .conftest import FROZEN_ROUTES

Template = dict[str, Any]


# Reading a secret: kms:Decrypt on its key, only through Secrets Manager in this Region.
DECRYPT_VIA_SECRETS_MANAGER = {
    "Effect": "Allow", "Action": "kms:Decrypt", "Resource": {"Ref": "AppDataKeyArn"},
    "Condition": {"StringEquals": {
        "kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}}}


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in role["Properties"].get("Policies", [])
            for s in p["PolicyDocument"]["Statement"]]


def actions_of(role: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for statement in statements(role):
        action = statement["Action"]
        found.update([action] if isinstance(action, str) else action)
    return found


def test_only_the_dispatcher_role_may_publish_to_sns(templates: dict[str, Template]) -> None:
    roles = resources(templates["services"], "AWS::IAM::Role")
    publishers = {name for name, role in roles.items()
                  if any(a.startswith("sns:") or a == "*" for a in actions_of(role))}
    assert publishers == {"DispatcherTaskRole"}
    assert actions_of(roles["DispatcherTaskRole"]) == {"sns:Publish"}
    assert "ManagedPolicyArns" not in roles["DispatcherTaskRole"]["Properties"]


def _sns_effect(statements: list[dict[str, Any]], resource: str) -> str:
    """IAM's answer for sns:Publish on resource (a direct SMS publish has none: "*"): an explicit
    Deny wins, then an Allow, else the implicit deny."""
    def covers(patterns: object) -> bool:
        values = patterns if isinstance(patterns, list) else [patterns]
        return any(fnmatch.fnmatchcase(resource, str(v).replace("${AWS::Partition}", "aws"))
                   for v in values)

    def applies(statement: dict[str, Any]) -> bool:
        if "NotResource" in statement:
            return not covers(statement["NotResource"]["Fn::Sub"])
        target = statement["Resource"]
        return covers(target["Fn::Sub"] if isinstance(target, dict) else target)

    matching = [s["Effect"] for s in statements if applies(s)]
    return "Deny" if "Deny" in matching or not matching else "Allow"


def test_the_dispatcher_publishes_sms_to_phone_numbers_but_never_to_a_topic(
        templates: dict[str, Template]) -> None:
    roles = resources(templates["services"], "AWS::IAM::Role")
    sms = statements(roles["DispatcherTaskRole"])
    assert all(s["Action"] == "sns:Publish" for s in sms)
    assert _sns_effect(sms, "*") == "Allow"  # Publish with PhoneNumber
    for arn in ("arn:aws:sns:us-east-1:123456789012:any-topic",
                "arn:aws:sns:eu-west-1:210987654321:other-account",
                "arn:aws:sns:us-east-1:123456789012:endpoint/GCM/app/0b5f"):
        assert _sns_effect(sms, arn) == "Deny", arn
    assert {"Effect": "Deny", "Action": "sns:Publish", "Sid": "NoTopics",
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}} in sms


def test_other_task_roles_hold_no_permissions(templates: dict[str, Template]) -> None:
    roles = resources(templates["services"], "AWS::IAM::Role")
    for component in COMPONENTS:
        role = roles[f"{component.title}TaskRole"]["Properties"]
        if component.name != "dispatcher" and not component.is_web:
            assert "Policies" not in role and "ManagedPolicyArns" not in role, component.name


def test_only_the_web_task_roles_read_the_keyring_and_nothing_else(
        templates: dict[str, Template]) -> None:
    roles = resources(templates["services"], "AWS::IAM::Role")
    assert {c.name for c in WEB_COMPONENTS} == {"monolith", "send", "verify"}
    for component in WEB_COMPONENTS:
        role = roles[f"{component.title}TaskRole"]
        assert statements(role) == [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                     "Resource": {"Ref": "KeyringSecretArn"}},
                                    DECRYPT_VIA_SECRETS_MANAGER], component.name
        assert "ManagedPolicyArns" not in role["Properties"]


def test_the_keyring_secret_starts_empty_and_its_arn_reaches_the_web_tasks(
        templates: dict[str, Template]) -> None:
    secret = templates["cache"]["Resources"]["KeyringSecret"]["Properties"]
    assert json.loads(secret["SecretString"]) == {"version": 1, "keys": []}
    assert "./dev keys create NAME --secret-arn ARN" in json.dumps(secret["Description"])
    assert templates["cache"]["Outputs"]["KeyringSecretArn"]["Value"] == {"Ref": "KeyringSecret"}
    web = {f"{c.title}TaskDefinition" for c in WEB_COMPONENTS}
    for name, task in resources(templates["services"], "AWS::ECS::TaskDefinition").items():
        [container] = task["Properties"]["ContainerDefinitions"]
        environment = {e["Name"]: e["Value"] for e in container["Environment"]}
        expected = {"Ref": "KeyringSecretArn"} if name in web else None
        assert environment.get("KEYRING_SECRET_ARN") == expected, name
        assert "KEYRING_SECRET_ARN" not in {s["Name"] for s in container["Secrets"]}


def test_secrets_come_through_the_execution_roles_only(templates: dict[str, Template]) -> None:
    roles = resources(templates["services"], "AWS::IAM::Role")
    readers = {n for n, r in roles.items() if "secretsmanager:GetSecretValue" in actions_of(r)}
    keyring_readers = {f"{c.title}TaskRole" for c in WEB_COMPONENTS}  # the test above
    assert readers == {*(f"{c.title}ExecutionRole" for c in COMPONENTS), *keyring_readers}
    tasks = resources(templates["services"], "AWS::ECS::TaskDefinition")
    for component in COMPONENTS:
        # Each execution role reads the pepper and its own component's Redis secret, no other.
        statement, decrypt = statements(roles[f"{component.title}ExecutionRole"])
        assert statement["Resource"] == [{"Ref": "CodePepperSecretArn"},
                                         {"Ref": f"{component.title}RedisSecretArn"}]
        assert decrypt == DECRYPT_VIA_SECRETS_MANAGER
        task = tasks[f"{component.title}TaskDefinition"]["Properties"]
        assert task["ExecutionRoleArn"] == {
            "Fn::GetAtt": [f"{component.title}ExecutionRole", "Arn"]}
        [container] = task["ContainerDefinitions"]
        assert container["Secrets"] == [
            {"Name": "CODE_PEPPER", "ValueFrom": {"Ref": "CodePepperSecretArn"}},
            {"Name": "REDIS_PASSWORD", "ValueFrom": {
                "Fn::Sub": "${" + component.title + "RedisSecretArn}:password::"}}]
        environment = {e["Name"]: e["Value"] for e in container["Environment"]}
        assert "CODE_PEPPER" not in environment
        # The component's own Redis user (infra/redis_acl.py), named in the URL.
        assert environment["REDIS_URL"] == {
            "Fn::Sub": f"rediss://{component.name}@${{CacheAddress}}:${{CachePort}}/0"}


def test_a_redis_user_per_component_with_its_declared_access_string(
        templates: dict[str, Template]) -> None:
    cache = templates["cache"]
    users = resources(cache, "AWS::ElastiCache::User")
    assert set(users) == {*(f"{c.title}RedisUser" for c in COMPONENTS), "CacheDefaultUser"}
    for component in COMPONENTS:
        props = users[f"{component.title}RedisUser"]["Properties"]
        declared = USERS_BY_COMPONENT[component.name]
        assert (props["UserName"], props["AccessString"]) == (declared.name,
                                                               declared.access_string)
        assert props["UserId"] == {"Fn::Sub": "${AWS::StackName}-" + component.name}
        secret = f"{component.title}RedisSecret"
        assert props["AuthenticationMode"] == {"Type": "password", "Passwords": [{
            "Fn::Sub": "{{resolve:secretsmanager:${" + secret + "}:SecretString:password}}"}]}
        generated = cache["Resources"][secret]["Properties"]["GenerateSecretString"]
        assert json.loads(generated["SecretStringTemplate"]) == {"username": declared.name}
        assert (generated["GenerateStringKey"], generated["ExcludePunctuation"]) == (
            "password", True)
        assert cache["Outputs"][f"{secret}Arn"]["Value"] == {"Ref": secret}
    default = users["CacheDefaultUser"]["Properties"]
    assert (default["UserName"], default["AccessString"]) == ("default", "off -@all")
    [group] = resources(cache, "AWS::ElastiCache::UserGroup").values()
    assert sorted(group["Properties"]["UserIds"], key=str) == sorted(
        ({"Ref": name} for name in users), key=str)
    assert {u["Properties"]["Engine"] for u in users.values()} == {
        group["Properties"]["Engine"]} == {"redis"}  # a redis group serves both engines


def test_cache_security_group_admits_only_the_task_group(templates: dict[str, Template]) -> None:
    cache = templates["cache"]
    [group] = resources(cache, "AWS::EC2::SecurityGroup").values()
    assert group["Properties"]["SecurityGroupIngress"] == [{
        "IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379,
        "SourceSecurityGroupId": {"Ref": "TaskSecurityGroupId"},
        "Description": "tasks to Redis"}]
    assert not resources(cache, "AWS::EC2::SecurityGroupIngress")


def test_cache_encrypts_in_transit_and_requires_a_user(
        templates: dict[str, Template]) -> None:
    cache = templates["cache"]
    groups = resources(cache, "AWS::ElastiCache::ReplicationGroup")
    # one per node-based CacheMode (replication-group, cluster); Conditions create one at most
    assert set(groups) == {"CacheReplicationGroup", "CacheClusterReplicationGroup"}
    for name, group in groups.items():
        props = group["Properties"]
        assert props["TransitEncryptionEnabled"] is True, name
        assert props["AtRestEncryptionEnabled"] is True, name
        assert "AuthToken" not in props  # RBAC instead: the user group, whose default user is off
        assert props["UserGroupIds"] == [{"Ref": "CacheUserGroup"}], name
        assert props["Engine"] == {"Ref": "CacheEngine"}, name
        assert props["CacheSubnetGroupName"] == {"Ref": "CacheSubnetGroup"}, name
        assert props["SecurityGroupIds"] == [{"Ref": "CacheSecurityGroup"}], name
    assert cache["Parameters"]["CacheEngine"]["AllowedValues"] == ["redis", "valkey"]
    # ElastiCache Serverless has TLS in transit always on (no property to turn it off): the same
    # users and group are all it needs.
    [serverless] = resources(cache, "AWS::ElastiCache::ServerlessCache").values()
    assert serverless["Properties"]["UserGroupId"] == {"Ref": "CacheUserGroup"}
    assert serverless["Properties"]["SecurityGroupIds"] == [{"Ref": "CacheSecurityGroup"}]


def test_every_service_rolls_back_on_a_failed_deployment(templates: dict[str, Template]) -> None:
    services = resources(templates["services"], "AWS::ECS::Service")
    assert len(services) == len(COMPONENTS)
    for service in services.values():
        config = service["Properties"]["DeploymentConfiguration"]
        assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
        network = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"


def test_web_services_sit_behind_their_target_group(templates: dict[str, Template]) -> None:
    services = resources(templates["services"], "AWS::ECS::Service")
    for component in COMPONENTS:
        props = services[f"{component.title}Service"]["Properties"]
        if component.is_web:
            assert props["LoadBalancers"] == [{
                "ContainerName": component.name, "ContainerPort": component.port,
                "TargetGroupArn": {"Ref": f"{component.title}TargetGroupArn"}}]
        else:
            assert "LoadBalancers" not in props


def test_one_target_group_per_web_component_checks_readyz(templates: dict[str, Template]) -> None:
    groups = resources(templates["platform"], "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert {g["Properties"]["Port"] for g in groups.values()} == {c.port for c in WEB_COMPONENTS}
    for group in groups.values():
        assert group["Properties"]["HealthCheckPath"] == HEALTH_CHECK_PATH
        assert group["Properties"]["TargetType"] == "ip"


def test_the_route_tables_algorithm_is_the_target_groups_attribute(
        templates: dict[str, Template]) -> None:
    def algorithms(template: Template) -> dict[str, str]:
        groups = resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
        return {name: next(a["Value"] for a in g["Properties"]["TargetGroupAttributes"]
                           if a["Key"] == "load_balancing.algorithm.type")
                for name, g in groups.items()}

    assert set(algorithms(templates["platform"]).values()) == {"round_robin"}
    table = load_table(FROZEN_ROUTES)
    groups = tuple(dataclasses.replace(g, algorithm="least_outstanding_requests")
                   if g.name == "send" else g for g in table.target_groups)
    built = platform.build(dataclasses.replace(table, target_groups=groups)).to_dict()
    assert algorithms(built) == {"MonolithTargetGroup": "round_robin",
                                 "SendTargetGroup": "least_outstanding_requests",
                                 "VerifyTargetGroup": "round_robin"}


def test_listener_rules_follow_the_route_table_with_weight_parameters(
        templates: dict[str, Template]) -> None:
    platform = templates["platform"]
    rules = resources(platform, "AWS::ElasticLoadBalancingV2::ListenerRule")
    # The table's 1, 2, 3, 10, 20, one higher: priority 1 is the internal-paths rule.
    assert {r["Properties"]["Priority"] for r in rules.values()} == {1, 2, 3, 4, 11, 21}
    for rule in rules.values():
        assert rule["Properties"]["ListenerArn"] == {"Fn::If": [
            "HasCertificate", {"Ref": "HttpsListener"}, {"Ref": "HttpListener"}]}
    [verifications] = [r for r in rules.values() if r["Properties"]["Priority"] == 11]
    groups = verifications["Properties"]["Actions"][0]["ForwardConfig"]["TargetGroups"]
    weights = {g["TargetGroupArn"]["Ref"]: g["Weight"]["Ref"] for g in groups}
    assert weights == {"MonolithTargetGroup": "VerificationsRuleWeightMonolith",
                       "SendTargetGroup": "VerificationsRuleWeightSend"}
    parameters = platform["Parameters"]
    assert parameters["VerificationsRuleWeightMonolith"]["Default"] == 100
    assert parameters["VerificationsRuleWeightSend"]["Default"] == 0
    assert parameters["VerificationsRuleWeightSend"]["MaxValue"] == 999
    # A single-group forward (a pin) keeps its literal weight: there is nothing to shift.
    [pin] = [r for r in rules.values() if r["Properties"]["Priority"] == 2]
    [only] = pin["Properties"]["Actions"][0]["ForwardConfig"]["TargetGroups"]
    assert only["Weight"] == 1


def test_a_5xx_alarm_per_target_group_is_an_output(templates: dict[str, Template]) -> None:
    platform = templates["platform"]
    alarms = resources(platform, "AWS::CloudWatch::Alarm")
    assert len(alarms) == len(WEB_COMPONENTS)
    for component in WEB_COMPONENTS:
        alarm = alarms[f"{component.title}Target5xxAlarm"]["Properties"]
        assert alarm["MetricName"] == "HTTPCode_Target_5XX_Count"
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert dimensions["TargetGroup"] == {
            "Fn::GetAtt": [f"{component.title}TargetGroup", "TargetGroupFullName"]}
        assert platform["Outputs"][f"{component.title}AlarmName"]["Value"] == {
            "Ref": f"{component.title}Target5xxAlarm"}
    for name in ("AlbUrl", "ListenerArn", "MonolithTargetGroupArn", "SendTargetGroupArn"):
        assert name in platform["Outputs"]


def test_autoscaling_on_cpu_for_all_and_on_requests_for_web(templates: dict[str, Template]) -> None:
    policies = resources(templates["services"], "AWS::ApplicationAutoScaling::ScalingPolicy")
    kinds = {name: p["Properties"]["TargetTrackingScalingPolicyConfiguration"][
        "PredefinedMetricSpecification"]["PredefinedMetricType"] for name, p in policies.items()}
    for component in COMPONENTS:
        assert kinds[f"{component.title}CpuScaling"] == "ECSServiceAverageCPUUtilization"
        expected = "ALBRequestCountPerTarget" if component.is_web else None
        assert kinds.get(f"{component.title}RequestScaling") == expected


def test_log_groups_have_retention_and_the_app_key(templates: dict[str, Template]) -> None:
    groups = resources(templates["platform"], "AWS::Logs::LogGroup")
    assert len(groups) == len(COMPONENTS)
    assert all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
               for g in groups.values())
    assert all(g["Properties"]["KmsKeyId"] == {"Ref": "AppDataKeyArn"} for g in groups.values())
    assert templates["platform"]["Parameters"]["AppDataKeyArn"]["Description"].startswith(
        "cache: AppDataKeyArn")


def test_the_app_key_encrypts_every_secret_rotates_and_serves_only_this_accounts_logs(
        templates: dict[str, Template]) -> None:
    cache = templates["cache"]
    [(name, key)] = resources(cache, "AWS::KMS::Key").items()
    assert key["Properties"]["EnableKeyRotation"] is True
    assert cache["Outputs"]["AppDataKeyArn"]["Value"] == {"Fn::GetAtt": [name, "Arn"]}
    secrets = resources(cache, "AWS::SecretsManager::Secret")
    assert set(secrets) == {"CodePepperSecret", "KeyringSecret", "CacheDefaultUserSecret",
                            *(f"{c.title}RedisSecret" for c in COMPONENTS)}
    assert all(s["Properties"]["KmsKeyId"] == {"Ref": name} for s in secrets.values())
    admin, logs = key["Properties"]["KeyPolicy"]["Statement"]
    assert admin["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    assert logs["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}
    assert logs["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"}}}
    assert "kms:*" not in logs["Action"] and "kms:CreateGrant" not in logs["Action"]


def test_tasks_run_in_private_subnets_and_the_alb_in_public_ones(
        templates: dict[str, Template]) -> None:
    network = templates["network"]
    subnets = resources(network, "AWS::EC2::Subnet")
    public = {n for n, s in subnets.items() if s["Properties"]["MapPublicIpOnLaunch"]}
    assert public == {"PublicSubnet1", "PublicSubnet2"}
    azs = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}
    assert len(azs) == 2
    endpoints = resources(network, "AWS::EC2::VPCEndpoint")
    services = {json.dumps(e["Properties"]["ServiceName"]) for e in endpoints.values()}
    for service in ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "sns", "s3"):
        assert any(service + '"' in s for s in services), service
    assert all(e["Condition"] == "UseEndpoints" for e in endpoints.values())


def test_tasks_admit_only_the_alb_on_their_ports(templates: dict[str, Template]) -> None:
    network = templates["network"]
    ingress = resources(network, "AWS::EC2::SecurityGroupIngress")
    to_tasks = [i["Properties"] for i in ingress.values()
                if i["Properties"]["GroupId"] == {"Ref": "TaskSecurityGroup"}]
    assert sorted(i["FromPort"] for i in to_tasks) == sorted(
        c.port for c in WEB_COMPONENTS if c.port is not None)
    assert all(i["SourceSecurityGroupId"] == {"Ref": "AlbSecurityGroup"} for i in to_tasks)
    task_group = network["Resources"]["TaskSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in task_group


# --- closed by default: the stacks as CloudFormation would create them for given parameters ---

def _of_type(created: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in created.items() if r["Type"] == kind}


def _rules_on(created: dict[str, Any], listener: str) -> list[dict[str, Any]]:
    rules = _of_type(created, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    return [r["Properties"] for r in rules if r["Properties"]["ListenerArn"] == {"Ref": listener}]


def _forwards(actions: list[dict[str, Any]]) -> bool:
    return any(a["Type"] == "forward" for a in actions)


CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0b5f"
OPERATORS = "203.0.113.0/24,2001:db8::/32"


@pytest.mark.parametrize("allow_plain_http", ["false", "true"])
@pytest.mark.parametrize("operators", ["", OPERATORS])
def test_plain_http_never_serves_the_api_unless_allowed_and_without_a_certificate(
        templates: dict[str, Template], allow_plain_http: str, operators: str) -> None:
    platform = templates["platform"]
    for certificate in ("", CERTIFICATE):
        created = deployed(platform, CertificateArn=certificate, AllowPlainHttp=allow_plain_http,
                           OperatorCidrs=operators)
        listeners = _of_type(created, "AWS::ElasticLoadBalancingV2::Listener")
        http = listeners["HttpListener"]["Properties"]["DefaultActions"]
        plain_http_serves = not certificate and allow_plain_http == "true"
        assert _forwards(http) == plain_http_serves
        assert any(_forwards(r["Actions"]) for r in _rules_on(created, "HttpListener")) == \
            plain_http_serves
        if certificate:  # HTTPS serves; HTTP only redirects, AllowPlainHttp or not
            assert http == [{"Type": "redirect", "RedirectConfig": {
                "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]
            https = listeners["HttpsListener"]["Properties"]
            assert https["Certificates"] == [{"CertificateArn": CERTIFICATE}]
            assert _forwards(https["DefaultActions"]) and _rules_on(created, "HttpsListener")
        elif not plain_http_serves:
            assert set(listeners) == {"HttpListener"}
            [closed] = http
            assert closed["FixedResponseConfig"]["StatusCode"] == "403"
            assert json.loads(closed["FixedResponseConfig"]["MessageBody"])["code"] == \
                "https_required"


def _is_pin(rule: dict[str, Any]) -> bool:
    return any(c["Field"] == "http-header" and c["HttpHeaderConfig"]["HttpHeaderName"] ==
               PIN_HEADER for c in rule["Conditions"])


def test_pin_rules_exist_only_with_operator_cidrs_and_only_for_those_addresses(
        templates: dict[str, Template]) -> None:
    platform = templates["platform"]
    closed = deployed(platform, CertificateArn=CERTIFICATE)
    assert not [r for r in _rules_on(closed, "HttpsListener") if _is_pin(r)]
    assert _rules_on(closed, "HttpsListener")  # the other rules are there
    opened = deployed(platform, CertificateArn=CERTIFICATE, OperatorCidrs=OPERATORS)
    pins = [r for r in _rules_on(opened, "HttpsListener") if _is_pin(r)]
    assert len(pins) == 3
    for pin in pins:
        [source] = [c for c in pin["Conditions"] if c["Field"] == "source-ip"]
        assert source["SourceIpConfig"]["Values"] == ["203.0.113.0/24", "2001:db8::/32"]
        assert sum(len(next(v for k, v in c.items() if k.endswith("Config"))["Values"])
                   for c in pin["Conditions"]) <= 5  # ALB's condition values per rule


def test_operator_cidrs_must_be_cidr_blocks_and_fit_every_pin_rule(
        templates: dict[str, Template]) -> None:
    parameter = templates["platform"]["Parameters"]["OperatorCidrs"]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    for accepted in ("", "203.0.113.0/24", "10.0.0.0/8,192.0.2.7/32,2001:db8::/32"):
        assert pattern.fullmatch(accepted), accepted
    # the shipped pins spend up to 2 of a rule's 5 condition values: 3 CIDRs at most
    for refused in ("10.0.0.0/8,10.1.0.0/16,10.2.0.0/16,10.3.0.0/16", "10.0.0.0/8, 10.1.0.0/16",
                    "10.0.0.1", "anywhere", "0.0.0.0/0;"):
        assert not pattern.fullmatch(refused), refused


def test_internal_paths_answer_404_before_any_other_rule(templates: dict[str, Template]) -> None:
    created = deployed(templates["platform"], AllowPlainHttp="true", OperatorCidrs=OPERATORS)
    rules = sorted(_rules_on(created, "HttpListener"), key=lambda r: r["Priority"])
    first, *others = rules
    assert first["Priority"] == 1 and all(r["Priority"] > 1 for r in others)
    [paths] = first["Conditions"]
    assert paths == {"Field": "path-pattern", "PathPatternConfig": {"Values": list(INTERNAL_PATHS)}}
    [action] = first["Actions"]
    assert action["FixedResponseConfig"]["StatusCode"] == "404"
    for path in ("/metrics", "/metrics/", "/openapi.json", "/docs", "/docs/oauth2-redirect",
                 "/redoc"):
        assert any(fnmatch.fnmatchcase(path, v) for v in INTERNAL_PATHS), path
    for path in ("/api/verifications", "/api/users/US1", "/readyz", "/"):
        assert not any(fnmatch.fnmatchcase(path, v) for v in INTERNAL_PATHS), path


def test_alb_access_logs_go_to_a_private_encrypted_expiring_bucket(
        templates: dict[str, Template]) -> None:
    platform = templates["platform"]
    bucket = platform["Resources"]["AccessLogsBucket"]
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    [rule] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}  # SSE-S3
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    expiry, markers = props["LifecycleConfiguration"]["Rules"]
    assert expiry["Status"] == "Enabled" and markers["Status"] == "Enabled"
    assert expiry["ExpirationInDays"] == {"Ref": "AccessLogRetentionDays"}
    assert expiry["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": {"Ref": "AccessLogRetentionDays"}}  # a deleted log stays that long
    assert markers["ExpiredObjectDeleteMarker"] is True
    balancer = platform["Resources"]["LoadBalancer"]
    attributes = {a["Key"]: a["Value"] for a in balancer["Properties"]["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": "AccessLogsBucket"}
    assert balancer["DependsOn"] == "AccessLogsBucketPolicy"


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-3", "eu-central-2"])
def test_only_elb_log_delivery_may_write_the_logs_and_only_over_tls(
        templates: dict[str, Template], region: str) -> None:
    created = deployed(templates["platform"], region=region)
    document = created["AccessLogsBucketPolicy"]["Properties"]["PolicyDocument"]
    write, tls = document["Statement"]
    assert write["Effect"] == "Allow" and write["Action"] == "s3:PutObject"
    assert write["Resource"] == {"Fn::Sub": "${AccessLogsBucket.Arn}/AWSLogs/${AWS::AccountId}/*"}
    if region in ELB_LOG_ACCOUNTS:  # Regions opened before August 2022: the regional ELB account
        assert write["Principal"] == {"AWS": {"Fn::Sub": [
            "arn:${AWS::Partition}:iam::${Account}:root",
            {"Account": ELB_LOG_ACCOUNTS[region]}]}}
    else:
        assert write["Principal"] == {"Service": LOG_DELIVERY_SERVICE}
    assert tls["Effect"] == "Deny" and tls["Principal"] == "*"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize(("engine", "family"), [("valkey", "valkey8"), ("redis", "redis7")])
@pytest.mark.parametrize(("mode", "group_name", "cluster_enabled"), [
    ("replication-group", "CacheReplicationGroup", {}),
    ("cluster", "CacheClusterReplicationGroup", {"cluster-enabled": "yes"})])
def test_the_node_based_caches_never_evict(
        templates: dict[str, Template], engine: str, family: str, mode: str, group_name: str,
        cluster_enabled: dict[str, str]) -> None:
    created = deployed(templates["cache"], CacheEngine=engine, CacheMode=mode)
    [(parameter_group, group)] = _of_type(created, "AWS::ElastiCache::ParameterGroup").items()
    assert group["Properties"]["Properties"] == {"maxmemory-policy": "noeviction",
                                                 **cluster_enabled}
    assert group["Properties"]["CacheParameterGroupFamily"] == family
    [(name, replication)] = _of_type(created, "AWS::ElastiCache::ReplicationGroup").items()
    assert name == group_name
    assert replication["Properties"]["CacheParameterGroupName"] == {"Ref": parameter_group}
    assert replication["Properties"]["Engine"] == engine


def test_an_alarm_per_cache_node_watches_its_memory(templates: dict[str, Template]) -> None:
    cache = templates["cache"]
    created = deployed(cache)  # CacheMode replication-group; cache_modes tests the others
    alarms = _of_type(created, "AWS::CloudWatch::Alarm")
    [group] = _of_type(created, "AWS::ElastiCache::ReplicationGroup").values()
    assert len(alarms) == group["Properties"]["NumCacheClusters"] == 2
    nodes = set()
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert (props["Namespace"], props["MetricName"]) == (
            "AWS/ElastiCache", "DatabaseMemoryUsagePercentage")
        assert props["ComparisonOperator"] == "GreaterThanThreshold"
        assert props["Threshold"] == 80  # CacheMemoryAlarmPercent's default
        [dimension] = props["Dimensions"]
        assert dimension["Name"] == "CacheClusterId"
        nodes.add(dimension["Value"]["Fn::Sub"])
    assert nodes == {"${CacheReplicationGroup}-001", "${CacheReplicationGroup}-002"}
    assert cache["Parameters"]["CacheMemoryAlarmPercent"]["Default"] == 80


def test_tasks_cannot_reach_the_instance_metadata_service(templates: dict[str, Template]) -> None:
    created = deployed(templates["platform"], CapacityProvider="EC2")
    data = created["Ec2LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert "ECS_AWSVPC_BLOCK_IMDS=true" in data["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert data["MetadataOptions"] == {"HttpEndpoint": "enabled", "HttpTokens": "required",
                                       "HttpPutResponseHopLimit": 1}
    # awsvpc everywhere, so the agent's block applies to every task placed on EC2
    for task in resources(templates["services"], "AWS::ECS::TaskDefinition").values():
        assert task["Properties"]["NetworkMode"] == "awsvpc"
    assert "Ec2LaunchTemplate" not in deployed(templates["platform"])  # Fargate: no IMDS
