"""The local Image Builder and EC2 endpoint, by concern: server (HTTP, control API, faults), model (the generic
checks against botocore's models), rules (the service's documented rules beyond them), scenario (the loaded state),
and one file per resource: executions, policies, images, ec2. README.md beside this package describes it."""
