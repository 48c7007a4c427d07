"""Roles of the services stack: one execution role (pull images, write logs, read the two
secrets) and one task role per component holding only what that process calls. Reading a secret
takes kms:Decrypt on the key that encrypts it too (AppDataKeyArn).

Only the dispatcher publishes SMS through SNS, so only its role may sns:Publish, and only to
phone numbers: a direct SMS publish has no resource ARN, so the Allow names no topic (NotResource)
and a Deny refuses every SNS ARN (topics, platform endpoints) whatever else may allow it. Only the
web components read the API keyring (KeyringSecretArn, fetched by the app itself to reload it).
"""

from __future__ import annotations

from troposphere import Ref, Sub, iam

from infra.components import Component

SECRET_PARAMETERS = ("CodePepperSecretArn", "CacheAuthTokenSecretArn")
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


def execution_role() -> iam.Role:
    return iam.Role(
        "TaskExecutionRole", AssumeRolePolicyDocument=ecs_tasks_trust(),
        ManagedPolicyArns=[Sub("arn:${AWS::Partition}:iam::aws:policy/service-role/"
                               "AmazonECSTaskExecutionRolePolicy")],
        Policies=[iam.Policy(PolicyName="read-app-secrets", PolicyDocument={
            "Version": "2012-10-17",
            "Statement": read_secrets(*(Ref(name) for name in SECRET_PARAMETERS))})])


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
