"""Services stack: per component a task definition, a service (circuit breaker with rollback),
its task role and autoscaling. Inputs are the other stacks' outputs, passed as parameters.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Sub, Template, ecs

from infra import iam, scaling
from infra.base import add_output, add_parameter, new_template
from infra.components import COMPONENTS, Component
from infra.redis_acl import user_for

STACK_INPUTS = {
    "ClusterName": "platform: ClusterName",
    "CapacityProviderName": "platform: CapacityProviderName",
    "LoadBalancerFullName": "platform: LoadBalancerFullName",
    "VpcCidr": "network: VpcCidr", "CacheAddress": "cache: CacheAddress",
    "CachePort": "cache: CachePort", "CodePepperSecretArn": "cache: CodePepperSecretArn",
    "KeyringSecretArn": "cache: KeyringSecretArn", "AppDataKeyArn": "cache: AppDataKeyArn",
}
HEALTHCHECK_SCRIPT = "/app/healthcheck.py"  # shipped in the image (infra/docker/healthcheck.py)
SMTP_PARAMETERS = (  # email goes out over SMTP (e.g. Amazon SES's SMTP endpoint), with STARTTLS
    ("SmtpHost", "email-smtp.us-east-1.amazonaws.com", "dispatcher: SMTP relay host"),
    ("SmtpPort", "587", "dispatcher: SMTP relay port"),
    ("SmtpFrom", "Verify <no-reply@example.com>", "dispatcher: sender of code emails"),
)


def add_parameters(template: Template) -> None:
    for name, source in STACK_INPUTS.items():
        add_parameter(template, name, Type="String", Description=source)
    add_parameter(template, "RedisCluster", Type="String", AllowedValues=["0", "1"],
                  Description="cache: RedisCluster (1: CacheMode cluster or serverless)")
    add_parameter(template, "PrivateSubnetIds", Type="List<AWS::EC2::Subnet::Id>",
                  Description="network: PrivateSubnetIds")
    add_parameter(template, "TaskSecurityGroupId", Type="AWS::EC2::SecurityGroup::Id",
                  Description="network: TaskSecurityGroupId")
    add_parameter(template, "ImageRepositoryPrefix", Type="String", Default="strangler-kit",
                  Description="ECR repositories are PREFIX/COMPONENT in this account and region")
    add_parameter(template, "MaxTaskCount", Type="Number", Default=6, MinValue=1,
                  Description="autoscaling ceiling per service")
    add_parameter(template, "RequestsPerTarget", Type="Number", Default=1000, MinValue=1,
                  Description="ALB requests per task per minute that autoscaling aims for")
    for name, default, what in SMTP_PARAMETERS:
        add_parameter(template, name, Type="String", Default=default, Description=what)
    for c in COMPONENTS:
        add_parameter(template, f"{c.title}ImageTag", Type="String", Default="latest",
                      Description=f"image tag of {c.name} (deploy.sh passes the git SHA)")
        add_parameter(template, f"{c.title}DesiredCount", Type="Number", MinValue=0,
                      Default=c.desired_count, Description=f"tasks of {c.name}")
        add_parameter(template, f"{c.title}LogGroupName", Type="String",
                      Description=f"platform: {c.title}LogGroupName")
        add_parameter(template, iam.redis_secret_parameter(c), Type="String",
                      Description=f"cache: {iam.redis_secret_parameter(c)}")
        if c.is_web:
            for suffix in ("TargetGroupArn", "TargetGroupFullName"):
                add_parameter(template, f"{c.title}{suffix}", Type="String",
                              Description=f"platform: {c.title}{suffix}")


def environment(component: Component) -> list[ecs.Environment]:
    values: dict[str, object] = {
        "APP_ENV": "production",
        # The component's own Redis user (infra/redis_acl.py); its password arrives separately
        # (REDIS_PASSWORD, a secret) and the image's entrypoint adds it to the URL.
        "REDIS_URL": Sub("rediss://" + user_for(component.name).name
                         + "@${CacheAddress}:${CachePort}/0"),
        # "1": the cache is cluster mode (CacheMode cluster or serverless): every component then
        # uses a cluster client (services/verification/redis_client.py, monolith/extensions.py).
        "REDIS_CLUSTER": Ref("RedisCluster"),
        "AWS_REGION": Ref("AWS::Region"),
    }
    if component.is_web:
        values["TRUSTED_PROXIES"] = Ref("VpcCidr")  # only the ALB, inside the VPC, is believed
        # An ARN, not an ECS secret: the app reads the keyring itself, to reload it as it changes.
        values["KEYRING_SECRET_ARN"] = Ref("KeyringSecretArn")
    if component.delivers_messages:
        values.update(SMS_BACKEND="sns", SMTP_HOST=Ref("SmtpHost"), SMTP_PORT=Ref("SmtpPort"),
                      SMTP_FROM=Ref("SmtpFrom"), SMTP_STARTTLS="true")
    return [ecs.Environment(Name=k, Value=v) for k, v in values.items()]


def container(component: Component) -> ecs.ContainerDefinition:
    probe = [f"http://127.0.0.1:{component.port}/readyz"] if component.is_web else ["redis"]
    definition = ecs.ContainerDefinition(
        Name=component.name, Essential=True, StopTimeout=30,
        LinuxParameters=ecs.LinuxParameters(InitProcessEnabled=True),  # reaps, forwards SIGTERM
        Image=Sub("${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/"
                  "${ImageRepositoryPrefix}/" + component.name + ":${" + component.title
                  + "ImageTag}"),
        Environment=environment(component),
        Secrets=[ecs.Secret(Name="CODE_PEPPER", ValueFrom=Ref(iam.PEPPER_ARN_PARAMETER)),
                 # only its own user's password: the secret's JSON key `password`
                 ecs.Secret(Name="REDIS_PASSWORD", ValueFrom=Sub(
                     "${" + iam.redis_secret_parameter(component) + "}:password::"))],
        HealthCheck=ecs.HealthCheck(Command=["CMD", "python", HEALTHCHECK_SCRIPT, *probe],
                                    Interval=30, Timeout=5, Retries=3, StartPeriod=20),
        LogConfiguration=ecs.LogConfiguration(LogDriver="awslogs", Options={
            "awslogs-group": Ref(f"{component.title}LogGroupName"),
            "awslogs-region": Ref("AWS::Region"), "awslogs-stream-prefix": component.name}))
    if component.port is not None:
        definition.PortMappings = [ecs.PortMapping(ContainerPort=component.port, Protocol="tcp")]
    return definition


def task_definition(component: Component) -> ecs.TaskDefinition:
    return ecs.TaskDefinition(
        f"{component.title}TaskDefinition", Family=Sub("${AWS::StackName}-" + component.name),
        NetworkMode="awsvpc", RequiresCompatibilities=["FARGATE", "EC2"],
        Cpu=str(component.cpu), Memory=str(component.memory),
        RuntimePlatform=ecs.RuntimePlatform(OperatingSystemFamily="LINUX",
                                            CpuArchitecture="X86_64"),
        ExecutionRoleArn=GetAtt(iam.execution_role_title(component), "Arn"),
        TaskRoleArn=GetAtt(iam.task_role_title(component), "Arn"),
        ContainerDefinitions=[container(component)])


def service(component: Component) -> ecs.Service:
    result = ecs.Service(
        f"{component.title}Service", Cluster=Ref("ClusterName"),
        ServiceName=Sub("${AWS::StackName}-" + component.name),
        TaskDefinition=Ref(f"{component.title}TaskDefinition"),
        DesiredCount=Ref(f"{component.title}DesiredCount"),
        CapacityProviderStrategy=[ecs.CapacityProviderStrategyItem(
            CapacityProvider=Ref("CapacityProviderName"), Weight=1)],
        NetworkConfiguration=ecs.NetworkConfiguration(AwsvpcConfiguration=ecs.AwsvpcConfiguration(
            Subnets=Ref("PrivateSubnetIds"), SecurityGroups=[Ref("TaskSecurityGroupId")],
            AssignPublicIp="DISABLED")),
        DeploymentConfiguration=ecs.DeploymentConfiguration(
            MinimumHealthyPercent=100, MaximumPercent=200,
            DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True)),
        PropagateTags="SERVICE", EnableECSManagedTags=True)
    if component.port is not None:
        result.LoadBalancers = [ecs.LoadBalancer(
            ContainerName=component.name, ContainerPort=component.port,
            TargetGroupArn=Ref(f"{component.title}TargetGroupArn"))]
        result.HealthCheckGracePeriodSeconds = 30
    return result


def build() -> Template:
    template = new_template("services (task definitions, services, roles, autoscaling)")
    add_parameters(template)
    for component in COMPONENTS:
        for resource in (iam.execution_role(component), iam.task_role(component),
                         task_definition(component),
                         service(component), *scaling.scaling(component)):
            template.add_resource(resource)
        add_output(template, f"{component.title}ServiceName",
                   GetAtt(f"{component.title}Service", "Name"), f"ECS service of {component.name}")
    return template
