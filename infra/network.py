"""Network stack: a VPC over two AZs, public subnets for the ALB, private subnets for tasks.

Private subnets reach AWS through a NAT gateway (default) or, with PrivateEgress=endpoints, through
VPC endpoints only (ECR api/dkr, logs, secretsmanager, sns; a gateway endpoint for S3, where ECR
keeps image layers). Endpoints mode gives tasks no internet, so nothing but AWS APIs is reachable.
"""

from __future__ import annotations

from troposphere import GetAtt, GetAZs, If, Join, Ref, Select, Sub, Template, ec2

from infra.base import add_output, add_parameter, name_tags, new_template, skip_checks
from infra.components import WEB_COMPONENTS

VPC_CIDR = "10.20.0.0/16"
PUBLIC_CIDRS = ("10.20.0.0/24", "10.20.1.0/24")
PRIVATE_CIDRS = ("10.20.10.0/24", "10.20.11.0/24")
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "sns")


def vpc() -> list[ec2.VPC | ec2.InternetGateway | ec2.VPCGatewayAttachment]:
    return [
        ec2.VPC("Vpc", CidrBlock=VPC_CIDR, EnableDnsHostnames=True, EnableDnsSupport=True,
                Tags=name_tags(Sub("${AWS::StackName}-vpc"))),
        ec2.InternetGateway("InternetGateway", Tags=name_tags(Sub("${AWS::StackName}-igw"))),
        ec2.VPCGatewayAttachment("InternetGatewayAttachment", VpcId=Ref("Vpc"),
                                 InternetGatewayId=Ref("InternetGateway")),
    ]


def subnets(kind: str, cidrs: tuple[str, ...], public: bool) -> list[object]:
    resources: list[object] = [ec2.RouteTable(f"{kind}RouteTable", VpcId=Ref("Vpc"),
                                              Tags=name_tags(Sub(f"${{AWS::StackName}}-{kind}")))]
    for index, cidr in enumerate(cidrs):
        subnet = f"{kind}Subnet{index + 1}"
        resources.append(ec2.Subnet(
            subnet, VpcId=Ref("Vpc"), CidrBlock=cidr, AvailabilityZone=Select(index, GetAZs("")),
            MapPublicIpOnLaunch=public, Tags=name_tags(Sub(f"${{AWS::StackName}}-{subnet}"))))
        resources.append(ec2.SubnetRouteTableAssociation(
            f"{subnet}RouteTableAssociation", SubnetId=Ref(subnet),
            RouteTableId=Ref(f"{kind}RouteTable")))
    if public:
        resources.append(ec2.Route("PublicDefaultRoute", DependsOn="InternetGatewayAttachment",
                                   RouteTableId=Ref("PublicRouteTable"),
                                   DestinationCidrBlock="0.0.0.0/0",
                                   GatewayId=Ref("InternetGateway")))
    return resources


def nat_gateway() -> list[object]:
    return [
        ec2.EIP("NatAddress", Condition="UseNat", Domain="vpc",
                DependsOn="InternetGatewayAttachment"),
        ec2.NatGateway("NatGateway", Condition="UseNat", SubnetId=Ref("PublicSubnet1"),
                       AllocationId=GetAtt("NatAddress", "AllocationId")),
        ec2.Route("PrivateDefaultRoute", Condition="UseNat", RouteTableId=Ref("PrivateRouteTable"),
                  DestinationCidrBlock="0.0.0.0/0", NatGatewayId=Ref("NatGateway")),
    ]


def endpoint_title(service: str) -> str:
    return "".join(part.capitalize() for part in service.split(".")) + "Endpoint"


