"""CloudFormation models for resource types moto's CloudFormation skips, backed by moto's own
service backends, so a deploy against moto creates real moto resources for them.

moto (5.x) implements Secrets Manager, ElastiCache, CloudWatch alarms and S3 bucket policies as
services, but its CloudFormation parser skips AWS::SecretsManager::Secret,
AWS::ElastiCache::SubnetGroup, AWS::ElastiCache::ReplicationGroup, AWS::ElastiCache::User,
AWS::CloudWatch::Alarm and AWS::S3::BucketPolicy (logging "No Moto CloudFormation support"), and
then fails on any Ref/GetAtt to them (or, for the bucket policy, silently creates none). Each
model below reads the template's properties and calls the matching backend method with them;
nothing else is invented, except for AWS::ElastiCache::ParameterGroup and
AWS::ElastiCache::UserGroup, which moto has no API for at all: their models only name the group
(what Ref returns, passed on to the replication group) and keep its properties
(PARAMETER_GROUPS, USER_GROUPS); the parameters and users themselves are checked in the template
facts. moto does model AWS::KMS::Key, but keeps its KeyPolicy as the template's object where its
KMS API expects JSON text (DescribeKey then answers 500): KmsKeyModel replaces it, passing the
text. Application Auto Scaling and the ECS capacity-provider association are still skipped
(nothing refers to them). Importing this module registers the models (moto finds
CloudFormationModel subclasses).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.elasticache.models import elasticache_backends
from moto.kms.models import Key  # imported first: KmsKeyModel, defined later, wins
from moto.s3.models import s3_backends
from moto.secretsmanager.models import secretsmanager_backends


class _Model:
    """A created resource: its physical id (what Ref returns) and its GetAtt attributes.
    (A mixin: moto lists only direct subclasses of CloudFormationModel.)"""

    def __init__(self, physical_id: str, attributes: dict[str, str] | None = None) -> None:
        self.physical_id = physical_id
        self.attributes = attributes or {}

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.attributes[attribute_name]

    def is_created(self) -> bool:
        return True

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""


class SecretModel(_Model, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> SecretModel:
        props = cloudformation_json["Properties"]
        value = props.get("SecretString")
        if value is None:  # GenerateSecretString: alphanumeric of the asked length
            generate = props.get("GenerateSecretString", {})
            length = int(generate.get("PasswordLength", 32))
            value = secrets.token_hex(length)[:length]
            if "SecretStringTemplate" in generate:  # JSON: the template plus the generated key
                value = json.dumps({**json.loads(generate["SecretStringTemplate"]),
                                    generate["GenerateStringKey"]: value})
        created = secretsmanager_backends[account_id][region_name].create_secret(
            name=props.get("Name", resource_name), secret_string=value, secret_binary=None,
            description=props.get("Description"), tags=None, kms_key_id=props.get("KmsKeyId"),
            client_request_token=None, replica_regions=[], force_overwrite=False)
        return cls(str(json.loads(created)["ARN"]))


class KmsKeyModel(_Model, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::KMS::Key"

    @classmethod
    def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> KmsKeyModel:
        props = dict(cloudformation_json["Properties"])
        if not isinstance(props["KeyPolicy"], str):
            props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
        key = Key.create_from_cloudformation_json(
            resource_name, {**cloudformation_json, "Properties": props}, account_id, region_name,
            **kwargs)
        return cls(key.id, {"Arn": key.arn})


class CacheSubnetGroupModel(_Model, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElastiCache::SubnetGroup"

    @classmethod
    def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> CacheSubnetGroupModel:
        props = cloudformation_json["Properties"]
        name = props.get("CacheSubnetGroupName", resource_name).lower()
        elasticache_backends[account_id][region_name].create_cache_subnet_group(
            cache_subnet_group_name=name, cache_subnet_group_description=props["Description"],
            subnet_ids=props["SubnetIds"], tags=None)
        return cls(name)


PARAMETER_GROUPS: dict[str, dict[str, Any]] = {}  # name -> the template's properties


class CacheParameterGroupModel(_Model, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElastiCache::ParameterGroup"

    @classmethod
    def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> CacheParameterGroupModel:
        name = resource_name.lower()
        PARAMETER_GROUPS[name] = dict(cloudformation_json["Properties"])
        return cls(name)


class CacheUserModel(_Model, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElastiCache::User"

    @classmethod
    def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> CacheUserModel:
        props = cloudformation_json["Properties"]
        mode = props.get("AuthenticationMode", {})
        user = elasticache_backends[account_id][region_name].create_user(
            user_id=props["UserId"], user_name=props["UserName"], engine=props["Engine"],
            passwords=mode.get("Passwords", []), access_string=props.get("AccessString", ""),
            no_password_required=False, authentication_type=mode.get("Type", "password"))
        return cls(user.id, {"Arn": user.arn})


USER_GROUPS: dict[str, dict[str, Any]] = {}  # id -> the template's properties


class CacheUserGroupModel(_Model, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElastiCache::UserGroup"

    @classmethod
    def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> CacheUserGroupModel:
        props = dict(cloudformation_json["Properties"])
        USER_GROUPS[props["UserGroupId"]] = props
        return cls(props["UserGroupId"])


class ReplicationGroupModel(_Model, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElastiCache::ReplicationGroup"

    @classmethod
    def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> ReplicationGroupModel:
        props = cloudformation_json["Properties"]
        group_id = props.get("ReplicationGroupId", resource_name).lower()[:40]
        # moto's signature takes every API field; those the template leaves out are None here.
        options: dict[str, Any] = dict(
            replication_group_id=group_id,
            replication_group_description=props["ReplicationGroupDescription"],
            global_replication_group_id=None, primary_cluster_id=None,
            automatic_failover_enabled=props.get("AutomaticFailoverEnabled", False),
            multi_az_enabled=props.get("MultiAZEnabled", False),
            num_cache_clusters=props.get("NumCacheClusters", 1),
            preferred_cache_cluster_azs=[], num_node_groups=None, replicas_per_node_group=None,
            node_group_configuration=[], cache_node_type=props["CacheNodeType"],
            engine=props["Engine"], engine_version=props.get("EngineVersion"),
            cache_parameter_group_name=props.get("CacheParameterGroupName"),
            cache_subnet_group_name=props.get("CacheSubnetGroupName"),
            cache_security_group_names=[], security_group_ids=props.get("SecurityGroupIds", []),
            tags=[], snapshot_arns=[], snapshot_name=None, preferred_maintenance_window=None,
            port=int(props.get("Port", 6379)), notification_topic_arn=None,
            auto_minor_version_upgrade=True, snapshot_retention_limit=0, snapshot_window=None,
            auth_token=props.get("AuthToken"),
            transit_encryption_enabled=props.get("TransitEncryptionEnabled", False),
            at_rest_encryption_enabled=props.get("AtRestEncryptionEnabled", False),
            kms_key_id=None, user_group_ids=props.get("UserGroupIds", []),
            log_delivery_configurations=[],
            data_tiering_enabled=False, network_type=None, ip_discovery=None,
            transit_encryption_mode=None, cluster_mode=None, serverless_cache_snapshot_name=None)
        group = elasticache_backends[account_id][region_name].create_replication_group(**options)
        primary = group.node_groups[0]["primary_endpoint"]
        return cls(group_id, {"PrimaryEndPoint.Address": str(primary["address"]),
                              "PrimaryEndPoint.Port": str(primary["port"])})


class AlarmModel(_Model, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> AlarmModel:
        props = cloudformation_json["Properties"]
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=props.get("AlarmName", resource_name), namespace=props["Namespace"],
            metric_name=props["MetricName"], comparison_operator=props["ComparisonOperator"],
            evaluation_periods=int(props["EvaluationPeriods"]), period=int(props["Period"]),
            threshold=float(props["Threshold"]), statistic=props["Statistic"],
            description=props.get("AlarmDescription", ""),
            dimensions=[{"Name": d["Name"], "Value": d["Value"]}
                        for d in props.get("Dimensions", [])],
            alarm_actions=props.get("AlarmActions", []),
            treat_missing_data=props.get("TreatMissingData"))
        return cls(alarm.name)


class BucketPolicyModel(_Model, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @classmethod
    def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> BucketPolicyModel:
        props = cloudformation_json["Properties"]
        s3_backends[account_id]["aws"].put_bucket_policy(
            props["Bucket"], json.dumps(props["PolicyDocument"]).encode())
        return cls(resource_name)
