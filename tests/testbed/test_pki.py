"""The test bed's CA and server certificates (fleet.ensure_ca / issue_cert, made with trustme).

Run in the unit stage, against a private state directory: the shared test bed is never touched.
"""

import os
import socket
import ssl
import stat
import subprocess
import sys
import threading

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fleet  # noqa: E402
import simbase  # noqa: E402


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setattr(fleet, "STATE_DIR", str(tmp_path))
    return tmp_path


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def openssl(*args):
    return subprocess.run(["openssl"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)


def handshake(crt, key, ca_pem, server_hostname):
    """A TLS handshake with certificate and host name checks on, as the IdP clients and Ansible do."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(crt, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve():
        conn, dummy = listener.accept()
        try:
            server.wrap_socket(conn, server_side=True).close()
        except ssl.SSLError:
            conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    client = ssl.create_default_context(cafile=ca_pem)
    try:
        with client.wrap_socket(socket.create_connection(listener.getsockname()), server_hostname=server_hostname):
            pass
    finally:
        thread.join(5)
        listener.close()


def test_ca_and_server_certificate(state):
    ca_pem, ca_key = fleet.ensure_ca()
    assert (ca_pem, ca_key) == (str(state / "ca" / "ca.pem"), str(state / "ca" / "ca.key"))
    assert (mode(ca_key), mode(ca_pem)) == (0o600, 0o644)
    crt, key = fleet.issue_cert("alation9", "127.0.10.9", str(state / "tls"))
    assert (crt, key) == (str(state / "tls" / "server.pem"), str(state / "tls" / "server.key"))
    assert (mode(key), mode(crt)) == (0o600, 0o644)
    assert openssl("verify", "-CAfile", ca_pem, crt).returncode == 0
    text = openssl("x509", "-in", crt, "-noout", "-text").stdout
    assert "IP Address:127.0.10.9" in text and "DNS:alation9" in text and "TLS Web Server Authentication" in text
    assert "CA:FALSE" in text
    # Clients check the name they dial: the IP (Ansible, IdP clients) or the host name.
    handshake(crt, key, ca_pem, "127.0.10.9")
    handshake(crt, key, ca_pem, "alation9")
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(crt, key, ca_pem, "127.0.10.8")


def test_kept_while_still_right_and_reissued_for_another_address(state):
    ca_pem, dummy = fleet.ensure_ca()
    ca_before = open(ca_pem).read()
    crt, dummy = fleet.issue_cert("alation9", "127.0.10.9", str(state / "tls"))
    first = open(crt).read()
    assert fleet.issue_cert("alation9", "127.0.10.9", str(state / "tls"))[0] == crt
    assert open(crt).read() == first
    fleet.issue_cert("alation9", "127.0.10.19", str(state / "tls"))
    assert open(crt).read() != first and "IP Address:127.0.10.19" in openssl("x509", "-in", crt, "-noout", "-text").stdout
    assert open(fleet.ensure_ca()[0]).read() == ca_before


def test_a_ca_made_earlier_with_openssl_keeps_signing(state):
    """State from before trustme: its CA (PKCS#8 EC key) is loaded, not replaced."""
    ca_dir = state / "ca"
    ca_dir.mkdir()
    assert openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                   "-keyout", str(ca_dir / "ca.key"), "-out", str(ca_dir / "ca.pem"), "-days", "2",
                   "-subj", "/CN=old test bed CA", "-addext", "basicConstraints=critical,CA:TRUE",
                   "-addext", "keyUsage=critical,keyCertSign,cRLSign").returncode == 0
    before = (ca_dir / "ca.pem").read_text()
    crt, key = fleet.issue_cert("entra-sim", "127.0.20.1", str(state / "entra"))
    assert (ca_dir / "ca.pem").read_text() == before
    assert openssl("verify", "-CAfile", str(ca_dir / "ca.pem"), crt).returncode == 0
    handshake(crt, key, str(ca_dir / "ca.pem"), "127.0.20.1")


def test_simulators_sign_their_certificates_with_the_same_ca(state):
    ca_pem, ca_key = fleet.ensure_ca()
    crt, key = simbase.ensure_server_cert(str(state / "okta"), "127.0.30.1", ca_pem, ca_key, name="okta-sim")
    assert openssl("verify", "-CAfile", ca_pem, crt).returncode == 0
    handshake(crt, key, ca_pem, "127.0.30.1")
