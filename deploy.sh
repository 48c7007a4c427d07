#!/usr/bin/env bash
# Deploy the kit to AWS: build and push the images, then the four CloudFormation stacks in order
# (network, cache, platform = ECS cluster + ALB + route rules, services), each stack's outputs fed
# to the next ones' parameters. Re-running with nothing changed changes nothing.
#
#   ./deploy.sh REGION STACK [--skip-build] [--dry-run] [--verify] [--endpoint-url URL]
#                            [--storage-v3-drained] [--set KEY=VALUE]...
#
#   --skip-build    do not build or push images (they must already be in ECR under IMAGE_TAG)
#   --dry-run       print what would be done, touch nothing
#   --verify        run the contract suite against the ALB URL afterwards (with CONTRACT_API_KEY)
#   --endpoint-url  talk to another AWS endpoint (e.g. a local moto server)
#   --storage-v3-drained  you state that no storage-contract-v2 data is left (both sides write v3
#                   and code TTL + retention have passed since, or the stack is new): required
#                   with --set CacheMode=cluster|serverless, which cannot hold v2 data
#   --set KEY=VALUE a stack parameter (CertificateArn, CacheEngine, VerificationsRuleWeightSend...);
#                   given to every stack whose template declares KEY
# Environment: IMAGE_TAG (default: the git SHA, plus "-dirty-<hash of the diff>" when the tree
#   has uncommitted changes), CONTRACT_INBOX_URL and CONTRACT_API_KEY (for --verify: where the
#   codes can be read, and a key of the deployed keyring: ./dev keys create NAME --secret-arn ARN),
#   BASE_IMAGE (Docker base, default python:3.11-slim), DOCKER, AWS_CLI, PYTHON, BUILD_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STACKS=(network cache platform services)
REPOSITORY_PREFIX="strangler-kit"

