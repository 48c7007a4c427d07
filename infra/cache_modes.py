"""The cache stack's three shapes of Redis, chosen by the CacheMode parameter (Conditions pick
the resources of one mode; the others are not created):

- `replication-group` (default): one shard, a primary and a replica in two AZs, cluster mode
  disabled: the only shape version-2 data can live on (its scripts build key names from values
  they read, and one send touches several hash slots), so the one the migration starts from.
- `cluster`: a cluster-mode-enabled replication group of CacheNodeGroups shards, each a primary
  and a replica, Multi-AZ with automatic failover.
- `serverless`: ElastiCache Serverless (Valkey), which is always cluster mode.

The last two need a cluster client and storage contract v3 only: the RedisCluster output is "1"
for them (the tasks' REDIS_CLUSTER), and deploy.sh takes them only with --storage-v3-drained
(no version-2 data left: docs/storage-contract.md "Migration from version 2"). Every mode
uses the same security group, the same user group (a Redis user per component, the default user
off), TLS in transit and encryption at rest, and one endpoint output (CacheAddress, CachePort).
Node-based modes never evict (`maxmemory-policy noeviction`); Serverless has no parameter group
and, at its CacheDataStorageMaxGB, evicts keys that have a TTL: its alarms fire before.
"""

from __future__ import annotations

from troposphere import (
    And,
    Equals,
    FindInMap,
    GetAtt,
    If,
    Not,
    Or,
    Ref,
    Sub,
    Template,
    cloudwatch,
    elasticache,
)

from infra.base import add_output, add_parameter, name_tags

REDIS_PORT = 6379
ENGINE_VERSIONS = {"valkey": "8.0", "redis": "7.1"}
PARAMETER_GROUP_FAMILIES = {"valkey": "valkey8", "redis": "redis7"}  # of those versions
CACHE_PARAMETERS = {"maxmemory-policy": "noeviction"}
CLUSTER_CACHE_PARAMETERS = {"cluster-enabled": "yes", **CACHE_PARAMETERS}
NODE_COUNT = 2  # replication-group mode: primary and one replica, in two AZs
REPLICAS_PER_NODE_GROUP = 1  # cluster mode: each shard a primary and one replica, in two AZs
MAX_NODE_GROUPS = 4  # cluster mode: CacheNodeGroups' ceiling (each shard's nodes get an alarm)
SERVERLESS_ENGINE = "valkey"
SERVERLESS_MAJOR_VERSION = "8"
BYTES_PER_GB = 1_000_000_000  # decimal: if ElastiCache means GiB, the alarm fires early, not late

MODES = ("replication-group", "cluster", "serverless")
DEFAULT_MODE = "replication-group"
CLUSTER_CLIENT_MODES = ("cluster", "serverless")  # their clients must speak Redis Cluster
IS_REPLICATION_GROUP = "CacheIsReplicationGroup"
IS_CLUSTER = "CacheIsCluster"
IS_SERVERLESS = "CacheIsServerless"
HAS_NODES = "CacheHasNodes"  # either node-based mode: a subnet group
NEEDS_CLUSTER_CLIENT = "CacheNeedsClusterClient"
REPLICATION_GROUP = "CacheReplicationGroup"
CLUSTER_GROUP = "CacheClusterReplicationGroup"
SERVERLESS_CACHE = "CacheServerless"


def has_node_group(group: int) -> str:
    """Condition: cluster mode with at least `group` shards (shard 1 always exists)."""
    return IS_CLUSTER if group == 1 else f"CacheHasNodeGroup{group}"


