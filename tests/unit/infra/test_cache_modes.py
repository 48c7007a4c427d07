"""The cache stack's CacheMode, evaluated as CloudFormation would deploy it: per mode, what is
created and what is not, the endpoint the services stack reads, the alarms and their outputs."""

from __future__ import annotations

from typing import Any

import pytest

from infra import cache_modes
from infra.components import COMPONENTS

from .cfn_eval import deployed, deployed_outputs, parameters, truth

Template = dict[str, Any]

# What every mode shares: the key, the secrets, the users and their group, the security group.
SHARED = {"AppDataKey", "CacheSecurityGroup", "CacheUserGroup", "CacheDefaultUser",
          "CacheDefaultUserSecret", "CodePepperSecret", "KeyringSecret",
          *(f"{c.title}RedisUser" for c in COMPONENTS),
          *(f"{c.title}RedisSecret" for c in COMPONENTS)}
REPLICATION_GROUP = {"CacheSubnetGroup", "CacheParameterGroup", "CacheReplicationGroup",
                     "CacheNode1MemoryAlarm", "CacheNode2MemoryAlarm"}
SERVERLESS = {"CacheServerless", "CacheServerlessDataAlarm", "CacheServerlessEcpuAlarm"}


def cluster_resources(node_groups: int) -> set[str]:
    return {"CacheSubnetGroup", "CacheClusterParameterGroup", "CacheClusterReplicationGroup",
            *(f"CacheNodeGroup{g}Node{n}MemoryAlarm" for g in range(1, node_groups + 1)
              for n in (1, 2))}


def _of_type(created: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r["Properties"] for name, r in created.items() if r["Type"] == kind}


def test_the_modes_and_their_default(templates: dict[str, Template]) -> None:
    parameter = templates["cache"]["Parameters"]["CacheMode"]
    assert parameter["AllowedValues"] == ["replication-group", "cluster", "serverless"]
    assert parameter["Default"] == "replication-group"
    # every resource of the template belongs to the shared set or to one mode
    every_mode = SHARED | REPLICATION_GROUP | SERVERLESS | cluster_resources(
        cache_modes.MAX_NODE_GROUPS)
    assert set(templates["cache"]["Resources"]) == every_mode


@pytest.mark.parametrize("given", [{}, {"CacheMode": "replication-group"}])
def test_replication_group_mode_is_the_single_shard_group_of_before(
        templates: dict[str, Template], given: dict[str, str]) -> None:
    cache = templates["cache"]
    created = deployed(cache, **given)
    assert set(created) == SHARED | REPLICATION_GROUP  # no cluster group, no serverless cache
    [group] = _of_type(created, "AWS::ElastiCache::ReplicationGroup").values()
    assert (group["NumCacheClusters"], group["AutomaticFailoverEnabled"],
            group["MultiAZEnabled"]) == (2, True, True)
    assert "NumNodeGroups" not in group and "ClusterMode" not in group  # cluster mode disabled
    outputs = deployed_outputs(cache, **given)
    assert outputs["CacheAddress"] == {
        "Fn::GetAtt": ["CacheReplicationGroup", "PrimaryEndPoint.Address"]}
    assert (outputs["CachePort"], outputs["RedisCluster"]) == ("6379", "0")


@pytest.mark.parametrize("node_groups", range(1, cache_modes.MAX_NODE_GROUPS + 1))
def test_cluster_mode_is_a_cluster_mode_group_with_an_alarm_per_node(
        templates: dict[str, Template], node_groups: int) -> None:
    cache = templates["cache"]
    given = {"CacheMode": "cluster", "CacheNodeGroups": str(node_groups)}
    created = deployed(cache, **given)
    assert set(created) == SHARED | cluster_resources(node_groups)
    [group] = _of_type(created, "AWS::ElastiCache::ReplicationGroup").values()
    assert group["ClusterMode"] == "enabled"
    assert group["NumNodeGroups"] == str(node_groups)
    assert (group["ReplicasPerNodeGroup"], group["AutomaticFailoverEnabled"],
            group["MultiAZEnabled"]) == (1, True, True)
    assert "NumCacheClusters" not in group
    assert (group["TransitEncryptionEnabled"], group["AtRestEncryptionEnabled"]) == (True, True)
    assert group["KmsKeyId"] == {"Ref": "AppDataKey"}
    assert group["UserGroupIds"] == [{"Ref": "CacheUserGroup"}]
    assert group["SnapshotRetentionLimit"] == 1  # CacheSnapshotRetentionDays' default
    assert group["CacheParameterGroupName"] == {"Ref": "CacheClusterParameterGroup"}
    [parameter_group] = _of_type(created, "AWS::ElastiCache::ParameterGroup").values()
    assert parameter_group["Properties"] == {"cluster-enabled": "yes",
                                             "maxmemory-policy": "noeviction"}
    # cluster-mode node ids: the group's id, the shard (-0001...), the node (-001, -002)
    alarms = _of_type(created, "AWS::CloudWatch::Alarm")
    assert sorted(a["Dimensions"][0]["Value"]["Fn::Sub"] for a in alarms.values()) == sorted(
        f"${{CacheClusterReplicationGroup}}-{g:04d}-{n:03d}"
        for g in range(1, node_groups + 1) for n in (1, 2))
    assert {a["MetricName"] for a in alarms.values()} == {"DatabaseMemoryUsagePercentage"}
    assert {a["Dimensions"][0]["Name"] for a in alarms.values()} == {"CacheClusterId"}
    outputs = deployed_outputs(cache, **given)
    assert outputs["CacheAddress"] == {
        "Fn::GetAtt": ["CacheClusterReplicationGroup", "ConfigurationEndPoint.Address"]}
    assert (outputs["CachePort"], outputs["RedisCluster"]) == ("6379", "1")