die() { echo "deploy.sh: error: $*" >&2; exit 1; }
say() { echo "==> $*"; }
usage() { sed -n '6,21p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[[ $# -ge 2 ]] || usage
REGION="$1"; STACK="$2"; shift 2
[[ "$REGION" =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]] || die "'$REGION' is not an AWS region name (like eu-west-1)"
[[ "$STACK" =~ ^[a-z][a-z0-9-]{0,100}$ ]] || die "'$STACK' is not a valid stack name (lowercase letters, digits, hyphens: it prefixes the ElastiCache user ids)"
SKIP_BUILD=0; DRY_RUN=0; VERIFY=0; ENDPOINT_URL=""; SETTINGS=(); V3_DRAINED=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --skip-build) SKIP_BUILD=1 ;;
    --dry-run) DRY_RUN=1 ;;
    --verify) VERIFY=1 ;;
    --storage-v3-drained) V3_DRAINED=1 ;;
    --endpoint-url) [[ $# -ge 2 ]] || die "--endpoint-url needs a URL"; ENDPOINT_URL="$2"; shift ;;
    --set) [[ $# -ge 2 && "$2" == *=* ]] || die "--set needs KEY=VALUE"; SETTINGS+=("$2"); shift ;;
    -h|--help) usage ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done
# The cache stack has three CacheModes (infra/README.md, "Cache modes"). The components speak
# storage contract v3, which runs on all three, and read version 2 only on a single node: a
# cluster cannot hold version-2 data (its scripts touch several hash slots). So a move to a
# cluster-mode cache is allowed only once the v2 drain is done, as the operator states; checked
# here, before anything is built, rather than strand live verifications in the old cache.
for setting in "${SETTINGS[@]+"${SETTINGS[@]}"}"; do
  case "$setting" in
    CacheMode=cluster|CacheMode=serverless)
      [[ $V3_DRAINED -eq 1 ]] || die "--set $setting needs --storage-v3-drained: a cluster-mode
  Redis (CacheMode=cluster, and ElastiCache Serverless, which is always cluster mode) holds storage
  contract v3 only, and the components read no version-2 data there (REDIS_CLUSTER=1). First drain
  version 2 on the single-node cache (docs/storage-contract.md, \"Migration from version 2\"):
  deploy with VERIFY_STORAGE_WRITE_VERSION=3 on both sides (the default), wait code TTL + retention
  (24 h 10 min by default) so no version-2 record is left, then re-run with --storage-v3-drained
  (for a new stack with no data yet, pass it as well). Until then use CacheMode=replication-group
  (the default)" ;;
  esac
done
# Every API route needs a key: say so now rather than after twenty minutes of deploying.
[[ $VERIFY -eq 0 || -n "${CONTRACT_API_KEY:-}" ]] || die "--verify needs CONTRACT_API_KEY (a key of
  the deployed keyring, <id>.<secret>); make one with: ./dev keys create contract --secret-arn ARN
  (ARN: the KeyringSecretArn output of stack $STACK-cache)"

# --- tools -------------------------------------------------------------------------------------
find_tool() {  # NAME [FALLBACK]: the first that exists on PATH or as a file
  local candidate
  for candidate in "$@"; do
    if [[ -x "$candidate" ]] || command -v "$candidate" >/dev/null 2>&1; then echo "$candidate"; return 0; fi
  done
  return 1
}
AWS="${AWS_CLI:-$(find_tool aws "$ROOT/.venv/bin/aws" || true)}"
PYTHON="${PYTHON:-$(find_tool "$ROOT/.venv/bin/python" python3 || true)}"
[[ -n "$AWS" ]] || die "the AWS CLI is not installed: install it (pip install awscli) or set AWS_CLI"
[[ -n "$PYTHON" ]] || die "python 3.11 is needed to generate the templates: run ./dev or set PYTHON"
# The images to build and push: the processes deployed to ECS, as infra/components.py declares them.
infra_() { (cd "$ROOT" && "$PYTHON" -m infra "$@"); }
ecs_components="$(infra_ components --where ecs)" \
  || die "cannot list the components: '$PYTHON -m infra components' failed (run ./dev sync?)"
mapfile -t COMPONENTS <<< "$ecs_components"
DOCKER="${DOCKER:-docker}"
if [[ $SKIP_BUILD -eq 0 ]]; then
  command -v "$DOCKER" >/dev/null 2>&1 \
    || die "docker ($DOCKER) is not installed: install it, set DOCKER, or pass --skip-build"
fi
BUILD_DIR="$(realpath -m "${BUILD_DIR:-$ROOT/build/cfn}")"  # absolute: infra_ runs in $ROOT

aws_() { "$AWS" --region "$REGION" ${ENDPOINT_URL:+--endpoint-url "$ENDPOINT_URL"} "$@"; }
shown() {  # a command as the user would type it
  local text="$*"
  [[ "$1" != aws_ ]] || text="aws --region $REGION${ENDPOINT_URL:+ --endpoint-url $ENDPOINT_URL} ${text#aws_ }"
  [[ "$1" != infra_ ]] || text="$PYTHON -m infra ${text#infra_ }"
  echo "+ $text"
}
run() {  # print, then execute unless --dry-run
  shown "$@"
  [[ $DRY_RUN -eq 1 ]] || "$@"
}

if [[ -z "${IMAGE_TAG:-}" ]]; then
  IMAGE_TAG="$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null)" \
    || die "not a git checkout: set IMAGE_TAG to the tag of the images to deploy"
  if [[ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]]; then
    # Uncommitted edits: name them by content, as ECR tags are immutable and a rebuild must differ.
    IMAGE_TAG="$IMAGE_TAG-dirty-$(git -C "$ROOT" diff HEAD | sha256sum | cut -c1-8)"
  fi
fi

# --- credentials -------------------------------------------------------------------------------
if [[ $DRY_RUN -eq 1 ]]; then
  ACCOUNT="<account>"
  say "dry run: nothing will be changed"
else
  ACCOUNT="$(aws_ sts get-caller-identity --query Account --output text 2>/tmp/deploy-sts.$$)" || {
    cat /tmp/deploy-sts.$$ >&2; rm -f /tmp/deploy-sts.$$
    die "no usable AWS credentials: run 'aws configure' or set AWS_PROFILE / AWS_ACCESS_KEY_ID"; }
  rm -f /tmp/deploy-sts.$$
fi
say "account $ACCOUNT, region $REGION, stack $STACK, images tagged $IMAGE_TAG"

# --- images ------------------------------------------------------------------------------------
REGISTRY="$ACCOUNT.dkr.ecr.$REGION.amazonaws.com"
if [[ $SKIP_BUILD -eq 1 ]]; then
  say "skipping image build: ECR must already hold $REPOSITORY_PREFIX/*:$IMAGE_TAG"
else
  say "logging in to $REGISTRY"
  if [[ $DRY_RUN -eq 1 ]]; then
    echo "+ aws ecr get-login-password | $DOCKER login --username AWS --password-stdin $REGISTRY"
  else
    aws_ ecr get-login-password | "$DOCKER" login --username AWS --password-stdin "$REGISTRY"
  fi
  for component in "${COMPONENTS[@]}"; do
    repository="$REPOSITORY_PREFIX/$component"; image="$REGISTRY/$repository:$IMAGE_TAG"
    say "image $component -> $image"
    if [[ $DRY_RUN -eq 1 ]] || ! aws_ ecr describe-repositories --repository-names "$repository" >/dev/null 2>&1; then
      run aws_ ecr create-repository --repository-name "$repository" \
        --image-scanning-configuration scanOnPush=true --image-tag-mutability IMMUTABLE >/dev/null
    fi
    run "$DOCKER" build --file "$ROOT/infra/docker/Dockerfile" --target "$component" \
      --build-arg "BASE_IMAGE=${BASE_IMAGE:-python:3.11-slim}" --tag "$image" "$ROOT"
    run "$DOCKER" push "$image"
  done
fi

# --- templates ---------------------------------------------------------------------------------
say "generating templates into $BUILD_DIR"
run infra_ build --compact -o "$BUILD_DIR"  # compact: a template body is at most 51,200 bytes
TEMPLATE_SOURCE="$BUILD_DIR"
if [[ $DRY_RUN -eq 1 ]]; then  # built aside (and removed) only to show each stack's parameters
  TEMPLATE_SOURCE="$(mktemp -d)"; trap 'rm -rf "$TEMPLATE_SOURCE"' EXIT
  infra_ build --compact -o "$TEMPLATE_SOURCE" >/dev/null || die "the templates do not build"
fi

# --- stacks ------------------------------------------------------------------------------------
declare -A OUTPUTS=()

template_keys() {  # TEMPLATE SECTION: the names in that section (Parameters, Outputs), one a line
  "$PYTHON" -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1])).get(sys.argv[2], {})))' "$1" "$2"
}

