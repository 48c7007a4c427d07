"""Cache stack: the shared Redis (ElastiCache, valkey or redis), the app's secrets and their key.

TLS in transit and one Redis user per component (RBAC: an `AWS::ElastiCache::User` with the
access string declared in infra/redis_acl.py, its password generated in Secrets Manager), in a
user group with a `default` user that is off; its security group admits the tasks only.
The secrets and the log groups (platform stack) are encrypted with a customer managed KMS key
(AppDataKey, rotated yearly): reading a secret needs kms:Decrypt on that key as well as
secretsmanager:GetSecretValue, so a role that may read secrets in general still cannot read these.
Its parameter group sets `maxmemory-policy noeviction`: under memory pressure a write fails
(OOM) instead of silently evicting limit counters and pending indexes, and an alarm per node
fires on memory use above CacheMemoryAlarmPercent first.
"""

from __future__ import annotations

from troposphere import (
    FindInMap,
    GetAtt,
    Ref,
    Sub,
    Template,
    cloudwatch,
    ec2,
    elasticache,
    kms,
    secretsmanager,
)

from infra.base import add_output, add_parameter, name_tags, new_template
from infra.components import COMPONENTS, Component
from infra.redis_acl import DEFAULT_ACCESS_STRING, DEFAULT_USER_NAME, user_for

REDIS_PORT = 6379
ENGINE_VERSIONS = {"valkey": "8.0", "redis": "7.1"}
PARAMETER_GROUP_FAMILIES = {"valkey": "valkey8", "redis": "redis7"}  # of those versions
CACHE_PARAMETERS = {"maxmemory-policy": "noeviction"}
NODE_COUNT = 2  # primary and one replica, in two AZs
EMPTY_KEYRING = '{"version": 1, "keys": []}'
APP_DATA_KEY = "AppDataKey"
# ElastiCache users of either engine: a "redis" user group serves valkey and redis groups alike.
USER_ENGINE = "redis"
USER_GROUP = "CacheUserGroup"
DEFAULT_USER = "CacheDefaultUser"


def redis_secret_title(component: Component) -> str:
    return f"{component.title}RedisSecret"


def redis_user_title(component: Component) -> str:
    return f"{component.title}RedisUser"


def user_password_secret(title: str, user_name: str, what: str) -> secretsmanager.Secret:
    """JSON {"username", "password"} (the shape Secrets Manager's ElastiCache rotation reads);
    the password alphanumeric: valid for ElastiCache (16-128 characters, no , " / @) and safe
    inside a rediss:// URL."""
    return secretsmanager.Secret(
        title, Description=Sub("${AWS::StackName}: " + what), KmsKeyId=Ref(APP_DATA_KEY),
        GenerateSecretString=secretsmanager.GenerateSecretString(
            SecretStringTemplate='{"username": "' + user_name + '"}',
            GenerateStringKey="password", PasswordLength=64, ExcludePunctuation=True))


def app_data_key() -> kms.Key:
    """The account administers the key (IAM policies grant its use, as for any key); CloudWatch
    Logs may use it only for log groups of this account and Region (its encryption context)."""
    return kms.Key(
        APP_DATA_KEY, Description=Sub("${AWS::StackName}: the app's secrets and log groups"),
        EnableKeyRotation=True, KeyPolicy={"Version": "2012-10-17", "Statement": [
            {"Sid": "AccountAdministers", "Effect": "Allow",
             "Principal": {"AWS": Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "CloudWatchLogsOfThisAccount", "Effect": "Allow",
             "Principal": {"Service": Sub("logs.${AWS::Region}.amazonaws.com")},
             "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*",
                        "kms:GenerateDataKey*", "kms:Describe*"],
             "Resource": "*",
             "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": Sub(
                 "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*")}}}]})


