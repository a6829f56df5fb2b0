# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SCIM requests an IdP's provisioning engine sends an application in one cycle, in the
forms Microsoft Entra ID and Okta really use, checked against what the application answers.

The Entra and Okta simulators run these cycles against the simulated Alation hosts with the
token they hold, so "a provisioning cycle succeeds" means the host took each form:

- Entra (Microsoft's "Develop a SCIM endpoint" request examples and its SCIM compliance notes):
  PascalCase ops, `Replace emails[type eq "work"].value`, `Add` of the enterprise `manager`
  with the manager's id as a plain string, group `Replace displayName`, member add / remove
  with a value list, and the legacy string `"False"` for `active` (non-gallery apps without
  the compliance flag).
- Okta (its SCIM 2.0 guide): filter queries with startIndex/count, full-profile PUT, group
  rename as a value object without a path, member removal by path
  `members[value eq "<id>"]`, deactivation with `{"active": false}` and no path.

send(method, rel, body) -> (status or None, parsed JSON or None, error text or None);
rel is relative to the SCIM base URL. A cycle returns (steps, error): steps are
[{"op", "method", "status"}], error is None or a one-line reason naming the failed step.
"""

import urllib.parse
import uuid

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class CycleFailed(Exception):
    pass


class Cycle(object):
    def __init__(self, send):
        self.send = send
        self.steps = []

    def step(self, op, method, rel, body=None, ok=(200, 201, 204)):
        status, parsed, error = self.send(method, rel, body)
        self.steps.append({"op": op, "method": method, "status": status})
        if status not in ok:
            raise CycleFailed(describe_failure(op, status, parsed, error))
        return parsed

    def patch(self, op, rel, operations):
        return self.step(op, "PATCH", rel, {"schemas": [PATCH_OP], "Operations": operations})

    def expect(self, op, condition, what):
        """The answer says the change was not made (2xx but another value)."""
        if not condition:
            raise CycleFailed("%s: the application answered success but %s" % (op, what))


def describe_failure(op, status, parsed, error):
    if error:
        return "%s: %s" % (op, error)
    if status == 401:
        head = "Unauthorized (401)"
    else:
        head = "HTTP %s" % status
    detail = parsed.get("detail") if isinstance(parsed, dict) else None
    return "%s: %s%s" % (op.replace("_", " "), head, (": " + detail) if detail else "")


def query(filter_text, **params):
    items = [("filter", filter_text)] + sorted(params.items())
    return urllib.parse.urlencode(items, quote_via=urllib.parse.quote)


def _run(cycle_fn, send, *args):
    cycle = Cycle(send)
    try:
        cycle_fn(cycle, *args)
    except CycleFailed as e:
        return cycle.steps, str(e)
    return cycle.steps, None


def _work_email(user):
    return next((e.get("value") for e in (user or {}).get("emails", []) if e.get("type") == "work"), None)


def _member_ids(group):
    return [m.get("value") for m in (group or {}).get("members", [])]


# ------------------------------------------------------------------ Microsoft Entra ID
def entra_user(user_name, tag):
    return {
        "schemas": [USER, ENTERPRISE],
        "externalId": str(uuid.uuid4()),
        "userName": user_name,
        "active": True,
        "displayName": "Sim %s" % tag,
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Sim %s" % tag, "familyName": tag, "givenName": "Sim"},
        "roles": [],
        ENTERPRISE: {"employeeNumber": tag, "department": "Provisioning"},
    }


def entra_cycle(send, group, tag):
    """One Entra cycle: a user and its manager, the app's group renamed, the user added to it and
    removed, disabled, then both users deleted. group = {"name", "id"} is kept by the caller
    between cycles (the group is created once, found again by displayName)."""
    return _run(_entra, send, group, tag)


def _entra(c, group, tag):
    user_name = "entra-sim-%s@example.test" % tag
    user = c.step("create_user", "POST", "Users", entra_user(user_name, tag), ok=(201,))
    uid = user["id"]
    found = c.step("find_user", "GET", "Users?" + query('userName eq "%s"' % user_name))
    c.expect("find_user", found.get("totalResults") == 1, "the filter found %s users" % found.get("totalResults"))
    new_mail = "renamed-" + user_name
    updated = c.patch("update_user", "Users/" + uid, [
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": new_mail},
        {"op": "Replace", "path": "name.familyName", "value": tag + "-updated"}])
    if updated:
        c.expect("update_user", _work_email(updated) == new_mail, "the work e-mail is %r" % _work_email(updated))
    manager = c.step("create_manager", "POST", "Users", entra_user("manager-" + user_name, tag + "m"), ok=(201,))
    updated = c.patch("add_manager", "Users/" + uid, [
        {"op": "Add", "path": ENTERPRISE + ":manager", "value": manager["id"]}])
    if updated:
        got = (updated.get(ENTERPRISE) or {}).get("manager") or {}
        c.expect("add_manager", got.get("value") == manager["id"], "the manager is %r" % got.get("value"))
    if group.get("id"):
        by_name = query('displayName eq "%s"' % group["display"], excludedAttributes="members")
        listed = c.step("find_group", "GET", "Groups?" + by_name)
        match = next((g for g in listed.get("Resources", []) if g.get("id") == group["id"]), None)
        if match is not None:
            c.expect("find_group", "members" not in match, "excludedAttributes=members still returned members")
        group["id"] = match and match["id"]
    if not group.get("id"):
        group["display"] = "%s-%s" % (group["name"], tag)
        created = c.step("create_group", "POST", "Groups", {
            "schemas": [GROUP], "externalId": str(uuid.uuid4()), "displayName": group["display"],
            "meta": {"resourceType": "Group"}}, ok=(201,))
        group["id"] = created["id"]
    gid = group["id"]
    renamed = "%s-%s" % (group["name"], tag)
    changed = c.patch("rename_group", "Groups/" + gid, [{"op": "Replace", "path": "displayName", "value": renamed}])
    group["display"] = renamed
    if changed:
        c.expect("rename_group", changed.get("displayName") == renamed, "displayName is %r" % changed.get("displayName"))
    changed = c.patch("add_member", "Groups/" + gid, [{"op": "Add", "path": "members", "value": [{"value": uid}]}])
    if changed:
        c.expect("add_member", uid in _member_ids(changed), "the user is not a member")
    changed = c.patch("remove_member", "Groups/" + gid, [{"op": "Remove", "path": "members", "value": [{"value": uid}]}])
    if changed:
        c.expect("remove_member", uid not in _member_ids(changed), "the user is still a member")
    changed = c.patch("disable_user", "Users/" + uid, [{"op": "Replace", "path": "active", "value": "False"}])
    if changed:
        c.expect("disable_user", changed.get("active") is False, "active is %r" % changed.get("active"))
    c.step("delete_user", "DELETE", "Users/" + uid, ok=(204,))
    c.step("delete_manager", "DELETE", "Users/" + manager["id"], ok=(204,))


# ------------------------------------------------------------------ Okta
def okta_user(user_name, family_name):
    return {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Okta", "familyName": family_name},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Okta %s" % family_name,
        "locale": "en-US",
        "externalId": "00u" + uuid.uuid4().hex[:17],
        "groups": [],
        "active": True,
    }


def okta_cycle(send, user_name, tag):
    """One Okta cycle: find-or-create the user, read it, push a profile update (PUT), push a
    group with the user, rename it, remove the user from it, delete the group, deactivate the user."""
    return _run(_okta, send, user_name, tag)


def _okta(c, user_name, tag):
    found = c.step("find_user", "GET", "Users?" + query('userName eq "%s"' % user_name, startIndex=1, count=100),
                   ok=(200,))
    if found.get("Resources"):
        uid = found["Resources"][0]["id"]
    else:
        uid = c.step("create_user", "POST", "Users", okta_user(user_name, "Sim"), ok=(201,))["id"]
    c.step("get_user", "GET", "Users/" + uid, ok=(200,))
    updated = c.step("update_user", "PUT", "Users/" + uid, dict(okta_user(user_name, "Sim-" + tag), id=uid),
                     ok=(200,))
    family_name = ((updated or {}).get("name") or {}).get("familyName")
    c.expect("update_user", family_name == "Sim-" + tag, "familyName is %r" % family_name)
    display = "okta-sim-group-%s" % tag
    listed = c.step("find_group", "GET", "Groups?" + query('displayName eq "%s"' % display, startIndex=1, count=100),
                    ok=(200,))
    if listed.get("Resources"):
        gid = listed["Resources"][0]["id"]
    else:
        gid = c.step("create_group", "POST", "Groups", {"schemas": [GROUP], "displayName": display, "members": []},
                     ok=(201,))["id"]
    changed = c.patch("add_member", "Groups/" + gid, [
        {"op": "add", "path": "members", "value": [{"value": uid, "display": user_name}]}])
    if changed:
        c.expect("add_member", uid in _member_ids(changed), "the user is not a member")
    renamed = display + "-renamed"
    changed = c.patch("rename_group", "Groups/" + gid, [{"op": "replace", "value": {"id": gid, "displayName": renamed}}])
    if changed:
        c.expect("rename_group", changed.get("displayName") == renamed, "displayName is %r" % changed.get("displayName"))
    changed = c.patch("remove_member", "Groups/" + gid, [{"op": "remove", "path": 'members[value eq "%s"]' % uid}])
    if changed:
        c.expect("remove_member", uid not in _member_ids(changed), "the user is still a member")
    c.step("delete_group", "DELETE", "Groups/" + gid, ok=(204,))
    changed = c.patch("deactivate_user", "Users/" + uid, [{"op": "replace", "value": {"active": False}}])
    if changed:
        c.expect("deactivate_user", changed.get("active") is False, "active is %r" % changed.get("active"))
