"""Roles of the services stack, per component: an execution role (pull images, write logs, read
CODE_PEPPER and that component's own Redis user's secret, nobody else's) and a task role holding
only what that process calls. Reading a secret takes kms:Decrypt on the key that encrypts it too
(AppDataKeyArn).

Only the dispatcher publishes SMS through SNS, so only its role may sns:Publish, and only to
phone numbers: a direct SMS publish has no resource ARN, so the Allow names no topic (NotResource)
and a Deny refuses every SNS ARN (topics, platform endpoints) whatever else may allow it. Only the
web components read the API keyring (KeyringSecretArn, fetched by the app itself to reload it).
"""

from __future__ import annotations

from troposphere import Ref, Sub, iam

from infra.components import Component

PEPPER_ARN_PARAMETER = "CodePepperSecretArn"  # the stack parameter, not a secret
SNS_ARNS = Sub("arn:${AWS::Partition}:sns:*:*:*")  # every topic and endpoint, any account


def ecs_tasks_trust() -> dict[str, object]:
    """ECS tasks of this account only (guards against the confused deputy)."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")},
            "ArnLike": {"aws:SourceArn": Sub("arn:${AWS::Partition}:ecs:${AWS::Region}:"
                                             "${AWS::AccountId}:*")}}}]}


def read_secrets(*secret_arns: object) -> list[dict[str, object]]:
    """GetSecretValue on these secrets, and kms:Decrypt on their key (AppDataKey, cache stack)
    only as Secrets Manager calls it for this Region."""
    return [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": list(secret_arns) if len(secret_arns) > 1 else secret_arns[0]},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": Ref("AppDataKeyArn"),
         "Condition": {"StringEquals": {
             "kms:ViaService": Sub("secretsmanager.${AWS::Region}.amazonaws.com")}}}]


def redis_secret_parameter(component: Component) -> str:
    """The services stack's parameter with the ARN of the component's Redis user secret."""
    return f"{component.title}RedisSecretArn"


def execution_role_title(component: Component) -> str:
    return f"{component.title}ExecutionRole"


def execution_role(component: Component) -> iam.Role:
    """One per component, so that no task definition can be given another component's Redis
    password (ECS fetches a task's secrets with its execution role)."""
    return iam.Role(
        execution_role_title(component), AssumeRolePolicyDocument=ecs_tasks_trust(),
        ManagedPolicyArns=[Sub("arn:${AWS::Partition}:iam::aws:policy/service-role/"
                               "AmazonECSTaskExecutionRolePolicy")],
        Policies=[iam.Policy(PolicyName="read-app-secrets", PolicyDocument={
            "Version": "2012-10-17", "Statement": read_secrets(
                Ref(PEPPER_ARN_PARAMETER), Ref(redis_secret_parameter(component)))})])


def task_role_title(component: Component) -> str:
    return f"{component.title}TaskRole"


def task_role(component: Component) -> iam.Role:
    policies = []
    if component.delivers_messages:
        policies.append(iam.Policy(PolicyName="publish-sms-only", PolicyDocument={
            "Version": "2012-10-17", "Statement": [
                {"Sid": "PhoneNumbersOnly", "Effect": "Allow", "Action": "sns:Publish",
                 "NotResource": SNS_ARNS},
                {"Sid": "NoTopics", "Effect": "Deny", "Action": "sns:Publish",
                 "Resource": SNS_ARNS}]}))
    if component.is_web:
        policies.append(iam.Policy(PolicyName="read-keyring", PolicyDocument={
            "Version": "2012-10-17", "Statement": read_secrets(Ref("KeyringSecretArn"))}))
    role = iam.Role(task_role_title(component), AssumeRolePolicyDocument=ecs_tasks_trust())
    if policies:
        role.Policies = policies
    return role