def secrets() -> list[secretsmanager.Secret]:
    # Alphanumeric only: valid as an ElastiCache AUTH token and safe inside a rediss:// URL.
    return [
        *(user_password_secret(redis_secret_title(c), user_for(c.name).name,
                               f"Redis user {user_for(c.name).name} (the {c.name} tasks)")
          for c in COMPONENTS),
        # ElastiCache requires a password (or IAM) user; this one is off, and nothing reads it.
        user_password_secret("CacheDefaultUserSecret", DEFAULT_USER_NAME,
                             "Redis default user (off; read by nothing)"),
        secretsmanager.Secret(
            "CodePepperSecret", Description=Sub("${AWS::StackName}: CODE_PEPPER"),
            KmsKeyId=Ref(APP_DATA_KEY),
            GenerateSecretString=secretsmanager.GenerateSecretString(
                PasswordLength=64, ExcludePunctuation=True)),
        # The API keyring (docs/api.md, API keys), created without a key: closed by default, the
        # web services refuse to start until an operator adds one.
        secretsmanager.Secret(
            "KeyringSecret", SecretString=EMPTY_KEYRING, KmsKeyId=Ref(APP_DATA_KEY),
            Description=Sub("${AWS::StackName}: API keyring; add a key with "
                            "./dev keys create NAME --secret-arn ARN (ARN: this secret's)")),
    ]


def password_of(secret_title: str) -> Sub:
    return Sub("{{resolve:secretsmanager:${" + secret_title + "}:SecretString:password}}")


def redis_users() -> list[object]:
    """A user per component, the `default` user switched off (a connection must authenticate as
    a component), and their group, which the replication group uses instead of an AUTH token.
    User ids are unique in the account and Region: the stack's name (lowercase) prefixes them."""
    users = [elasticache.User(
        redis_user_title(c), UserId=Sub("${AWS::StackName}-" + c.name),
        UserName=user_for(c.name).name, Engine=USER_ENGINE,
        AccessString=user_for(c.name).access_string,
        AuthenticationMode=elasticache.AuthenticationMode(
            Type="password", Passwords=[password_of(redis_secret_title(c))]))
        for c in COMPONENTS]
    default = elasticache.User(
        DEFAULT_USER, UserId=Sub("${AWS::StackName}-default"), UserName=DEFAULT_USER_NAME,
        Engine=USER_ENGINE, AccessString=DEFAULT_ACCESS_STRING,
        AuthenticationMode=elasticache.AuthenticationMode(
            Type="password", Passwords=[password_of("CacheDefaultUserSecret")]))
    group = elasticache.UserGroup(
        USER_GROUP, UserGroupId=Sub("${AWS::StackName}-users"), Engine=USER_ENGINE,
        UserIds=[Ref(user) for user in (default, *users)])
    return [*users, default, group]


def cache_security_group() -> ec2.SecurityGroup:
    return ec2.SecurityGroup(
        "CacheSecurityGroup", VpcId=Ref("VpcId"),
        GroupDescription="Redis, reachable from the ECS tasks only",
        SecurityGroupIngress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=REDIS_PORT, ToPort=REDIS_PORT,
            SourceSecurityGroupId=Ref("TaskSecurityGroupId"), Description="tasks to Redis")],
        Tags=name_tags(Sub("${AWS::StackName}-cache")))


def replication_group() -> list[object]:
    return [
        elasticache.SubnetGroup("CacheSubnetGroup", Description="private subnets for Redis",
                                SubnetIds=Ref("PrivateSubnetIds")),
        elasticache.ParameterGroup(
            "CacheParameterGroup", Description="shared Redis: never evict (limits must hold)",
            CacheParameterGroupFamily=FindInMap("EngineVersions", Ref("CacheEngine"),
                                                "Family"),
            Properties=CACHE_PARAMETERS),
        elasticache.ReplicationGroup(
            "CacheReplicationGroup",
            ReplicationGroupDescription=Sub("${AWS::StackName} shared Redis"),
            Engine=Ref("CacheEngine"),
            EngineVersion=FindInMap("EngineVersions", Ref("CacheEngine"), "Version"),
            CacheNodeType=Ref("CacheNodeType"),
            NumCacheClusters=NODE_COUNT, AutomaticFailoverEnabled=True, MultiAZEnabled=True,
            Port=REDIS_PORT, CacheParameterGroupName=Ref("CacheParameterGroup"),
            CacheSubnetGroupName=Ref("CacheSubnetGroup"),
            SecurityGroupIds=[Ref("CacheSecurityGroup")],
            TransitEncryptionEnabled=True, AtRestEncryptionEnabled=True,
            UserGroupIds=[Ref(USER_GROUP)],
            Tags=name_tags(Sub("${AWS::StackName}-redis"))),
    ]


