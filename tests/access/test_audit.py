"""The audit log: appended before a change is sent, completed after, never edited."""

import io
import json
import logging
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from access.models import AppendOnly, AuditEntry, Grant
from deployments import cluster
from tests.dashboard.conftest import dgd_manifest


def test_a_deploy_is_audited_with_who_how_and_the_outcome(member_client, cluster_sandbox, caplog):
    body = json.dumps({"modelId": "qwen3-8b", "name": "qwen-a"})
    with caplog.at_level(logging.INFO, logger="dynamote.audit"):
        response = member_client.post("/api/deployments", body, content_type="application/json")
    assert response.status_code == 201
    entry = AuditEntry.objects.get(action="deploy")
    assert (entry.actor, entry.auth, entry.namespace, entry.name, entry.outcome) == (
        "grace",
        "password",
        "default",
        "qwen-a",
        "succeeded",
    )
    assert entry.client == "127.0.0.1" and entry.request_id and entry.completed
    line = json.loads([r.getMessage() for r in caplog.records if r.name == "dynamote.audit"][-1])
    assert line["action"] == "deploy" and line["outcome"] == "succeeded"


def test_a_refused_deploy_is_audited_with_the_clusters_message(member_client, cluster_sandbox):
    cluster.dgd_create(manifest=dgd_manifest("qwen-a"))
    body = json.dumps({"modelId": "qwen3-8b", "name": "qwen-a"})
    response = member_client.post("/api/deployments", body, content_type="application/json")
    assert response.status_code == 409
    entry = AuditEntry.objects.get(action="deploy")
    assert entry.outcome == "failed" and "already exists" in entry.message


def test_a_delete_is_appended_before_it_is_sent(member_client, cluster_sandbox, monkeypatch):
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    seen_when_sent = []
    real_delete = cluster.dgd_delete

    def delete(**kwargs):
        seen_when_sent.extend(AuditEntry.objects.filter(action="delete").values("outcome"))
        cluster_sandbox.fail_next(1, code=500)
        return real_delete(**kwargs)

    monkeypatch.setattr(cluster, "dgd_delete", delete)
    response = member_client.delete("/api/deployments/llama?namespace=default")
    assert response.status_code == 502
    assert seen_when_sent == [{"outcome": "pending"}]
    entry = AuditEntry.objects.get(action="delete", name="llama")
    assert entry.outcome == "failed" and entry.message == response.json()["error"]


def test_sign_ins_and_failures_are_audited(db, member):
    client = Client()
    assert client.post("/login/", {"username": "grace", "password": "nope"}).status_code == 200
    assert (
        client.post("/login/", {"username": "grace", "password": "grace-password-1"}).status_code
        == 302
    )
    outcomes = list(AuditEntry.objects.filter(action="sign-in").values_list("actor", "outcome"))
    assert ("grace", "refused") in outcomes and ("grace", "succeeded") in outcomes


def test_entries_cannot_be_changed_or_deleted(db):
    entry = AuditEntry.objects.create(action="deploy", actor="grace")
    entry.summary = "rewritten"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    assert AuditEntry.objects.get(pk=entry.pk).summary == ""


def test_the_admin_shows_entries_but_cannot_change_them(admin_client):
    entry = AuditEntry.objects.create(action="deploy", actor="grace")
    assert admin_client.get("/admin/access/auditentry/").status_code == 200
    assert admin_client.get(f"/admin/access/auditentry/{entry.pk}/delete/").status_code == 403
    response = admin_client.post(f"/admin/access/auditentry/{entry.pk}/change/", {"actor": "x"})
    assert response.status_code == 403
    assert AuditEntry.objects.get(pk=entry.pk).actor == "grace"


def test_prune_audit_removes_only_entries_older_than_the_retention(db, settings):
    settings.DYNAMOTE_AUDIT_RETENTION_DAYS = 30
    AuditEntry.objects.create(action="deploy", time=timezone.now() - timedelta(days=31))
    kept = AuditEntry.objects.create(action="deploy", time=timezone.now() - timedelta(days=29))
    out = io.StringIO()
    call_command("prune_audit", stdout=out)
    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [kept.pk]
    assert "Removed 1 audit entries older than 30 days." in out.getvalue()


def test_grant_and_revoke_commands_change_roles_and_are_audited(db, member, settings):
    out = io.StringIO()
    call_command("grant", "grace", "admin", "--namespace", "dynamo", stdout=out)
    assert Grant.objects.get(user=member, namespace="dynamo").role == "admin"
    call_command("grant", "group:ml-team", "deployer", stdout=out)
    assert Grant.objects.get(group__name="ml-team", namespace="").role == "deployer"
    call_command("revoke", "grace", "--namespace", "dynamo", stdout=out)
    assert not Grant.objects.filter(user=member, namespace="dynamo").exists()
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "outcome"))
    assert actions == [
        ("grant", "succeeded"),
        ("grant", "succeeded"),
        ("revoke", "succeeded"),
    ]
    settings.DYNAMOTE_NAMESPACES = ["default"]
    with pytest.raises(CommandError, match="not one Dynamote may use"):
        call_command("grant", "grace", "deployer", "--namespace", "kube-system")
    with pytest.raises(CommandError, match="There is no user 'nobody'"):
        call_command("grant", "nobody", "viewer")
