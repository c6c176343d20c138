"""deploy/pipeline-bootstrap.yaml held to what it promises, offline, with the workflow that uses it:

  - the pipeline role is trusted only by GitHub's OIDC provider, with StringEquals on the token's
    aud (sts.amazonaws.com) and sub (repo:<GitHubOrg>/<GitHubRepo>:environment:<Environment>,
    from the parameters, no wildcard);
  - its permissions: CloudFormation on its own stack (and the SAM transform), S3 on the artifacts
    bucket, iam:PassRole of the execution role to CloudFormation only; no `*` action, and
    Resource "*" only on PIPELINE_UNSCOPED;
  - the execution role is trusted only by cloudformation.amazonaws.com, has no `*` action,
    Resource "*" only on EXECUTION_UNSCOPED, and IAM only on roles under the stack's name;
  - the bucket blocks public access, is encrypted and versioned, expires old versions, and its
    policy denies requests without TLS;
  - the outputs the README sends to GitHub variables exist, and the default stack names are
    samconfig.toml's;
  - .github/workflows/pipeline.yml reads vars.AWS_DEPLOY_ROLE_ARN, vars.ARTIFACTS_BUCKET and
    vars.CLOUDFORMATION_EXECUTION_ROLE_ARN, and every `sam deploy` there passes the bucket (with
    --no-resolve-s3) and the role; jobs that assume the role run in a GitHub environment.

    .venv/bin/python scripts/check-bootstrap.py                      (scripts/lint-template.sh)
    .venv/bin/python scripts/check-bootstrap.py TEMPLATE [WORKFLOW]  (check other copies)

Without arguments, once the files pass, every check runs again on copies broken the way it
guards against (BREAKAGES), and must fail on each: a check that cannot fail fails the run.
"""

import copy
import json
import re
import sys
import tomllib
from pathlib import Path

import yaml
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "pipeline-bootstrap.yaml"
WORKFLOW = ROOT / ".github" / "workflows" / "pipeline.yml"
SAMCONFIG = ROOT / "samconfig.toml"

# The only actions either role may have on Resource "*": they act on no resource ARN.
PIPELINE_UNSCOPED = {"cloudformation:ValidateTemplate"}
EXECUTION_UNSCOPED = {
    "lambda:CreateEventSourceMapping",  # with the lambda:FunctionArn condition
    "lambda:UpdateEventSourceMapping",  # with the lambda:FunctionArn condition
    "lambda:DeleteEventSourceMapping",  # with the lambda:FunctionArn condition
    "logs:CreateLogDelivery",  # the HTTP API's access log delivery
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "codedeploy:StopDeployment",  # a deployment is named by its id only
}
# The app stack's name as the template spells it: StackName, or payments-<Environment>.
STACK = "{payments-${Environment}|${StackName}}"
GITHUB_OIDC = "token.actions.githubusercontent.com"
SUB = "repo:${GitHubOrg}/${GitHubRepo}:environment:${Environment}"
TRANSFORM = "arn:${AWS::Partition}:cloudformation:${AWS::Region}:aws:transform/Serverless-2016-10-31"
OWN_STACK = f"arn:${{AWS::Partition}}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/{STACK}/*"
STACK_ROLES = f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{STACK}-*"
VARIABLES = ["AWS_DEPLOY_ROLE_ARN", "ARTIFACTS_BUCKET", "CLOUDFORMATION_EXECUTION_ROLE_ARN"]
# samconfig.toml's config-env of each GitHub environment (pipeline.yml's --config-env).
CONFIG_ENV = {"dev": "default", "prod": "prod"}