def vpc_endpoints() -> list[object]:
    resources: list[object] = [
        ec2.SecurityGroup(
            "EndpointSecurityGroup", Condition="UseEndpoints", VpcId=Ref("Vpc"),
            GroupDescription="HTTPS to the VPC endpoints from the tasks",
            SecurityGroupIngress=[ec2.SecurityGroupRule(
                IpProtocol="tcp", FromPort=443, ToPort=443,
                SourceSecurityGroupId=Ref("TaskSecurityGroup"))]),
        ec2.VPCEndpoint("S3Endpoint", Condition="UseEndpoints", VpcId=Ref("Vpc"),
                        VpcEndpointType="Gateway", RouteTableIds=[Ref("PrivateRouteTable")],
                        ServiceName=Sub("com.amazonaws.${AWS::Region}.s3")),
    ]
    for service in INTERFACE_ENDPOINTS:
        resources.append(ec2.VPCEndpoint(
            endpoint_title(service), Condition="UseEndpoints", VpcId=Ref("Vpc"),
            VpcEndpointType="Interface", PrivateDnsEnabled=True,
            ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
            SubnetIds=[Ref("PrivateSubnet1"), Ref("PrivateSubnet2")],
            SecurityGroupIds=[Ref("EndpointSecurityGroup")]))
    return resources


def security_groups() -> list[object]:
    """The ALB admits the world on 80/443; tasks admit only the ALB, on their own ports."""
    resources: list[object] = [
        skip_checks(ec2.SecurityGroup(
            "AlbSecurityGroup", VpcId=Ref("Vpc"), GroupDescription="Public HTTP(S) to the ALB",
            SecurityGroupIngress=[
                ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port,
                                      CidrIp="0.0.0.0/0", Description=f"public {port}")
                for port in (80, 443)]), {
            "CKV_AWS_260": "port 80 is public on purpose and serves no API: its listener "
                           "redirects to HTTPS when CertificateArn is set and answers 403 "
                           "https_required otherwise (AllowPlainHttp=true, for demos, is the "
                           "only way to serve on it); closed, a client calling http:// would "
                           "time out instead of being told"}),
        ec2.SecurityGroup("TaskSecurityGroup", VpcId=Ref("Vpc"),
                          GroupDescription="ECS tasks; web ports open to the ALB only"),
    ]
    for component in WEB_COMPONENTS:
        resources.append(ec2.SecurityGroupIngress(
            f"TaskIngressFromAlb{component.title}", GroupId=Ref("TaskSecurityGroup"),
            IpProtocol="tcp", FromPort=component.port, ToPort=component.port,
            SourceSecurityGroupId=Ref("AlbSecurityGroup"),
            Description=f"ALB to {component.name}"))
    return resources


def build() -> Template:
    template = new_template("network (VPC, subnets, egress, security groups)")
    add_parameter(template, "PrivateEgress", Type="String", Default="nat",
                  AllowedValues=["nat", "endpoints"],
                  Description="How private subnets reach AWS: a NAT gateway or VPC endpoints")
    template.add_condition("UseNat", {"Fn::Equals": [Ref("PrivateEgress"), "nat"]})
    template.add_condition("UseEndpoints", {"Fn::Equals": [Ref("PrivateEgress"), "endpoints"]})
    for group in (vpc(), subnets("Public", PUBLIC_CIDRS, True),
                  subnets("Private", PRIVATE_CIDRS, False), nat_gateway(), vpc_endpoints(),
                  security_groups()):
        for resource in group:
            template.add_resource(resource)
    add_output(template, "VpcId", Ref("Vpc"), "the VPC")
    add_output(template, "VpcCidr", VPC_CIDR, "the VPC's CIDR (trusted proxies for the tasks)")
    add_output(template, "PublicSubnetIds",
               Join(",", [Ref("PublicSubnet1"), Ref("PublicSubnet2")]), "subnets of the ALB")
    add_output(template, "PrivateSubnetIds",
               Join(",", [Ref("PrivateSubnet1"), Ref("PrivateSubnet2")]), "subnets of the tasks")
    add_output(template, "AlbSecurityGroupId", Ref("AlbSecurityGroup"), "the ALB's group")
    add_output(template, "TaskSecurityGroupId", Ref("TaskSecurityGroup"), "the tasks' group")
    add_output(template, "NatEnabled", If("UseNat", "true", "false"), "whether tasks have a NAT")
    return template
