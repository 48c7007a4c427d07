"""Focused facts about the generated templates: security, resilience and routing wiring."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from infra import platform
from infra.components import COMPONENTS, HEALTH_CHECK_PATH, WEB_COMPONENTS
from routing.table.loader import load_table

from .conftest import FROZEN_ROUTES

Template = dict[str, Any]


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
                                     "Resource": {"Ref": "KeyringSecretArn"}}], component.name
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


def test_secrets_come_through_the_execution_role_only(templates: dict[str, Template]) -> None:
    roles = resources(templates["services"], "AWS::IAM::Role")
    readers = {n for n, r in roles.items() if "secretsmanager:GetSecretValue" in actions_of(r)}
    keyring_readers = {f"{c.title}TaskRole" for c in WEB_COMPONENTS}  # the test above
    assert readers == {"TaskExecutionRole", *keyring_readers}
    [statement] = statements(roles["TaskExecutionRole"])
    assert statement["Resource"] == [{"Ref": "CodePepperSecretArn"},
                                     {"Ref": "CacheAuthTokenSecretArn"}]
    for task in resources(templates["services"], "AWS::ECS::TaskDefinition").values():
        [container] = task["Properties"]["ContainerDefinitions"]
        assert {s["Name"] for s in container["Secrets"]} == {"CODE_PEPPER", "REDIS_AUTH_TOKEN"}
        environment = {e["Name"]: e["Value"] for e in container["Environment"]}
        assert "CODE_PEPPER" not in environment
        assert environment["REDIS_URL"] == {"Fn::Sub": "rediss://${CacheAddress}:${CachePort}/0"}


def test_cache_security_group_admits_only_the_task_group(templates: dict[str, Template]) -> None:
    cache = templates["cache"]
    [group] = resources(cache, "AWS::EC2::SecurityGroup").values()
    assert group["Properties"]["SecurityGroupIngress"] == [{
        "IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379,
        "SourceSecurityGroupId": {"Ref": "TaskSecurityGroupId"},
        "Description": "tasks to Redis"}]
    assert not resources(cache, "AWS::EC2::SecurityGroupIngress")


def test_cache_encrypts_in_transit_and_requires_the_secret_token(
        templates: dict[str, Template]) -> None:
    [group] = resources(templates["cache"], "AWS::ElastiCache::ReplicationGroup").values()
    props = group["Properties"]
    assert props["TransitEncryptionEnabled"] is True
    assert props["AtRestEncryptionEnabled"] is True
    assert props["AuthToken"] == {
        "Fn::Sub": "{{resolve:secretsmanager:${CacheAuthTokenSecret}}}"}
    assert props["Engine"] == {"Ref": "CacheEngine"}
    assert templates["cache"]["Parameters"]["CacheEngine"]["AllowedValues"] == ["redis", "valkey"]
    assert props["CacheSubnetGroupName"] == {"Ref": "CacheSubnetGroup"}


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


def test_http_redirects_to_https_only_when_a_certificate_is_given(
        templates: dict[str, Template]) -> None:
    platform = templates["platform"]
    listeners = resources(platform, "AWS::ElasticLoadBalancingV2::Listener")
    http_default = listeners["HttpListener"]["Properties"]["DefaultActions"]
    with_cert, without_cert = http_default["Fn::If"][1:]
    assert with_cert == [{"Type": "redirect", "RedirectConfig": {
        "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]
    assert without_cert[0]["Type"] == "forward"
    https = listeners["HttpsListener"]
    assert https["Condition"] == "HasCertificate"
    assert https["Properties"]["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    assert platform["Conditions"]["HasCertificate"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]}


def test_listener_rules_follow_the_route_table_with_weight_parameters(
        templates: dict[str, Template]) -> None:
    platform = templates["platform"]
    rules = resources(platform, "AWS::ElasticLoadBalancingV2::ListenerRule")
    assert {r["Properties"]["Priority"] for r in rules.values()} == {1, 2, 3, 10, 20}
    for rule in rules.values():
        assert rule["Properties"]["ListenerArn"] == {"Fn::If": [
            "HasCertificate", {"Ref": "HttpsListener"}, {"Ref": "HttpListener"}]}
    [verifications] = [r for r in rules.values() if r["Properties"]["Priority"] == 10]
    groups = verifications["Properties"]["Actions"][0]["ForwardConfig"]["TargetGroups"]
    weights = {g["TargetGroupArn"]["Ref"]: g["Weight"]["Ref"] for g in groups}
    assert weights == {"MonolithTargetGroup": "VerificationsRuleWeightMonolith",
                       "SendTargetGroup": "VerificationsRuleWeightSend"}
    parameters = platform["Parameters"]
    assert parameters["VerificationsRuleWeightMonolith"]["Default"] == 100
    assert parameters["VerificationsRuleWeightSend"]["Default"] == 0
    assert parameters["VerificationsRuleWeightSend"]["MaxValue"] == 999
    # A single-group forward (a pin) keeps its literal weight: there is nothing to shift.
    [pin] = [r for r in rules.values() if r["Properties"]["Priority"] == 1]
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


def test_log_groups_have_retention(templates: dict[str, Template]) -> None:
    groups = resources(templates["platform"], "AWS::Logs::LogGroup")
    assert len(groups) == len(COMPONENTS)
    assert all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
               for g in groups.values())


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
