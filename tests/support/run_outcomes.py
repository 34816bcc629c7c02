"""Reading the answers of identical runs sent at the same moment."""
from __future__ import annotations


def outcome(status: int, body: dict) -> str:
    """"done" or "duplicate" (200), or "in progress": the 409 of a run that found an identical one still running,
    whose outcome is not known yet (a scheduler retries it)."""
    if status == 409 and "is still running" in body.get("error", ""):
        return "in progress"
    assert status == 200, body
    return body.get("status", "done")


def one_done_the_rest_turned_away(answers: list[tuple[int, dict]]) -> bool:
    outcomes = sorted(outcome(status, body) for status, body in answers)
    return outcomes.count("done") == 1 and set(outcomes) <= {"done", "duplicate", "in progress"}
