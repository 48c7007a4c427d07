"""Cache stack: the shared Redis (ElastiCache, valkey or redis) and the app's secrets.

TLS in transit and an AUTH token from Secrets Manager; its security group admits the tasks only.
"""

from __future__ import annotations

from troposphere import FindInMap, GetAtt, Ref, Sub, Template, ec2, elasticache, secretsmanager

from infra.base import add_output, add_parameter, name_tags, new_template

REDIS_PORT = 6379
ENGINE_VERSIONS = {"valkey": "8.0", "redis": "7.1"}
EMPTY_KEYRING = '{"version": 1, "keys": []}'


def secrets() -> list[secretsmanager.Secret]:
    # Alphanumeric only: valid as an ElastiCache AUTH token and safe inside a rediss:// URL.
    return [
        secretsmanager.Secret(
            "CacheAuthTokenSecret", Description=Sub("${AWS::StackName}: Redis AUTH token"),
            GenerateSecretString=secretsmanager.GenerateSecretString(
                PasswordLength=64, ExcludePunctuation=True)),
        secretsmanager.Secret(
            "CodePepperSecret", Description=Sub("${AWS::StackName}: CODE_PEPPER"),
            GenerateSecretString=secretsmanager.GenerateSecretString(
                PasswordLength=64, ExcludePunctuation=True)),
        # The API keyring (docs/api.md, API keys), created without a key: closed by default, the
        # web services refuse to start until an operator adds one.
        secretsmanager.Secret(
            "KeyringSecret", SecretString=EMPTY_KEYRING,
            Description=Sub("${AWS::StackName}: API keyring; add a key with "
                            "./dev keys create NAME --secret-arn ARN (ARN: this secret's)")),
    ]


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
        elasticache.ReplicationGroup(
            "CacheReplicationGroup",
            ReplicationGroupDescription=Sub("${AWS::StackName} shared Redis"),
            Engine=Ref("CacheEngine"),
            EngineVersion=FindInMap("EngineVersions", Ref("CacheEngine"), "Version"),
            CacheNodeType=Ref("CacheNodeType"),
            NumCacheClusters=2, AutomaticFailoverEnabled=True, MultiAZEnabled=True,
            Port=REDIS_PORT,
            CacheSubnetGroupName=Ref("CacheSubnetGroup"),
            SecurityGroupIds=[Ref("CacheSecurityGroup")],
            TransitEncryptionEnabled=True, AtRestEncryptionEnabled=True,
            AuthToken=Sub("{{resolve:secretsmanager:${CacheAuthTokenSecret}}}"),
            Tags=name_tags(Sub("${AWS::StackName}-redis"))),
    ]


def build() -> Template:
    template = new_template("cache (ElastiCache with TLS and AUTH) and application secrets")
    add_parameter(template, "VpcId", Type="AWS::EC2::VPC::Id", Description="network: VpcId")
    add_parameter(template, "PrivateSubnetIds", Type="List<AWS::EC2::Subnet::Id>",
                  Description="network: PrivateSubnetIds")
    add_parameter(template, "TaskSecurityGroupId", Type="AWS::EC2::SecurityGroup::Id",
                  Description="network: TaskSecurityGroupId")
    add_parameter(template, "CacheEngine", Type="String", Default="valkey",
                  AllowedValues=sorted(ENGINE_VERSIONS), Description="ElastiCache engine")
    add_parameter(template, "CacheNodeType", Type="String", Default="cache.t4g.micro",
                  Description="ElastiCache node type")
    template.add_mapping("EngineVersions",
                         {engine: {"Version": v} for engine, v in ENGINE_VERSIONS.items()})
    for resource in (*secrets(), cache_security_group(), *replication_group()):
        template.add_resource(resource)
    add_output(template, "CacheAddress", GetAtt("CacheReplicationGroup", "PrimaryEndPoint.Address"),
               "primary endpoint of the shared Redis")
    add_output(template, "CachePort", str(REDIS_PORT), "port of the shared Redis")
    add_output(template, "CacheAuthTokenSecretArn", Ref("CacheAuthTokenSecret"),
               "secret holding the Redis AUTH token")
    add_output(template, "CodePepperSecretArn", Ref("CodePepperSecret"),
               "secret holding CODE_PEPPER")
    add_output(template, "KeyringSecretArn", Ref("KeyringSecret"),
               "secret holding the API keyring (KEYRING_SECRET_ARN)")
    add_output(template, "CacheSecurityGroupId", Ref("CacheSecurityGroup"), "Redis's group")
    return template
