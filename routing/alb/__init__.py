"""The route table on an ALB: API shapes (api.py), CloudFormation (render.py), boto3 (live.py)."""
