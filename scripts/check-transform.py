"""template.yaml through the SAM transform (offline, as `sam deploy` would have CloudFormation
apply it), checked for what the template's shorthand promises: every route of the HTTP API
invokes its function's `live` alias, behind the JWT authorizer with the route's scope (health
with none), the stream mapping invokes the alias too, and every function has a CodeDeploy
deployment group. Run by scripts/lint-template.sh.
"""

import logging
import sys
from pathlib import Path

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

logging.disable(logging.WARNING)  # the translator's notes on feature toggles
ROOT = Path(__file__).resolve().parent.parent


class NoManagedPolicies:
    def load(self):
        return {}


def main():
    template = yaml_parse((ROOT / "template.yaml").read_text())
    functions = [n for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
    for name in functions:  # the transform wants an S3 location; sam deploy uploads one
        template["Resources"][name]["Properties"]["CodeUri"] = "s3://bucket/key.zip"
    parameters = {"JwtIssuer": "https://issuer.example", "JwtAudience": "audience"}
    resources = transform(template, parameters, NoManagedPolicies())["Resources"]

    problems = []
    routes = 0
    for resource in resources.values():
        if resource["Type"] != "AWS::ApiGatewayV2::Api":
            continue
        for path, methods in resource["Properties"]["Body"]["paths"].items():
            for method, operation in methods.items():
                routes += 1
                uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
                if "Aliaslive}" not in uri:
                    problems.append(f"{method.upper()} {path} invokes {uri}, not an alias")
                security = operation.get("security")
                if path.startswith("/payments"):
                    scope = "ReadScope" if method == "get" else "WriteScope"
                    if security != [{"JwtAuthorizer": [{"Ref": scope}]}]:
                        problems.append(f"{method.upper()} {path}: security {security}, expected {scope}")
                elif security != [{"NONE": []}]:
                    problems.append(f"{method.upper()} {path}: security {security}, expected none")
    if routes != 7:
        problems.append(f"{routes} routes, expected 7")
    mapping = resources["PaymentEventsStream"]["Properties"]["FunctionName"]
    if mapping != {"Ref": "PaymentEventsFunctionAliaslive"}:
        problems.append(f"the stream mapping invokes {mapping}, not the alias")
    for name in functions:
        if resources.get(f"{name}DeploymentGroup", {}).get("Type") != "AWS::CodeDeploy::DeploymentGroup":
            problems.append(f"{name} has no deployment group")
    if problems:
        print("check-transform:", *problems, sep="\n  ", file=sys.stderr)
        sys.exit(1)
    print(f"check-transform: {routes} routes on `live` aliases with their scopes, "
          f"{len(functions)} deployment groups, the stream mapping on its alias")


if __name__ == "__main__":
    main()
