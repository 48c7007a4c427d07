"""AWS deployment of the kit: CloudFormation templates (troposphere), Dockerfiles, compose file.

`python -m infra build -o build/cfn` writes the templates; the repo's `deploy.sh` deploys them.
"""
