"""Marks every view with the action it performs, and checks it before the view runs."""

from __future__ import annotations

from functools import wraps

from asgiref.sync import iscoroutinefunction, sync_to_async

from access.models import ALL_NAMESPACES
from access.roles import Action, require


def requires(action: Action, *, method_actions: dict[str, Action] | None = None):
    """Refuses (403) unless the user may do `action` in the URL's namespace.

    Without a namespace in the URL the role is checked "in some namespace"; the view then
    checks the namespace it reads from the query or the body with `access.roles.require`.
    `method_actions` overrides the action per HTTP method (e.g. {"DELETE": Action.DELETE}).
    An async view stays async: the check (a database read) runs in a worker thread.
    """

    def check(request, kwargs) -> None:
        needed = (method_actions or {}).get(request.method, action)
        # Administering is never per namespace: it needs the Admin role everywhere.
        where = ALL_NAMESPACES if needed is Action.ADMINISTER else kwargs.get("namespace")
        require(request, needed, where)

    def decorate(view):
        if iscoroutinefunction(view):
            # An async view: the roles are read from the database in a thread.
            @wraps(view)
            async def checked_async(request, *args, **kwargs):
                await sync_to_async(check)(request, kwargs)
                return await view(request, *args, **kwargs)

            checked_async.access_action = action
            return checked_async

        @wraps(view)
        def checked(request, *args, **kwargs):
            check(request, kwargs)
            return view(request, *args, **kwargs)

        checked.access_action = action
        return checked

    return decorate
