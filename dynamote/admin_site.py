"""The Django admin site: staff, and users with the Admin role in every namespace."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class AdminSite(admin.AdminSite):
    site_header = "Dynamote admin"
    site_title = "Dynamote admin"

    def has_permission(self, request) -> bool:
        from access.roles import is_admin

        user = request.user
        return user.is_active and (user.is_staff or is_admin(user))


class DynamoteAdminConfig(AdminConfig):
    """The Django admin app, with the site above."""

    default_site = "dynamote.admin_site.AdminSite"
