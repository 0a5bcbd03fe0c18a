"""Drop queued background tasks this InvenTree cannot read (run by the migrate program).

Django-Q2 signs every queued task with the Django secret key. A database
restored on another machine (a new secret key), or a key replaced by the
admin, keeps tasks signed with the old key: Django-Q reads them as
`{"id": "*BadSignature"}`, and InvenTree's server then fails to start
(`KeyError: 'func'` in `check_existing_task`, which every start runs) and
keeps failing. Found by the systemd tier's restore onto a fresh machine.
Such a task can never run (its arguments cannot be read), so dropping it
loses nothing that could be done; readable tasks are kept.
"""

from __future__ import annotations


def unreadable(queued) -> bool:
    """A queued task whose payload does not unpickle under the current key (no `func`)."""
    task = queued.task
    return not isinstance(task, dict) or "func" not in task


def drop_unreadable(queue_model) -> str:
    """Delete the unreadable tasks of the ORM broker's queue; the line says what was done."""
    queued = list(queue_model.objects.all())
    bad = [q for q in queued if unreadable(q)]
    for q in bad:
        q.delete()
    if not bad:
        return f"queue: all {len(queued)} queued tasks readable"
    return (
        f"queue: dropped {len(bad)} of {len(queued)} queued tasks signed with another secret key "
        "(a database restored on another machine, or a new key): they could never run"
    )