def add_parameters(template: Template) -> None:
    add_parameter(template, "CacheMode", Type="String", Default=DEFAULT_MODE,
                  AllowedValues=list(MODES),
                  Description="replication-group (one shard, cluster mode disabled), cluster "
                  "(cluster mode enabled) or serverless (ElastiCache Serverless, Valkey); the "
                  "last two hold storage contract v3 only (deploy.sh --storage-v3-drained)")
    add_parameter(template, "CacheEngine", Type="String", Default="valkey",
                  AllowedValues=sorted(ENGINE_VERSIONS),
                  Description="ElastiCache engine (serverless: valkey only)")
    add_parameter(template, "CacheNodeType", Type="String", Default="cache.t4g.micro",
                  Description="ElastiCache node type (replication-group and cluster)")
    add_parameter(template, "CacheNodeGroups", Type="Number", Default=2, MinValue=1,
                  MaxValue=MAX_NODE_GROUPS,
                  Description="cluster: shards, each a primary and a replica")
    add_parameter(template, "CacheSnapshotRetentionDays", Type="Number", Default=1,
                  MinValue=0, MaxValue=35,
                  Description="cluster and serverless: days automatic snapshots are kept")
    add_parameter(template, "CacheDataStorageMaxGB", Type="Number", Default=10, MinValue=1,
                  MaxValue=5000, Description="serverless: data storage ceiling in GB (at it, "
                  "ElastiCache evicts keys that have a TTL)")
    add_parameter(template, "CacheEcpuPerSecondMax", Type="Number", Default=5000,
                  MinValue=1000, MaxValue=15_000_000,
                  Description="serverless: ECPU per second ceiling (above it, requests are "
                  "throttled)")
    add_parameter(template, "CacheMemoryAlarmPercent", Type="Number", Default=80, MinValue=1,
                  MaxValue=99, Description="memory use (percent of maxmemory; serverless: of "
                  "CacheDataStorageMaxGB) that raises the cache memory alarms")
    add_parameter(template, "CacheEcpuAlarmPercent", Type="Number", Default=80, MinValue=1,
                  MaxValue=99, Description="serverless: ECPU use (percent of "
                  "CacheEcpuPerSecondMax) that raises the ECPU alarm")
    template.add_mapping("EngineVersions", {
        engine: {"Version": v, "Family": PARAMETER_GROUP_FAMILIES[engine]}
        for engine, v in ENGINE_VERSIONS.items()})


def add_conditions(template: Template) -> None:
    mode = Ref("CacheMode")
    template.add_condition(IS_REPLICATION_GROUP, Equals(mode, "replication-group"))
    template.add_condition(IS_CLUSTER, Equals(mode, "cluster"))
    template.add_condition(IS_SERVERLESS, Equals(mode, "serverless"))
    template.add_condition(HAS_NODES, Not(Equals(mode, "serverless")))
    template.add_condition(NEEDS_CLUSTER_CLIENT,
                           Or(*(Equals(mode, m) for m in CLUSTER_CLIENT_MODES)))
    for group in range(2, MAX_NODE_GROUPS + 1):
        counts = [Equals(Ref("CacheNodeGroups"), str(n))
                  for n in range(group, MAX_NODE_GROUPS + 1)]
        enough = counts[0] if len(counts) == 1 else Or(*counts)
        template.add_condition(has_node_group(group), And({"Condition": IS_CLUSTER}, enough))
    # Serverless here is Valkey: refuse a redis engine rather than ignore it.
    template.add_rule("ServerlessIsValkey", {
        "RuleCondition": Equals(mode, "serverless"),
        "Assertions": [{"Assert": Equals(Ref("CacheEngine"), SERVERLESS_ENGINE),
                        "AssertDescription": "CacheMode=serverless runs Valkey: set "
                                             "CacheEngine=valkey"}]})


def node_groups(user_group: str, security_group: str, kms_key: str) -> list[object]:
    """The two node-based modes: today's single-shard group and the cluster-mode one, each with
    its parameter group (noeviction; cluster-enabled for the cluster one)."""
    family = FindInMap("EngineVersions", Ref("CacheEngine"), "Family")
    version = FindInMap("EngineVersions", Ref("CacheEngine"), "Version")
    return [
        elasticache.SubnetGroup("CacheSubnetGroup", Condition=HAS_NODES,
                                Description="private subnets for Redis",
                                SubnetIds=Ref("PrivateSubnetIds")),
        elasticache.ParameterGroup(
            "CacheParameterGroup", Condition=IS_REPLICATION_GROUP,
            Description="shared Redis: never evict (limits must hold)",
            CacheParameterGroupFamily=family, Properties=CACHE_PARAMETERS),
        elasticache.ReplicationGroup(
            REPLICATION_GROUP, Condition=IS_REPLICATION_GROUP,
            ReplicationGroupDescription=Sub("${AWS::StackName} shared Redis"),
            Engine=Ref("CacheEngine"), EngineVersion=version,
            CacheNodeType=Ref("CacheNodeType"),
            NumCacheClusters=NODE_COUNT, AutomaticFailoverEnabled=True, MultiAZEnabled=True,
            Port=REDIS_PORT, CacheParameterGroupName=Ref("CacheParameterGroup"),
            CacheSubnetGroupName=Ref("CacheSubnetGroup"),
            SecurityGroupIds=[Ref(security_group)],
            TransitEncryptionEnabled=True, AtRestEncryptionEnabled=True,
            UserGroupIds=[Ref(user_group)],
            Tags=name_tags(Sub("${AWS::StackName}-redis"))),
        elasticache.ParameterGroup(
            "CacheClusterParameterGroup", Condition=IS_CLUSTER,
            Description="shared Redis, cluster mode: never evict (limits must hold)",
            CacheParameterGroupFamily=family, Properties=CLUSTER_CACHE_PARAMETERS),
        elasticache.ReplicationGroup(
            CLUSTER_GROUP, Condition=IS_CLUSTER,
            ReplicationGroupDescription=Sub("${AWS::StackName} shared Redis, cluster mode"),
            Engine=Ref("CacheEngine"), EngineVersion=version,
            CacheNodeType=Ref("CacheNodeType"), ClusterMode="enabled",
            NumNodeGroups=Ref("CacheNodeGroups"), ReplicasPerNodeGroup=REPLICAS_PER_NODE_GROUP,
            AutomaticFailoverEnabled=True, MultiAZEnabled=True,
            Port=REDIS_PORT, CacheParameterGroupName=Ref("CacheClusterParameterGroup"),
            CacheSubnetGroupName=Ref("CacheSubnetGroup"),
            SecurityGroupIds=[Ref(security_group)],
            TransitEncryptionEnabled=True, AtRestEncryptionEnabled=True,
            KmsKeyId=Ref(kms_key), SnapshotRetentionLimit=Ref("CacheSnapshotRetentionDays"),
            UserGroupIds=[Ref(user_group)],
            Tags=name_tags(Sub("${AWS::StackName}-redis-cluster"))),
    ]


