"""gunicorn settings for the SCIM endpoint of one simulated host (read from the site dir)."""
import json
import os

_site = os.environ.get("ALATION_SITE_DIR", "/opt/alation/site")
with open(os.path.join(_site, "host.json")) as _f:
    _host = json.load(_f)

bind = "%s:%s" % (_host["address"], _host["port"])
certfile = os.path.join(_site, "tls", "server.pem")
keyfile = os.path.join(_site, "tls", "server.key")
workers = 2
timeout = 60
daemon = True
pidfile = os.path.join(_site, "run", "gunicorn.pid")
accesslog = os.path.join(_site, "logs", "scim_access.log")
errorlog = os.path.join(_site, "logs", "gunicorn.log")
chdir = "/opt/alation/django"
wsgi_app = "alation_site.wsgi:application"
