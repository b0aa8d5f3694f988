"""Django permissions from roles: the Admin role everywhere may edit the catalog and access."""

from access.roles import is_admin

ADMINISTERED_APPS = {"catalog", "access", "auth"}


class RolePermissions:
    """An authentication backend that authenticates nobody and grants admin permissions."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        app = perm.split(".", 1)[0]
        return user_obj.is_active and app in ADMINISTERED_APPS and is_admin(user_obj)

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        return user_obj.is_active and app_label in ADMINISTERED_APPS and is_admin(user_obj)