def serverless_cache(user_group: str, security_group: str,
                     kms_key: str) -> elasticache.ServerlessCache:
    return elasticache.ServerlessCache(
        SERVERLESS_CACHE, Condition=IS_SERVERLESS,
        ServerlessCacheName=Sub("${AWS::StackName}"),
        Description=Sub("${AWS::StackName} shared Redis, serverless"),
        Engine=SERVERLESS_ENGINE, MajorEngineVersion=SERVERLESS_MAJOR_VERSION,
        UserGroupId=Ref(user_group), SecurityGroupIds=[Ref(security_group)],
        SubnetIds=Ref("PrivateSubnetIds"), KmsKeyId=Ref(kms_key),
        CacheUsageLimits=elasticache.CacheUsageLimits(
            DataStorage=elasticache.DataStorage(Maximum=Ref("CacheDataStorageMaxGB"), Unit="GB"),
            ECPUPerSecond=elasticache.ECPUPerSecond(Maximum=Ref("CacheEcpuPerSecondMax"))),
        SnapshotRetentionLimit=Ref("CacheSnapshotRetentionDays"),
        Tags=name_tags(Sub("${AWS::StackName}-redis-serverless")))


FULL_WARNING = "with noeviction, writes fail when it is full"


def node_memory_alarm(title: str, node_id: str, group: str, condition: str,
                      scale: str) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(
        title, Condition=condition,
        AlarmName=Sub("${AWS::StackName}-cache-" + node_id + "-memory"),
        AlarmDescription=f"shared Redis memory use is high: {FULL_WARNING} ({scale})",
        Namespace="AWS/ElastiCache", MetricName="DatabaseMemoryUsagePercentage",
        Dimensions=[cloudwatch.MetricDimension(
            Name="CacheClusterId", Value=Sub("${" + group + "}-" + node_id))],
        Statistic="Maximum", Period=60, EvaluationPeriods=5, DatapointsToAlarm=3,
        Threshold=Ref("CacheMemoryAlarmPercent"), ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="missing")


def memory_alarm_title(node: int) -> str:
    return f"CacheNode{node}MemoryAlarm"


def cluster_memory_alarm_title(group: int, node: int) -> str:
    return f"CacheNodeGroup{group}Node{node}MemoryAlarm"


def node_alarms() -> list[cloudwatch.Alarm]:
    """One per node: ElastiCache reports memory per cache cluster (node). A single-shard group's
    nodes are its id with -001, -002 appended; a cluster-mode group's are its id, the shard
    (-0001...) and the node (-001...). A shard's alarms exist when CacheNodeGroups reaches it."""
    single = [node_memory_alarm(memory_alarm_title(node), f"{node:03d}", REPLICATION_GROUP,
                                IS_REPLICATION_GROUP, "scale CacheNodeType")
              for node in range(1, NODE_COUNT + 1)]
    sharded = [node_memory_alarm(cluster_memory_alarm_title(group, node),
                                 f"{group:04d}-{node:03d}", CLUSTER_GROUP, has_node_group(group),
                                 "scale CacheNodeType or CacheNodeGroups")
               for group in range(1, MAX_NODE_GROUPS + 1)
               for node in range(1, REPLICAS_PER_NODE_GROUP + 2)]
    return [*single, *sharded]


