# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A scripted stand-in for _http.send, for tests of the IdP clients (ApiClient's `transport`)."""

import json

from ansible_collections.alation.scim.plugins.module_utils._http import Response


class Transport(object):
    """Answers from a script [(method, URL path suffix, Response or exception)], in order; records
    what was sent (method, url, headers, data, the TLS keywords)."""

    def __init__(self, script):
        self.script = list(script)
        self.sent = []

    def __call__(self, method, url, headers=None, data=None, **kw):
        self.sent.append({"method": method, "url": url, "headers": dict(headers or {}), "data": data, "kw": kw})
        want_method, suffix, answer = self.script.pop(0)
        assert (method, url.split("?")[0].endswith(suffix)) == (want_method, True), (method, url)
        if isinstance(answer, Exception):
            raise answer
        return answer


def answer(body, status=200, headers=None):
    return Response(status, headers or {}, json.dumps(body).encode())