def text(value):
    """A template value as one string: Ref X is ${X}, GetAtt X.Y is ${X.Y}, a Sub's variables
    are substituted, and an If is {then|else}."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return "${" + arg + "}"
        if key == "Fn::GetAtt":
            return "${" + (".".join(arg) if isinstance(arg, list) else arg) + "}"
        if key == "Fn::Sub":
            if isinstance(arg, str):
                return arg
            string, variables = arg
            for name, val in variables.items():
                string = string.replace("${" + name + "}", text(val))
            return string
        if key == "Fn::If":
            return "{" + text(arg[1]) + "|" + text(arg[2]) + "}"
    return json.dumps(value, sort_keys=True)


def text_tree(value):
    """Every string of a resource with its intrinsic functions rendered by text()."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in ("Ref", "Fn::GetAtt", "Fn::Sub", "Fn::If"):
            return text(value)
        return {k: text_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [text_tree(v) for v in value]
    return value


def listify(value):
    return value if isinstance(value, list) else [value]


def resources_of(t, kind):
    return {name: r for name, r in t.get("Resources", {}).items() if r.get("Type") == kind}


def output_target(t, output, attribute=None):
    """The logical id an output names (GetAtt X.Arn, or Ref X), or None."""
    value = t.get("Outputs", {}).get(output, {}).get("Value")
    if attribute and isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        target = target if isinstance(target, list) else target.split(".", 1)
        return target[0] if target[1:] == [attribute] else None
    if not attribute and isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    return None


def statements(t, role_name):
    """Every statement the role is granted: its inline policies, and AWS::IAM::Policy or
    ManagedPolicy resources attached to it."""
    role = t["Resources"][role_name]["Properties"]
    found = []
    for policy in role.get("Policies", []):
        found += listify(policy["PolicyDocument"]["Statement"])
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for resource in resources_of(t, kind).values():
            if {"Ref": role_name} in resource["Properties"].get("Roles", []):
                found += listify(resource["Properties"]["PolicyDocument"]["Statement"])
    return found


def find_roles(t):
    pipeline = output_target(t, "PipelineRoleArn", "Arn") or "PipelineRole"
    execution = output_target(t, "CloudFormationExecutionRoleArn", "Arn") or "CloudFormationExecutionRole"
    roles = resources_of(t, "AWS::IAM::Role")
    return (pipeline if pipeline in roles else None), (execution if execution in roles else None)


# ------------------------------------------------------------------------------------------------
# The checks: each returns a list of problems.
# ------------------------------------------------------------------------------------------------


def check_parameters(t, workflow, samconfig):
    problems = []
    params = t.get("Parameters", {})
    for name in ("GitHubOrg", "GitHubRepo", "Environment", "StackName", "CreateOidcProvider", "OidcProviderArn"):
        if name not in params:
            problems.append(f"parameter {name} is missing")
    if params.get("Environment", {}).get("AllowedValues") != ["dev", "prod"]:
        problems.append("Environment's AllowedValues are not [dev, prod]")
    if sorted(params.get("CreateOidcProvider", {}).get("AllowedValues", [])) != ["false", "true"]:
        problems.append("CreateOidcProvider's AllowedValues are not true/false")
    # Every use of the stack name is the one expression, and its default is samconfig.toml's.
    rendered = json.dumps(text_tree(t.get("Resources", {})))
    uses = re.findall(r"\{(?:[^{}|$]|\$\{[^}]*\})*\|\$\{StackName\}\}", rendered)
    if not uses or any(use != STACK for use in uses):
        problems.append(f"the stack name is not always {STACK}: {sorted(set(uses))}")
    condition = t.get("Conditions", {}).get("UseDefaultStackName")
    if condition != {"Fn::Equals": [{"Ref": "StackName"}, ""]}:
        problems.append(f"condition UseDefaultStackName is {condition}, not StackName == ''")
    for env in params.get("Environment", {}).get("AllowedValues", []):
        default = STACK.split("|")[0][1:].replace("${Environment}", env)
        wanted = samconfig.get(CONFIG_ENV.get(env, env), {}).get("global", {}).get("parameters", {}).get("stack_name")
        if default != wanted:
            problems.append(f"environment {env}: default stack name {default}, samconfig.toml's {wanted}")
    return problems


def check_oidc_provider(t, workflow, samconfig):
    problems = []
    providers = resources_of(t, "AWS::IAM::OIDCProvider")
    if len(providers) != 1:
        return [f"{len(providers)} OIDC providers, expected 1"]
    (name, provider), = providers.items()
    if provider.get("Condition") != "ShouldCreateOidcProvider":
        problems.append(f"{name} is not conditional on CreateOidcProvider")
    props = provider["Properties"]
    if props.get("Url") != f"https://{GITHUB_OIDC}":
        problems.append(f"{name}'s Url is {props.get('Url')}")
    if props.get("ClientIdList") != ["sts.amazonaws.com"]:
        problems.append(f"{name}'s ClientIdList is {props.get('ClientIdList')}")
    return problems


def check_pipeline_trust(t, workflow, samconfig):
    pipeline, _ = find_roles(t)
    if not pipeline:
        return ["no pipeline role (output PipelineRoleArn)"]
    trust = listify(t["Resources"][pipeline]["Properties"]["AssumeRolePolicyDocument"]["Statement"])
    if len(trust) != 1:
        return [f"{pipeline}'s trust policy has {len(trust)} statements, expected 1"]
    stmt = trust[0]
    problems = []
    if stmt.get("Effect") != "Allow" or listify(stmt.get("Action")) != ["sts:AssumeRoleWithWebIdentity"]:
        problems.append(f"{pipeline} trust: {stmt.get('Effect')} {stmt.get('Action')}")
    principal = stmt.get("Principal", {})
    federated = text(principal.get("Federated", "")) if isinstance(principal, dict) else ""
    if not isinstance(principal, dict) or set(principal) != {"Federated"} or \
            "${GitHubOidcProvider}" not in federated or f"oidc-provider/{GITHUB_OIDC}" not in federated:
        problems.append(f"{pipeline} is trusted by {text(principal)}, not only GitHub's OIDC provider")
    condition = stmt.get("Condition", {})
    if set(condition) != {"StringEquals"}:
        problems.append(f"{pipeline} trust conditions are {sorted(condition)}, expected StringEquals only")
    equals = condition.get("StringEquals", {})
    if set(equals) != {f"{GITHUB_OIDC}:aud", f"{GITHUB_OIDC}:sub"}:
        problems.append(f"{pipeline} trust: StringEquals on {sorted(equals)}, expected the aud and sub claims")
    aud = [text(v) for v in listify(equals.get(f"{GITHUB_OIDC}:aud", []))]
    if aud != ["sts.amazonaws.com"]:
        problems.append(f"{pipeline} trust: aud {aud}, expected sts.amazonaws.com")
    sub = [text(v) for v in listify(equals.get(f"{GITHUB_OIDC}:sub", []))]
    if any("*" in s or "?" in s for s in sub):
        problems.append(f"{pipeline} trust: sub {sub} has a wildcard")
    if sub != [SUB]:
        problems.append(f"{pipeline} trust: sub {sub}, expected {SUB}")
    return problems


def check_pipeline_permissions(t, workflow, samconfig):
    pipeline, execution = find_roles(t)
    if not pipeline:
        return ["no pipeline role (output PipelineRoleArn)"]
    bucket = output_target(t, "ArtifactsBucketName") or "ArtifactsBucket"
    problems = []
    if t["Resources"][pipeline]["Properties"].get("ManagedPolicyArns"):
        problems.append(f"{pipeline} has managed policies")
    passes = []
    for stmt in statements(t, pipeline):
        if "NotAction" in stmt or "NotResource" in stmt:
            problems.append(f"{pipeline}: {stmt.get('Sid')} uses NotAction/NotResource")
        if stmt.get("Effect") != "Allow":
            continue
        resources = [text(r) for r in listify(stmt.get("Resource", []))]
        for action in listify(stmt.get("Action", [])):
            service = action.split(":")[0]
            if "*" in action:
                problems.append(f"{pipeline}: wildcard action {action}")
            elif "*" in resources and action not in PIPELINE_UNSCOPED:
                problems.append(f"{pipeline}: {action} on Resource '*'")
            elif action == "iam:PassRole":
                passes.append(stmt)
            elif service == "cloudformation" and action not in PIPELINE_UNSCOPED:
                wrong = [r for r in resources if r not in (OWN_STACK, TRANSFORM)
                         or (r == TRANSFORM and action != "cloudformation:CreateChangeSet")]
                if wrong:
                    problems.append(f"{pipeline}: {action} on {wrong}, not its own stack")
            elif service == "s3":
                wrong = [r for r in resources if r not in (f"${{{bucket}.Arn}}", f"${{{bucket}.Arn}}/*")]
                if wrong:
                    problems.append(f"{pipeline}: {action} on {wrong}, not the artifacts bucket")
            elif action not in PIPELINE_UNSCOPED:
                problems.append(f"{pipeline}: {action} is not CloudFormation, S3 or iam:PassRole")
    for stmt in passes:
        resources = [text(r) for r in listify(stmt.get("Resource", []))]
        if not execution or resources != [f"${{{execution}.Arn}}"]:
            problems.append(f"{pipeline}: iam:PassRole on {resources}, not only the execution role")
        condition = stmt.get("Condition", {})
        service = listify(condition.get("StringEquals", {}).get("iam:PassedToService", []))
        if set(condition) != {"StringEquals"} or service != ["cloudformation.amazonaws.com"]:
            problems.append(f"{pipeline}: iam:PassRole without iam:PassedToService cloudformation.amazonaws.com")
    if not passes:
        problems.append(f"{pipeline} cannot pass the execution role")
    return problems


def check_execution_role(t, workflow, samconfig):
    pipeline, execution = find_roles(t)
    if not execution:
        return ["no execution role (output CloudFormationExecutionRoleArn)"]
    role = t["Resources"][execution]["Properties"]
    problems = []
    trust = listify(role["AssumeRolePolicyDocument"]["Statement"])
    for stmt in trust:
        principal = stmt.get("Principal", {})
        services = listify(principal.get("Service", [])) if isinstance(principal, dict) else []
        if stmt.get("Effect") == "Allow" and (
                not isinstance(principal, dict) or set(principal) != {"Service"}
                or services != ["cloudformation.amazonaws.com"]
                or listify(stmt.get("Action")) != ["sts:AssumeRole"]):
            problems.append(f"{execution} is trusted by {text(principal)} ({stmt.get('Action')}), "
                            "not only cloudformation.amazonaws.com")
    if len(trust) != 1:
        problems.append(f"{execution}'s trust policy has {len(trust)} statements, expected 1")
    if role.get("ManagedPolicyArns"):
        problems.append(f"{execution} has managed policies {role['ManagedPolicyArns']}")
    for stmt in statements(t, execution):
        if "NotAction" in stmt or "NotResource" in stmt:
            problems.append(f"{execution}: {stmt.get('Sid')} uses NotAction/NotResource")
        if stmt.get("Effect") != "Allow":
            continue
        resources = [text(r) for r in listify(stmt.get("Resource", []))]
        condition = stmt.get("Condition", {})
        for action in listify(stmt.get("Action", [])):
            if "*" in action:
                problems.append(f"{execution}: wildcard action {action}")
            elif "*" in resources and action not in EXECUTION_UNSCOPED:
                problems.append(f"{execution}: {action} on Resource '*'")
            elif action.startswith("iam:"):
                if resources != [STACK_ROLES]:
                    problems.append(f"{execution}: {action} on {resources}, not only {STACK_ROLES}")
                if action == "iam:PassRole":
                    passed = set(listify(condition.get("StringEquals", {}).get("iam:PassedToService", [])))
                    if not passed or not passed <= {"lambda.amazonaws.com", "codedeploy.amazonaws.com"}:
                        problems.append(f"{execution}: iam:PassRole to {sorted(passed) or 'any service'}")
                if action in ("iam:AttachRolePolicy", "iam:DetachRolePolicy") and \
                        "iam:PolicyARN" not in condition.get("ArnEquals", {}):
                    problems.append(f"{execution}: {action} of any managed policy")
    # The bootstrap's own roles must not fall under the prefix the execution role manages.
    for name in filter(None, (pipeline, execution)):
        role_name = t["Resources"][name]["Properties"].get("RoleName")
        if role_name is None or text(role_name).startswith(STACK):
            problems.append(f"{name}'s name {text(role_name) if role_name else '(generated)'} "
                            f"could fall under role/{STACK}-*")
    return problems


def check_bucket(t, workflow, samconfig):
    bucket = output_target(t, "ArtifactsBucketName") or "ArtifactsBucket"
    if bucket not in resources_of(t, "AWS::S3::Bucket"):
        return ["no artifacts bucket (output ArtifactsBucketName)"]
    props = t["Resources"][bucket]["Properties"]
    problems = []
    block = props.get("PublicAccessBlockConfiguration", {})
    for key in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
        if block.get(key) not in (True, "true"):
            problems.append(f"{bucket}: {key} is not true")
    rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
    if not any(r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules):
        problems.append(f"{bucket} has no default encryption")
    if props.get("VersioningConfiguration", {}).get("Status") != "Enabled":
        problems.append(f"{bucket} is not versioned")
    lifecycle = props.get("LifecycleConfiguration", {}).get("Rules", [])
    if not any(r.get("Status") == "Enabled" and r.get("NoncurrentVersionExpiration") for r in lifecycle):
        problems.append(f"{bucket} has no lifecycle rule that expires old versions")
    tls_denied = False
    for policy in resources_of(t, "AWS::S3::BucketPolicy").values():
        if policy["Properties"].get("Bucket") != {"Ref": bucket}:
            continue
        for stmt in listify(policy["Properties"]["PolicyDocument"]["Statement"]):
            resources = {text(r) for r in listify(stmt.get("Resource", []))}
            secure = stmt.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
            if (stmt.get("Effect") == "Deny" and stmt.get("Principal") in ("*", {"AWS": "*"})
                    and "s3:*" in listify(stmt.get("Action"))
                    and {f"${{{bucket}.Arn}}", f"${{{bucket}.Arn}}/*"} <= resources
                    and secure in (False, "false")):
                tls_denied = True
    if not tls_denied:
        problems.append(f"{bucket}'s policy does not deny every request without TLS")
    return problems


def check_outputs(t, workflow, samconfig):
    problems = []
    wanted = {
        "PipelineRoleArn": ("AWS::IAM::Role", "Arn"),
        "CloudFormationExecutionRoleArn": ("AWS::IAM::Role", "Arn"),
        "ArtifactsBucketName": ("AWS::S3::Bucket", None),
    }
    for output, (kind, attribute) in wanted.items():
        target = output_target(t, output, attribute)
        if target is None or t["Resources"].get(target, {}).get("Type") != kind:
            problems.append(f"output {output} does not name a resource of type {kind}")
    pipeline, execution = find_roles(t)
    if pipeline and pipeline == execution:
        problems.append("the pipeline role and the execution role are one role")
    return problems


def check_workflow(t, workflow, samconfig):
    problems = []
    for name in VARIABLES:
        if not re.search(rf"\bvars\.{name}\b", workflow):
            problems.append(f"pipeline.yml does not read vars.{name}")
    jobs = (yaml.safe_load(workflow) or {}).get("jobs", {})
    environments = t.get("Parameters", {}).get("Environment", {}).get("AllowedValues", [])
    deploys = 0
    for job_name, job in jobs.items():
        steps = job.get("steps", [])
        assumes = [s for s in steps if "configure-aws-credentials" in s.get("uses", "")]
        for step in assumes:
            if step.get("with", {}).get("role-to-assume") != "${{ vars.AWS_DEPLOY_ROLE_ARN }}":
                problems.append(f"job {job_name} assumes {step.get('with', {}).get('role-to-assume')}")
        environment = job.get("environment")
        environment = environment.get("name") if isinstance(environment, dict) else environment
        if assumes and environment not in environments:
            problems.append(f"job {job_name} assumes the role outside the environments {environments} "
                            f"(its token's sub would not be ...:environment:<env>)")
        for step in steps:
            run = step.get("run", "")
            if not re.search(r"\bsam deploy\b", run):
                continue
            deploys += 1
            env = step.get("env", {})
            for option, variable in (("--s3-bucket", "ARTIFACTS_BUCKET"),
                                     ("--role-arn", "CLOUDFORMATION_EXECUTION_ROLE_ARN")):
                match = re.search(rf"{option}[ =](\S+)", run)
                value = match.group(1).strip("\"'") if match else None
                via_env = value and value.startswith("$") and \
                    env.get(value.strip("${}")) == f"${{{{ vars.{variable} }}}}"
                if not value or not (via_env or f"vars.{variable}" in value):
                    problems.append(f"job {job_name}: sam deploy without {option} from vars.{variable}")
            if "--no-resolve-s3" not in run:
                problems.append(f"job {job_name}: sam deploy without --no-resolve-s3 (samconfig.toml "
                                "says resolve_s3 = true, which sam refuses beside --s3-bucket)")
    if deploys == 0:
        problems.append("pipeline.yml runs no sam deploy")
    return problems


CHECKS = [check_parameters, check_oidc_provider, check_pipeline_trust, check_pipeline_permissions,
          check_execution_role, check_bucket, check_outputs, check_workflow]


# ------------------------------------------------------------------------------------------------
# Broken copies: (what is broken, the check that must then fail, the breakage).
# ------------------------------------------------------------------------------------------------


def trust_of(t, role):
    return t["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]


def statement(t, role, sid):
    return next(s for s in statements(t, role) if s.get("Sid") == sid)


def equals(t):
    return trust_of(t, "PipelineRole")["Condition"]["StringEquals"]


def set_sub(t, value):
    equals(t)[f"{GITHUB_OIDC}:sub"] = value


def string_like(t):
    trust_of(t, "PipelineRole")["Condition"] = {"StringLike": equals(t)}


def add_statement(role, stmt):
    return lambda t: t["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(stmt)


def rename_default_stack(t):
    for name, resource in t["Resources"].items():
        t["Resources"][name] = json.loads(json.dumps(resource).replace('"payments-${Environment}"',
                                                                       '"payment-${Environment}"'))


BREAKAGES = [
    ("the sub claim with a wildcard", check_pipeline_trust,
     lambda t: set_sub(t, {"Fn::Sub": "repo:${GitHubOrg}/${GitHubRepo}:*"})),
    ("the sub claim not from the parameters", check_pipeline_trust,
     lambda t: set_sub(t, "repo:acme/payments:environment:dev")),
    ("the claims under StringLike", check_pipeline_trust, string_like),
    ("no aud condition", check_pipeline_trust, lambda t: equals(t).pop(f"{GITHUB_OIDC}:aud")),
    ("the pipeline role trusted by an account too", check_pipeline_trust,
     lambda t: trust_of(t, "PipelineRole")["Principal"].update({"AWS": "123456789012"})),
    ("an Action '*' on the pipeline role", check_pipeline_permissions,
     add_statement("PipelineRole", {"Effect": "Allow", "Action": "*", "Resource": "*"})),
    ("s3:PutObject on Resource '*'", check_pipeline_permissions,
     lambda t: statement(t, "PipelineRole", "ArtifactsReadWrite").update({"Resource": "*"})),
    ("CloudFormation on every stack", check_pipeline_permissions,
     lambda t: statement(t, "PipelineRole", "TheStackOnly").update(
         {"Resource": {"Fn::Sub": "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/*"}})),
    ("iam:PassRole without iam:PassedToService", check_pipeline_permissions,
     lambda t: statement(t, "PipelineRole", "PassOnlyTheExecutionRoleToCloudFormation").pop("Condition")),
    ("iam:PassRole on Resource '*'", check_pipeline_permissions,
     lambda t: statement(t, "PipelineRole", "PassOnlyTheExecutionRoleToCloudFormation").update({"Resource": "*"})),
    ("the execution role trusted by Lambda too", check_execution_role,
     lambda t: trust_of(t, "CloudFormationExecutionRole")["Principal"].update(
         {"Service": ["cloudformation.amazonaws.com", "lambda.amazonaws.com"]})),
    ("an iam:* action on the execution role", check_execution_role,
     add_statement("CloudFormationExecutionRole", {"Effect": "Allow", "Action": "iam:*",
                                                   "Resource": {"Fn::Sub": STACK_ROLES}})),
    ("dynamodb:CreateTable on Resource '*'", check_execution_role,
     lambda t: statement(t, "CloudFormationExecutionRole", "TheTableButNotItsDeletion").update({"Resource": "*"})),
    ("the pipeline role named under the stack's prefix", check_execution_role,
     lambda t: t["Resources"]["PipelineRole"]["Properties"].update({"RoleName": {"Fn::Sub": [
         "${Stack}-deploy", {"Stack": {"Fn::If": [
             "UseDefaultStackName", {"Fn::Sub": "payments-${Environment}"}, {"Ref": "StackName"}]}}]}})),
    ("the pipeline role with a generated name", check_execution_role,
     lambda t: t["Resources"]["PipelineRole"]["Properties"].pop("RoleName")),
    ("public access not blocked", check_bucket,
     lambda t: t["Resources"]["ArtifactsBucket"]["Properties"]["PublicAccessBlockConfiguration"].update(
         {"RestrictPublicBuckets": False})),
    ("no TLS-only statement", check_bucket,
     lambda t: t["Resources"]["ArtifactsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"].pop(0)),
    ("no old-version expiry", check_bucket,
     lambda t: t["Resources"]["ArtifactsBucket"]["Properties"].pop("LifecycleConfiguration")),
    ("output ArtifactsBucketName missing", check_outputs, lambda t: t["Outputs"].pop("ArtifactsBucketName")),
    ("output PipelineRoleArn naming the execution role", check_outputs,
     lambda t: t["Outputs"]["PipelineRoleArn"].update({"Value": {"Fn::GetAtt": ["CloudFormationExecutionRole", "Arn"]}})),
    ("a default stack name that is not samconfig.toml's", check_parameters, rename_default_stack),
    ("Environment allowing any name", check_parameters,
     lambda t: t["Parameters"]["Environment"].pop("AllowedValues")),
    ("an OIDC provider audience other than sts.amazonaws.com", check_oidc_provider,
     lambda t: t["Resources"]["GitHubOidcProvider"]["Properties"].update({"ClientIdList": ["sigstore"]})),
]
WORKFLOW_BREAKAGES = [
    ("pipeline.yml without vars.ARTIFACTS_BUCKET", lambda w: w.replace("vars.ARTIFACTS_BUCKET", "vars.BUCKET")),
    ("pipeline.yml's sam deploy without --no-resolve-s3", lambda w: w.replace("--no-resolve-s3", "")),
    ("pipeline.yml's sam deploy without --role-arn",
     lambda w: re.sub(r'--role-arn "\$CLOUDFORMATION_EXECUTION_ROLE_ARN"', "", w)),
    ("pipeline.yml's deploy-dev job outside its environment", lambda w: w.replace("    environment: dev\n", "")),
]


def problems_of(template, workflow, samconfig, checks=CHECKS):
    found = []
    for check in checks:
        try:
            found += check(template, workflow, samconfig)
        except (KeyError, TypeError, IndexError, AttributeError, StopIteration) as error:
            found.append(f"{check.__name__}: the template is not shaped as expected ({error!r})")
    return found


def plain(node):
    return json.loads(json.dumps(node))


def main():
    template_path = Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE
    workflow_path = Path(sys.argv[2]) if len(sys.argv) > 2 else WORKFLOW
    template, matches = decode(str(template_path))
    if matches:
        print("check-bootstrap:", *(m.message for m in matches), sep="\n  ", file=sys.stderr)
        sys.exit(1)
    template = plain(template)
    workflow = workflow_path.read_text()
    samconfig = tomllib.loads(SAMCONFIG.read_text())

    problems = problems_of(template, workflow, samconfig)
    if problems:
        print(f"check-bootstrap: {template_path.name} / {workflow_path.name}:", *problems,
              sep="\n  ", file=sys.stderr)
        sys.exit(1)
    if len(sys.argv) > 1:
        print(f"check-bootstrap: {template_path} and {workflow_path} pass {len(CHECKS)} checks")
        return

    cannot_fail = []
    for what, check, breakage in BREAKAGES:
        broken = copy.deepcopy(template)
        breakage(broken)
        if not problems_of(broken, workflow, samconfig, [check]):
            cannot_fail.append(f"{check.__name__} passes with {what}")
    for what, breakage in WORKFLOW_BREAKAGES:
        broken = breakage(workflow)
        if broken == workflow:
            cannot_fail.append(f"the breakage '{what}' no longer applies to pipeline.yml")
        elif not problems_of(template, broken, samconfig, [check_workflow]):
            cannot_fail.append(f"check_workflow passes with {what}")
    if cannot_fail:
        print("check-bootstrap: checks that did not fail on a broken copy:", *cannot_fail,
              sep="\n  ", file=sys.stderr)
        sys.exit(1)
    print(f"check-bootstrap: {len(CHECKS)} checks pass, and each fails on its broken copies "
          f"({len(BREAKAGES) + len(WORKFLOW_BREAKAGES)})")


if __name__ == "__main__":
    main()
