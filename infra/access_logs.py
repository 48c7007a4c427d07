"""ALB access logs (the record a migration compares before and after) in a bucket of their own.

SSE-S3 (the only encryption ALB log delivery supports), public access blocked, objects owned by
the bucket owner, TLS only, versioned (a log deleted or overwritten stays as a noncurrent version),
every version expiring after AccessLogRetentionDays. The bucket is retained when the
stack is deleted: logs are evidence. Who may write: in Regions opened before August 2022 ALB
delivers logs from a regional ELB account (ELB_LOG_ACCOUNTS, from the ALB user guide, "Enable
access logs"); in later Regions from the logdelivery.elasticloadbalancing.amazonaws.com service.
"""

from __future__ import annotations

from troposphere import Equals, FindInMap, GetAtt, If, Or, Ref, Sub, Template, s3

from infra.base import add_output, add_parameter, skip_checks

BUCKET = "AccessLogsBucket"
LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"
ELB_ACCOUNT_REGION = "ElbLogAccountRegion"  # condition: the Region delivers from an ELB account
MAX_OR_TERMS = 10  # Fn::Or takes 2..10 conditions
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-south-1": "718504428378", "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887", "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ca-central-1": "985666609251", "eu-central-1": "054676820928",
    "eu-west-1": "156460612806", "eu-west-2": "652711504416", "eu-west-3": "009996457667",
    "eu-south-1": "635631232127", "eu-north-1": "897822967062", "me-south-1": "076674570225",
    "sa-east-1": "507241528517", "us-gov-west-1": "048591011584",
    "us-gov-east-1": "190560391635", "cn-north-1": "638102146993",
    "cn-northwest-1": "037604701340",
}
ACCESS_LOG_ATTRIBUTES = {  # on the load balancer (infra.loadbalancer)
    "access_logs.s3.enabled": "true",
    "access_logs.s3.bucket": Ref(BUCKET),
}


def _region_is_one_of(regions: list[str]) -> object:
    """Fn::Or over Equals(AWS::Region, r), nested so no Fn::Or has more than ten terms."""
    terms: list[object] = [Equals(Ref("AWS::Region"), r) for r in regions]
    while len(terms) > MAX_OR_TERMS:
        terms = [Or(*terms[i:i + MAX_OR_TERMS]) if len(terms[i:i + MAX_OR_TERMS]) > 1
                 else terms[i] for i in range(0, len(terms), MAX_OR_TERMS)]
    return Or(*terms)


def bucket() -> s3.Bucket:
    return skip_checks(s3.Bucket(
        BUCKET, DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        BucketEncryption=s3.BucketEncryption(ServerSideEncryptionConfiguration=[
            s3.ServerSideEncryptionRule(ServerSideEncryptionByDefault=(
                s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256")))]),
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True,
            RestrictPublicBuckets=True),
        OwnershipControls=s3.OwnershipControls(Rules=[
            s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[
            s3.LifecycleRule(
                Id="expire-access-logs", Status="Enabled",
                ExpirationInDays=Ref("AccessLogRetentionDays"),
                NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(
                    NoncurrentDays=Ref("AccessLogRetentionDays"))),
            s3.LifecycleRule(Id="remove-expired-delete-markers", Status="Enabled",
                             ExpiredObjectDeleteMarker=True)])), {
        "CKV_AWS_18": "this bucket is the access log: logging its own reads into a second "
                      "bucket would need a third for that one's; ALB delivery is its only "
                      "writer (bucket policy) and versioning keeps a deleted or overwritten "
                      "log for AccessLogRetentionDays"})


def bucket_policy() -> s3.BucketPolicy:
    writer = If(ELB_ACCOUNT_REGION,
                {"AWS": Sub("arn:${AWS::Partition}:iam::${Account}:root", Account=FindInMap(
                    "ElbLogAccounts", Ref("AWS::Region"), "Account"))},
                {"Service": LOG_DELIVERY_SERVICE})
    arn = GetAtt(BUCKET, "Arn")
    return s3.BucketPolicy("AccessLogsBucketPolicy", Bucket=Ref(BUCKET), PolicyDocument={
        "Version": "2012-10-17", "Statement": [
            {"Sid": "AlbLogDelivery", "Effect": "Allow", "Principal": writer,
             "Action": "s3:PutObject",
             "Resource": Sub("${" + BUCKET + ".Arn}/AWSLogs/${AWS::AccountId}/*")},
            {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [arn, Sub("${" + BUCKET + ".Arn}/*")],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


def add_access_logs(template: Template) -> None:
    add_parameter(template, "AccessLogRetentionDays", Type="Number", Default=90, MinValue=1,
                  Description="days ALB access logs are kept in their bucket")
    template.add_mapping("ElbLogAccounts",
                         {region: {"Account": a} for region, a in ELB_LOG_ACCOUNTS.items()})
    template.add_condition(ELB_ACCOUNT_REGION, _region_is_one_of(list(ELB_LOG_ACCOUNTS)))
    template.add_resource(bucket())
    template.add_resource(bucket_policy())
    add_output(template, "AccessLogsBucketName", Ref(BUCKET), "bucket of the ALB access logs")
