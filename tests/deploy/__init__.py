"""Deployment proofs: SAM validate and build, cfn-lint, checkov, a rehearsal on moto CloudFormation."""
