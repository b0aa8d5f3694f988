"""`{% refusal "delete" namespace as why %}`: why the user may not, or "" when they may."""

from django import template

from access.roles import Action, decide

register = template.Library()


@register.simple_tag(takes_context=True)
def refusal(context, action: str, namespace: str | None = None) -> str:
    request = context.get("request")
    if request is None:
        return "You are not signed in."
    decision = decide(
        request.user, Action[action.upper()], namespace, token=getattr(request, "api_token", None)
    )
    return "" if decision.allowed else decision.reason