def serverless_alarm(title: str, what: str, metric: str, stat: str, percent_of: str,
                     threshold: str, description: str) -> cloudwatch.Alarm:
    """Serverless metrics carry the dimension `clusterId` (the cache's name), not CacheClusterId;
    the alarm compares the metric, as a percent of its ceiling, with the threshold."""
    return cloudwatch.Alarm(
        title, Condition=IS_SERVERLESS,
        AlarmName=Sub("${AWS::StackName}-cache-serverless-" + what),
        AlarmDescription=description,
        Metrics=[
            cloudwatch.MetricDataQuery(
                Id="used", ReturnData=False, MetricStat=cloudwatch.MetricStat(
                    Metric=cloudwatch.Metric(
                        Namespace="AWS/ElastiCache", MetricName=metric,
                        Dimensions=[cloudwatch.MetricDimension(
                            Name="clusterId", Value=Ref(SERVERLESS_CACHE))]),
                    Period=60, Stat=stat)),
            cloudwatch.MetricDataQuery(Id="percent", Expression=Sub(percent_of),
                                       Label=f"{metric}, percent of its ceiling",
                                       ReturnData=True)],
        EvaluationPeriods=5, DatapointsToAlarm=3, Threshold=Ref(threshold),
        ComparisonOperator="GreaterThanThreshold", TreatMissingData="missing")


SERVERLESS_DATA_ALARM = "CacheServerlessDataAlarm"
SERVERLESS_ECPU_ALARM = "CacheServerlessEcpuAlarm"


def serverless_alarms() -> list[cloudwatch.Alarm]:
    return [
        serverless_alarm(
            SERVERLESS_DATA_ALARM, "data", "BytesUsedForCache", "Maximum",
            "100 * used / (${CacheDataStorageMaxGB} * " + str(BYTES_PER_GB) + ")",
            "CacheMemoryAlarmPercent",
            "shared Redis (serverless) data is near CacheDataStorageMaxGB: at it, ElastiCache "
            "evicts keys that have a TTL (limit counters, pending verifications)"),
        # ElastiCacheProcessingUnits is a count per period: summed over 60 s, per second / 60.
        serverless_alarm(
            SERVERLESS_ECPU_ALARM, "ecpu", "ElastiCacheProcessingUnits", "Sum",
            "100 * used / (60 * ${CacheEcpuPerSecondMax})", "CacheEcpuAlarmPercent",
            "shared Redis (serverless) ECPU use is near CacheEcpuPerSecondMax: above it, "
            "ElastiCache throttles requests"),
    ]


def add_resources(template: Template, *, user_group: str, security_group: str,
                  kms_key: str) -> None:
    for resource in (*node_groups(user_group, security_group, kms_key),
                     serverless_cache(user_group, security_group, kms_key),
                     *node_alarms(), *serverless_alarms()):
        template.add_resource(resource)


def add_outputs(template: Template) -> None:
    """One endpoint whatever the mode, so the services stack builds REDIS_URL one way."""
    add_output(template, "CacheAddress", If(
        IS_SERVERLESS, GetAtt(SERVERLESS_CACHE, "Endpoint.Address"), If(
            IS_CLUSTER, GetAtt(CLUSTER_GROUP, "ConfigurationEndPoint.Address"),
            GetAtt(REPLICATION_GROUP, "PrimaryEndPoint.Address"))),
        "endpoint of the shared Redis (primary, cluster configuration or serverless)")
    add_output(template, "CachePort", If(
        IS_SERVERLESS, GetAtt(SERVERLESS_CACHE, "Endpoint.Port"), str(REDIS_PORT)),
        "port of the shared Redis")
    add_output(template, "RedisCluster", If(NEEDS_CLUSTER_CLIENT, "1", "0"),
               "1 when clients must speak Redis Cluster (the tasks' REDIS_CLUSTER)")
    for node in range(1, NODE_COUNT + 1):
        add_output(template, f"CacheNode{node}MemoryAlarmName", Ref(memory_alarm_title(node)),
                   f"memory alarm of cache node {node}", IS_REPLICATION_GROUP)
    for group in range(1, MAX_NODE_GROUPS + 1):
        for node in range(1, REPLICAS_PER_NODE_GROUP + 2):
            title = cluster_memory_alarm_title(group, node)
            add_output(template, f"{title}Name", Ref(title),
                       f"memory alarm of node {node} of shard {group}", has_node_group(group))
    for title, what in ((SERVERLESS_DATA_ALARM, "data storage"), (SERVERLESS_ECPU_ALARM, "ECPU")):
        add_output(template, f"{title}Name", Ref(title),
                   f"{what} alarm of the serverless cache", IS_SERVERLESS)
