"""Cache stack: the shared Redis (ElastiCache, valkey or redis), the app's secrets and their key.

TLS in transit and one Redis user per component (RBAC: an `AWS::ElastiCache::User` with the
access string declared in infra/redis_acl.py, its password generated in Secrets Manager), in a
user group with a `default` user that is off; its security group admits the tasks only.
The secrets and the log groups (platform stack) are encrypted with a customer managed KMS key
(AppDataKey, rotated yearly): reading a secret needs kms:Decrypt on that key as well as
secretsmanager:GetSecretValue, so a role that may read secrets in general still cannot read these.
The Redis itself takes one of three shapes (CacheMode: replication-group, the default, cluster
or serverless; infra/cache_modes.py), all behind this security group and user group. The
node-based ones set `maxmemory-policy noeviction`: under memory pressure a write fails (OOM)
instead of silently evicting limit counters and pending indexes, and an alarm per node fires on
memory use above CacheMemoryAlarmPercent first.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Sub, Template, ec2, elasticache, kms, secretsmanager

from infra import cache_modes
from infra.base import add_output, add_parameter, name_tags, new_template
from infra.components import COMPONENTS, Component
from infra.redis_acl import DEFAULT_ACCESS_STRING, DEFAULT_USER_NAME, user_for

EMPTY_KEYRING = '{"version": 1, "keys": []}'
APP_DATA_KEY = "AppDataKey"
# ElastiCache users of either engine: a "redis" user group serves valkey and redis groups alike.
USER_ENGINE = "redis"
USER_GROUP = "CacheUserGroup"
DEFAULT_USER = "CacheDefaultUser"
CACHE_SECURITY_GROUP = "CacheSecurityGroup"


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
        CACHE_SECURITY_GROUP, VpcId=Ref("VpcId"),
        GroupDescription="Redis, reachable from the ECS tasks only",
        SecurityGroupIngress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=cache_modes.REDIS_PORT, ToPort=cache_modes.REDIS_PORT,
            SourceSecurityGroupId=Ref("TaskSecurityGroupId"), Description="tasks to Redis")],
        Tags=name_tags(Sub("${AWS::StackName}-cache")))


def build() -> Template:
    template = new_template("cache (ElastiCache with TLS and a Redis user per component; "
                            "CacheMode: replication-group, cluster or serverless) and "
                            "application secrets")
    add_parameter(template, "VpcId", Type="AWS::EC2::VPC::Id", Description="network: VpcId")
    add_parameter(template, "PrivateSubnetIds", Type="List<AWS::EC2::Subnet::Id>",
                  Description="network: PrivateSubnetIds")
    add_parameter(template, "TaskSecurityGroupId", Type="AWS::EC2::SecurityGroup::Id",
                  Description="network: TaskSecurityGroupId")
    cache_modes.add_parameters(template)
    cache_modes.add_conditions(template)
    for resource in (app_data_key(), *secrets(), *redis_users(), cache_security_group()):
        template.add_resource(resource)
    cache_modes.add_resources(template, user_group=USER_GROUP,
                              security_group=CACHE_SECURITY_GROUP, kms_key=APP_DATA_KEY)
    cache_modes.add_outputs(template)
    for c in COMPONENTS:
        add_output(template, f"{redis_secret_title(c)}Arn", Ref(redis_secret_title(c)),
                   f"secret holding the {c.name} tasks' Redis user and password")
    add_output(template, "CodePepperSecretArn", Ref("CodePepperSecret"),
               "secret holding CODE_PEPPER")
    add_output(template, "KeyringSecretArn", Ref("KeyringSecret"),
               "secret holding the API keyring (KEYRING_SECRET_ARN)")
    add_output(template, "AppDataKeyArn", GetAtt(APP_DATA_KEY, "Arn"),
               "KMS key of the app's secrets and log groups")
    add_output(template, "CacheSecurityGroupId", Ref(CACHE_SECURITY_GROUP), "Redis's group")
    return template
