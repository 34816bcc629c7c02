"""schemathesis hooks for the fuzz run (SCHEMATHESIS_HOOKS=tests.e2e.schemathesis_hooks): a generated request to an
intent that takes `dryRun` is a dry run unless it says otherwise, so fuzzing computes orders but places none.

The hook puts `dryRun=true` in the query string when neither the query nor a JSON object body names `dryRun`
(a POST may carry a parameter in its query string as long as its body does not name it too)."""
import schemathesis

from intents import REGISTRY

DRY_RUN_PATHS = frozenset(f"/{intent.name}" for intent in REGISTRY.values() if "dry_run" in intent.Params.model_fields)


@schemathesis.hook
def map_case(context, case):
    if case.path in DRY_RUN_PATHS:
        query = dict(case.query or {})
        body = case.body if isinstance(case.body, dict) else {}
        if "dryRun" not in query and "dryRun" not in body:
            query["dryRun"] = "true"
            case.query = query
    return case