def memory_alarm_title(node: int) -> str:
    return f"CacheNode{node}MemoryAlarm"


def memory_alarms() -> list[cloudwatch.Alarm]:
    """One per node: ElastiCache reports memory per cache cluster (node) of the group, whose ids
    are the group's id with -001, -002... appended."""
    return [cloudwatch.Alarm(
        memory_alarm_title(node), AlarmName=Sub("${AWS::StackName}-cache-" + f"{node:03d}-memory"),
        AlarmDescription="shared Redis memory use is high: with noeviction, writes fail when "
                         "it is full (scale CacheNodeType)",
        Namespace="AWS/ElastiCache", MetricName="DatabaseMemoryUsagePercentage",
        Dimensions=[cloudwatch.MetricDimension(
            Name="CacheClusterId", Value=Sub("${CacheReplicationGroup}-" + f"{node:03d}"))],
        Statistic="Maximum", Period=60, EvaluationPeriods=5, DatapointsToAlarm=3,
        Threshold=Ref("CacheMemoryAlarmPercent"), ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="missing") for node in range(1, NODE_COUNT + 1)]


def build() -> Template:
    template = new_template("cache (ElastiCache with TLS and a Redis user per component) and "
                            "application secrets")
    add_parameter(template, "VpcId", Type="AWS::EC2::VPC::Id", Description="network: VpcId")
    add_parameter(template, "PrivateSubnetIds", Type="List<AWS::EC2::Subnet::Id>",
                  Description="network: PrivateSubnetIds")
    add_parameter(template, "TaskSecurityGroupId", Type="AWS::EC2::SecurityGroup::Id",
                  Description="network: TaskSecurityGroupId")
    add_parameter(template, "CacheEngine", Type="String", Default="valkey",
                  AllowedValues=sorted(ENGINE_VERSIONS), Description="ElastiCache engine")
    add_parameter(template, "CacheNodeType", Type="String", Default="cache.t4g.micro",
                  Description="ElastiCache node type")
    add_parameter(template, "CacheMemoryAlarmPercent", Type="Number", Default=80, MinValue=1,
                  MaxValue=99, Description="memory use (percent of maxmemory) that raises the "
                  "cache memory alarms")
    template.add_mapping("EngineVersions", {
        engine: {"Version": v, "Family": PARAMETER_GROUP_FAMILIES[engine]}
        for engine, v in ENGINE_VERSIONS.items()})
    for resource in (app_data_key(), *secrets(), *redis_users(), cache_security_group(),
                     *replication_group(), *memory_alarms()):
        template.add_resource(resource)
    for node in range(1, NODE_COUNT + 1):
        add_output(template, f"CacheNode{node}MemoryAlarmName", Ref(memory_alarm_title(node)),
                   f"memory alarm of cache node {node}")
    add_output(template, "CacheAddress", GetAtt("CacheReplicationGroup", "PrimaryEndPoint.Address"),
               "primary endpoint of the shared Redis")
    add_output(template, "CachePort", str(REDIS_PORT), "port of the shared Redis")
    for c in COMPONENTS:
        add_output(template, f"{redis_secret_title(c)}Arn", Ref(redis_secret_title(c)),
                   f"secret holding the {c.name} tasks' Redis user and password")
    add_output(template, "CodePepperSecretArn", Ref("CodePepperSecret"),
               "secret holding CODE_PEPPER")
    add_output(template, "KeyringSecretArn", Ref("KeyringSecret"),
               "secret holding the API keyring (KEYRING_SECRET_ARN)")
    add_output(template, "AppDataKeyArn", GetAtt(APP_DATA_KEY, "Arn"),
               "KMS key of the app's secrets and log groups")
    add_output(template, "CacheSecurityGroupId", Ref("CacheSecurityGroup"), "Redis's group")
    return template
