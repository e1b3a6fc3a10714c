"""Deploy Airflow 3 on ECS Fargate with CloudFormation: `make deploy`, `destroy`, `cost`."""