stack_overrides() {  # NAME TEMPLATE: KEY=VALUE for each parameter that earlier outputs or --set fill
  local name="$1" template="$2" key setting
  while IFS= read -r key; do
    [[ -n "$key" ]] || continue
    if [[ -n "${OUTPUTS[$key]+set}" ]]; then echo "$key=${OUTPUTS[$key]}"; fi
    if [[ "$name" == services && "$key" == *ImageTag ]]; then echo "$key=$IMAGE_TAG"; fi
    for setting in "${SETTINGS[@]+"${SETTINGS[@]}"}"; do
      if [[ "${setting%%=*}" == "$key" ]]; then echo "$setting"; fi
    done
  done < <(template_keys "$template" Parameters)
}

wait_with_progress() {  # PID STACK: wait for the deploy, print the stack's status every 15 s
  local pid="$1" stack="$2" ticks=0 seconds status
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.2; ticks=$((ticks + 1)); seconds=$((ticks / 5))
    if (( ticks % 75 == 0 )); then
      status="$(aws_ cloudformation describe-stacks --stack-name "$stack" \
        --query 'Stacks[0].StackStatus' --output text 2>/dev/null || echo pending)"
      echo "    ... $stack: $status after ${seconds}s"
    fi
  done
  wait "$pid"
}

read_outputs() {  # STACK: add its outputs to OUTPUTS
  local key value
  while IFS=$'\t' read -r key value; do
    if [[ -n "$key" && "$key" != None ]]; then OUTPUTS["$key"]="$value"; fi
  done < <(aws_ cloudformation describe-stacks --stack-name "$1" \
             --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text)
}

for index in "${!STACKS[@]}"; do
  name="${STACKS[$index]}"; stack="$STACK-$name"; template="$BUILD_DIR/$name.json"
  source_template="$TEMPLATE_SOURCE/$name.json"
  say "[$((index + 1))/${#STACKS[@]}] stack $stack"
  mapfile -t overrides < <(stack_overrides "$name" "$source_template")
  command=(aws_ cloudformation deploy --stack-name "$stack" --template-file "$template"
           --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset
           --tags "Project=$REPOSITORY_PREFIX" "Deployment=$STACK")
  [[ ${#overrides[@]} -eq 0 ]] || command+=(--parameter-overrides "${overrides[@]}")
  if [[ $DRY_RUN -eq 1 ]]; then
    shown "${command[@]}"
    while IFS= read -r key; do [[ -z "$key" ]] || OUTPUTS["$key"]="<$stack:$key>"; done \
      < <(template_keys "$source_template" Outputs)
    continue
  fi
  "${command[@]}" &
  wait_with_progress $! "$stack" || die "stack $stack failed: see its events with
  aws cloudformation describe-stack-events --region $REGION --stack-name $stack"
  [[ "$name" == services ]] || read_outputs "$stack"  # the last stack feeds no other
done

if [[ $DRY_RUN -eq 1 ]]; then
  say "dry run done"
  exit 0
fi
URL="${OUTPUTS[AlbUrl]:-}"
[[ -n "$URL" ]] || die "stack $STACK-platform has no AlbUrl output"
say "deployed: $URL"
echo "    5XX alarms (promote gate): ${OUTPUTS[MonolithAlarmName]:-} ${OUTPUTS[SendAlarmName]:-} ${OUTPUTS[VerifyAlarmName]:-}"
# Closed by default: the keyring secret is created without a key, and the web services refuse to
# start until it holds one. Keys are never made here: an operator makes them, and sees them once.
KEYRING_ARN="${OUTPUTS[KeyringSecretArn]:-}"
[[ -n "$KEYRING_ARN" ]] || die "stack $STACK-cache has no KeyringSecretArn output"
active_keys="$(aws_ secretsmanager get-secret-value --secret-id "$KEYRING_ARN" \
                 --query SecretString --output text \
               | "$PYTHON" -c 'import json, sys
print(sum(not k.get("revoked") for k in json.load(sys.stdin).get("keys", [])))')" \
  || die "cannot read the keyring secret $KEYRING_ARN"
if [[ "$active_keys" == 0 ]]; then
  say "the API keyring holds no key: the web services do not start until it does. Add one with"
  echo "    AWS_REGION=$REGION ./dev keys create NAME --secret-arn $KEYRING_ARN"
  echo "    (they load it within 60 s; the key is printed once, on the last line)"
fi
if [[ $VERIFY -eq 1 ]]; then
  say "running the contract suite against $URL"
  "$ROOT/.venv/bin/python" -m pytest "$ROOT/contract_tests" --base-url "$URL"
fi