def test_cluster_mode_shards_stop_where_the_alarms_do(templates: dict[str, Template]) -> None:
    """Each shard has its alarms: CacheNodeGroups may not go past the shards that have some."""
    parameter = templates["cache"]["Parameters"]["CacheNodeGroups"]
    assert (parameter["MinValue"], parameter["MaxValue"]) == (1, cache_modes.MAX_NODE_GROUPS)


def test_serverless_mode_is_a_valkey_serverless_cache_with_its_two_alarms(
        templates: dict[str, Template]) -> None:
    cache = templates["cache"]
    created = deployed(cache, CacheMode="serverless")
    assert set(created) == SHARED | SERVERLESS  # no subnet group, parameter group or node group
    written = cache["Resources"]["CacheServerless"]["Properties"]  # its Refs as written
    assert (written["Engine"], written["MajorEngineVersion"]) == ("valkey", "8")
    assert written["UserGroupId"] == {"Ref": "CacheUserGroup"}
    assert written["SecurityGroupIds"] == [{"Ref": "CacheSecurityGroup"}]
    assert written["SubnetIds"] == {"Ref": "PrivateSubnetIds"}
    assert written["KmsKeyId"] == {"Ref": "AppDataKey"}
    assert written["SnapshotRetentionLimit"] == {"Ref": "CacheSnapshotRetentionDays"}
    assert written["CacheUsageLimits"] == {
        "DataStorage": {"Maximum": {"Ref": "CacheDataStorageMaxGB"}, "Unit": "GB"},
        "ECPUPerSecond": {"Maximum": {"Ref": "CacheEcpuPerSecondMax"}}}
    alarms = _of_type(created, "AWS::CloudWatch::Alarm")
    watched = {}
    for alarm in alarms.values():
        used, percent = alarm["Metrics"]
        metric = used["MetricStat"]["Metric"]
        # Serverless metrics are published under `clusterId`, the cache's name (Ref)
        assert metric["Namespace"] == "AWS/ElastiCache"
        assert metric["Dimensions"] == [{"Name": "clusterId", "Value": {"Ref": "CacheServerless"}}]
        assert (used["ReturnData"], percent["ReturnData"]) == (False, True)
        watched[metric["MetricName"]] = (used["MetricStat"]["Stat"],
                                         percent["Expression"]["Fn::Sub"], alarm["Threshold"])
    assert watched == {
        "BytesUsedForCache": ("Maximum", "100 * used / (${CacheDataStorageMaxGB} * 1000000000)",
                              80),
        "ElastiCacheProcessingUnits": ("Sum", "100 * used / (60 * ${CacheEcpuPerSecondMax})", 80)}
    outputs = deployed_outputs(cache, CacheMode="serverless")
    assert outputs["CacheAddress"] == {"Fn::GetAtt": ["CacheServerless", "Endpoint.Address"]}
    assert outputs["CachePort"] == {"Fn::GetAtt": ["CacheServerless", "Endpoint.Port"]}
    assert outputs["RedisCluster"] == "1"


def test_serverless_refuses_the_redis_engine(templates: dict[str, Template]) -> None:
    cache = templates["cache"]
    rule = cache["Rules"]["ServerlessIsValkey"]

    def refused(**given: str) -> bool:
        params = parameters(cache, **given)
        return truth(cache, rule["RuleCondition"], params) and not all(
            truth(cache, a["Assert"], params) for a in rule["Assertions"])

    assert refused(CacheMode="serverless", CacheEngine="redis")
    assert not refused(CacheMode="serverless")
    assert not refused(CacheMode="cluster", CacheEngine="redis")
    assert not refused(CacheEngine="redis")


@pytest.mark.parametrize("given", [{}, {"CacheMode": "cluster", "CacheNodeGroups": "3"},
                                   {"CacheMode": "serverless"}])
def test_alarm_outputs_name_exactly_the_alarms_that_exist(
        templates: dict[str, Template], given: dict[str, str]) -> None:
    cache = templates["cache"]
    alarms = _of_type(deployed(cache, **given), "AWS::CloudWatch::Alarm")
    named = [v for k, v in deployed_outputs(cache, **given).items() if k.endswith("AlarmName")]
    assert sorted(named, key=str) == sorted(({"Ref": a} for a in alarms), key=str)
    assert alarms


@pytest.mark.parametrize("given", [{}, {"CacheMode": "cluster"}, {"CacheMode": "serverless"}])
def test_the_endpoint_outputs_name_a_resource_of_that_mode(
        templates: dict[str, Template], given: dict[str, str]) -> None:
    cache = templates["cache"]
    created = deployed(cache, **given)
    outputs = deployed_outputs(cache, **given)
    for name in ("CacheAddress", "CachePort"):
        value = outputs[name]
        if isinstance(value, dict):
            assert value["Fn::GetAtt"][0] in created, (name, given)


def test_the_tasks_learn_whether_redis_is_a_cluster(templates: dict[str, Template]) -> None:
    """deploy.sh passes the cache's outputs to the services parameters of the same name."""
    services = templates["services"]
    assert "RedisCluster" in templates["cache"]["Outputs"]
    assert services["Parameters"]["RedisCluster"]["AllowedValues"] == ["0", "1"]
    tasks = [r for r in services["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition"]
    assert len(tasks) == len(COMPONENTS)
    for task in tasks:
        [container] = task["Properties"]["ContainerDefinitions"]
        environment = {e["Name"]: e["Value"] for e in container["Environment"]}
        assert environment["REDIS_CLUSTER"] == {"Ref": "RedisCluster"}
        # the same URL whatever the mode: only the endpoint behind it changes
        assert environment["REDIS_URL"]["Fn::Sub"].endswith("@${CacheAddress}:${CachePort}/0")
