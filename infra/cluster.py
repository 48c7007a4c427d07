"""Cluster part of the platform stack: ECS on Fargate, optionally an EC2 capacity provider, logs.

CapacityProvider=EC2 adds an Auto Scaling group of ECS-optimised instances behind a managed
capacity provider; services then place tasks on it (awsvpc networking either way). Tasks never
reach the instance metadata service (the instance role's credentials): the agent blocks it for
awsvpc tasks (ECS_AWSVPC_BLOCK_IMDS), and IMDSv2 with a hop limit of 1 keeps any container behind
a bridge from it too. Fargate tasks have no IMDS at all.
"""

from __future__ import annotations

from troposphere import Base64, If, Ref, Sub, Template, autoscaling, ec2, ecs, iam, logs

from infra.base import add_output, add_parameter
from infra.components import COMPONENTS, Component

LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731]
ECS_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"


def add_cluster_parameters(template: Template) -> None:
    add_parameter(template, "CapacityProvider", Type="String", Default="FARGATE",
                  AllowedValues=["FARGATE", "EC2"], Description="Where tasks run")
    add_parameter(template, "Ec2InstanceType", Type="String", Default="t3.small",
                  Description="EC2 capacity: instance type")
    add_parameter(template, "Ec2MaxSize", Type="Number", Default=4, MinValue=1,
                  Description="EC2 capacity: most instances")
    add_parameter(template, "Ec2AmiId", Type="AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
                  Default=ECS_AMI_PARAMETER, Description="EC2 capacity: ECS-optimised AMI")
    add_parameter(template, "AppDataKeyArn", Type="String",
                  Description="cache: AppDataKeyArn (encrypts the log groups)")
    add_parameter(template, "LogRetentionDays", Type="Number", Default=30,
                  AllowedValues=LOG_RETENTION_DAYS, Description="CloudWatch Logs retention")
    template.add_condition("UseEc2", {"Fn::Equals": [Ref("CapacityProvider"), "EC2"]})


def log_group_title(component: Component) -> str:
    return f"{component.title}LogGroup"


def log_groups() -> list[logs.LogGroup]:
    return [logs.LogGroup(log_group_title(c), RetentionInDays=Ref("LogRetentionDays"),
                          LogGroupName=Sub("/${AWS::StackName}/" + c.name),
                          KmsKeyId=Ref("AppDataKeyArn"))
            for c in COMPONENTS]


def cluster() -> list[object]:
    providers = ["FARGATE", "FARGATE_SPOT"]
    return [
        ecs.Cluster("Cluster", ClusterSettings=[ecs.ClusterSetting(
            Name="containerInsights", Value="enabled")]),
        ecs.ClusterCapacityProviderAssociations(
            "ClusterCapacityProviders", Cluster=Ref("Cluster"),
            CapacityProviders=If("UseEc2", [*providers, Ref("Ec2CapacityProvider")], providers),
            DefaultCapacityProviderStrategy=[ecs.CapacityProviderStrategy(
                CapacityProvider=If("UseEc2", Ref("Ec2CapacityProvider"), "FARGATE"),
                Weight=1)]),
    ]


def ec2_capacity() -> list[object]:
    user_data = Sub("#!/bin/bash\n"
                    "echo ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config\n"
                    "echo ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config\n")
    return [
        iam.Role("Ec2InstanceRole", Condition="UseEc2",
                 AssumeRolePolicyDocument={"Version": "2012-10-17", "Statement": [{
                     "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                     "Action": "sts:AssumeRole"}]},
                 ManagedPolicyArns=[Sub("arn:${AWS::Partition}:iam::aws:policy/service-role/"
                                        "AmazonEC2ContainerServiceforEC2Role")]),
        iam.InstanceProfile("Ec2InstanceProfile", Condition="UseEc2",
                            Roles=[Ref("Ec2InstanceRole")]),
        ec2.LaunchTemplate("Ec2LaunchTemplate", Condition="UseEc2",
                           LaunchTemplateData=ec2.LaunchTemplateData(
                               ImageId=Ref("Ec2AmiId"), InstanceType=Ref("Ec2InstanceType"),
                               IamInstanceProfile=ec2.IamInstanceProfile(
                                   Arn=Sub("${Ec2InstanceProfile.Arn}")),
                               SecurityGroupIds=[Ref("TaskSecurityGroupId")],
                               MetadataOptions=ec2.MetadataOptions(
                                   HttpEndpoint="enabled", HttpTokens="required",
                                   HttpPutResponseHopLimit=1),
                               UserData=Base64(user_data))),
        autoscaling.AutoScalingGroup(
            "Ec2AutoScalingGroup", Condition="UseEc2", MinSize="0",
            MaxSize=Sub("${Ec2MaxSize}"), VPCZoneIdentifier=Ref("PrivateSubnetIds"),
            LaunchTemplate=autoscaling.LaunchTemplateSpecification(
                LaunchTemplateId=Ref("Ec2LaunchTemplate"),
                Version=Sub("${Ec2LaunchTemplate.LatestVersionNumber}")),
            Tags=[autoscaling.Tag("Name", Sub("${AWS::StackName}-ecs"), True)]),
        ecs.CapacityProvider(
            "Ec2CapacityProvider", Condition="UseEc2",
            AutoScalingGroupProvider=ecs.AutoScalingGroupProvider(
                AutoScalingGroupArn=Ref("Ec2AutoScalingGroup"),
                ManagedScaling=ecs.ManagedScaling(Status="ENABLED", TargetCapacity=100),
                ManagedTerminationProtection="DISABLED")),
    ]


def add_cluster(template: Template) -> None:
    add_cluster_parameters(template)
    for resource in (*cluster(), *ec2_capacity(), *log_groups()):
        template.add_resource(resource)
    add_output(template, "ClusterName", Ref("Cluster"), "the ECS cluster")
    add_output(template, "CapacityProviderName",
               If("UseEc2", Ref("Ec2CapacityProvider"), "FARGATE"), "where services place tasks")
    for component in COMPONENTS:
        add_output(template, f"{component.title}LogGroupName", Ref(log_group_title(component)),
                   f"log group of {component.name}")

