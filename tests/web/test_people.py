from __future__ import annotations

import pytest

from incidentdesk.accounts.models import StakeholderOrg, User
from incidentdesk.core.models import AuditEntry

pytestmark = pytest.mark.django_db

NEW = {
    "email": "kim@spacewise.test",
    "first_name": "Kim",
    "last_name": "Lee",
    "role": "member",
    "organisation": "",
    "password": "a-long-enough-secret",
}


def test_admin_manages_people_and_orgs(client_for, admin, member):
    c = client_for(admin)
    assert "New account" in c.get("/people/").content.decode()
    audits = AuditEntry.objects.count()
    assert c.post("/people/new", NEW).status_code == 302
    kim = User.objects.get(email="kim@spacewise.test")
    assert kim.role == "member" and kim.check_password(NEW["password"])
    r = c.post("/people/new", NEW)
    assert "already exists" in r.content.decode()
    r = c.post("/people/new", {**NEW, "email": "x@y.test", "role": "stakeholder"})
    assert "belongs to an organisation" in r.content.decode()
    assert c.post(f"/people/{kim.pk}", {"role": "manager"}).status_code == 302
    assert c.post(f"/people/{member.pk}", {"active": "0"}).status_code == 302
    kim.refresh_from_db()
    member.refresh_from_db()
    assert kim.role == "manager" and not member.is_active
    c.post(f"/people/{admin.pk}", {"active": "0"})
    admin.refresh_from_db()
    assert admin.is_active
    assert c.post("/people/orgs/new", {"name": "Fabrikam"}).status_code == 302
    org = StakeholderOrg.objects.get(name="Fabrikam")
    c.post(f"/people/orgs/{org.pk}", {"active": "0"})
    org.refresh_from_db()
    assert not org.active
    assert AuditEntry.objects.count() == audits + 5


@pytest.mark.parametrize("who", ["manager", "member", "stakeholder"])
def test_others_cannot_manage_people(client_for, request, who, member):
    c = client_for(request.getfixturevalue(who))
    assert c.get("/people/").status_code == 403
    assert c.post("/people/new", NEW).status_code == 403
    assert c.post(f"/people/{member.pk}", {"active": "0"}).status_code == 403
    assert c.post("/people/orgs/new", {"name": "Evil"}).status_code == 403
    member.refresh_from_db()
    assert member.is_active
    assert not User.objects.filter(email=NEW["email"]).exists()
    assert not StakeholderOrg.objects.filter(name="Evil").exists()


def test_anonymous_is_sent_to_login_from_people(client_for):
    c = client_for(None)
    assert c.get("/people/").url.startswith("/login/")
    assert c.post("/people/new", NEW).url.startswith("/login/")
    assert not User.objects.filter(email=NEW["email"]).exists()
