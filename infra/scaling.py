"""Autoscaling of the services: CPU for every component, ALB requests per target for web ones."""

from __future__ import annotations

from troposphere import Ref, Sub
from troposphere import applicationautoscaling as aas

from infra.components import Component

CPU_TARGET_PERCENT = 60.0


def scaling(component: Component) -> list[object]:
    target = f"{component.title}ScalableTarget"
    resources: list[object] = [
        aas.ScalableTarget(
            target, ServiceNamespace="ecs", ScalableDimension="ecs:service:DesiredCount",
            ResourceId=Sub("service/${ClusterName}/${" + component.title + "Service.Name}"),
            MinCapacity=Ref(f"{component.title}DesiredCount"), MaxCapacity=Ref("MaxTaskCount")),
        aas.ScalingPolicy(
            f"{component.title}CpuScaling", PolicyName=Sub("${AWS::StackName}-"
                                                           + component.name + "-cpu"),
            PolicyType="TargetTrackingScaling", ScalingTargetId=Ref(target),
            TargetTrackingScalingPolicyConfiguration=aas.TargetTrackingScalingPolicyConfiguration(
                TargetValue=CPU_TARGET_PERCENT,
                PredefinedMetricSpecification=aas.PredefinedMetricSpecification(
                    PredefinedMetricType="ECSServiceAverageCPUUtilization"))),
    ]
    if component.is_web:
        label = Sub("${LoadBalancerFullName}/${" + component.title + "TargetGroupFullName}")
        resources.append(aas.ScalingPolicy(
            f"{component.title}RequestScaling", PolicyName=Sub("${AWS::StackName}-"
                                                               + component.name + "-requests"),
            PolicyType="TargetTrackingScaling", ScalingTargetId=Ref(target),
            TargetTrackingScalingPolicyConfiguration=aas.TargetTrackingScalingPolicyConfiguration(
                TargetValue=Ref("RequestsPerTarget"),
                PredefinedMetricSpecification=aas.PredefinedMetricSpecification(
                    PredefinedMetricType="ALBRequestCountPerTarget", ResourceLabel=label))))
    return resources
