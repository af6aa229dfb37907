# SPDX-License-Identifier: MIT
"""The agents' certificate (control/signals/issue.c, README.md "Issuing the certificate"),
run by tests/operator/t_controller.py under the ferry-controller service account with
the manifests as shipped, then again without each of the Role's rules (least privilege:
the create of Secrets and the update of the two by name are needed here).

The leader makes sure of two Secrets in ferry-system: ferry-agent-ca (Opaque: ca.crt,
ca.key; a self-signed ECDSA P-256 CA of 5 years) and ferry-agent-tls (kubernetes.io/tls:
tls.crt, tls.key, ca.crt; a serverAuth certificate of that CA for
ferry-agent.ferry-system.svc, 1 year). Checked, with python3-cryptography and the
openssl command as independent readers:
- both are created at the start (the box had neither), with those types, keys, names,
  lives and extensions; openssl verify takes tls.crt as a TLS server's of ca.crt for the
  agents' name;
- a good certificate is left alone (its resourceVersion does not move over several
  checks), and so is one with more than a third of its life left (made here: 200 days
  gone, 165 left);
- one with less than a third left (300 days gone, 60 left) is re-issued by the running
  controller (FERRY_AGENT_TLS_CHECK_S=1: it checks every second) with the same CA;
- a CA Secret that holds garbage is replaced by a new CA, and the agents' certificate is
  re-issued from it.
"""
import base64
import datetime
import os
import subprocess
import tempfile
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from scenarios_controller import LEASE, wait_until

NAME = "ferry-agent.ferry-system.svc"
CA, TLS = "ferry-agent-ca", "ferry-agent-tls"
SEC = "/api/v1/namespaces/ferry-system/secrets"
DAY = datetime.timedelta(days=1)


def _secret(env, name):
    code, _, body = env.admin.get(f"{SEC}/{name}")
    return body if code == 200 else None


def _data(s, key):
    return base64.b64decode(((s or {}).get("data") or {}).get(key, ""))


def _rv(env, name):
    return ((_secret(env, name) or {}).get("metadata") or {}).get("resourceVersion")


def _life(c):
    return c.not_valid_after - c.not_valid_before


def _verify(ca_pem, crt_pem, host=NAME):
    """openssl verify as a TLS client checks a server: 0 when good."""
    with tempfile.TemporaryDirectory() as d:
        ca, crt = os.path.join(d, "ca.crt"), os.path.join(d, "tls.crt")
        open(ca, "wb").write(ca_pem)
        open(crt, "wb").write(crt_pem)
        return subprocess.run(["openssl", "verify", "-x509_strict", "-purpose", "sslserver",
                               "-verify_hostname", host, "-CAfile", ca, crt],
                              capture_output=True).returncode


def _cert(ca_pem, ca_key_pem, gone_days, left_days):
    """A certificate of the CA for the agents' name, @gone_days old with @left_days left."""
    ca = x509.load_pem_x509_certificate(ca_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    ku = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                       data_encipherment=False, key_agreement=False, key_cert_sign=False,
                       crl_sign=False, encipher_only=False, decipher_only=False)
    crt = (x509.CertificateBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)]))
           .issuer_name(ca.subject).public_key(key.public_key())
           .serial_number(x509.random_serial_number())
           .not_valid_before(now - gone_days * DAY).not_valid_after(now + left_days * DAY)
           .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
           .add_extension(ku, critical=True)
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
           .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()),
                          critical=False)
           .sign(ca_key, hashes.SHA256()))
    return (crt.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def _put(env, name, data):
    s = _secret(env, name)
    s["data"] = {k: base64.b64encode(v).decode() for k, v in data.items()}
    code, _, out = env.admin.put(f"{SEC}/{name}", s)
    if code != 200:
        raise RuntimeError(f"secret {name}: {code} {out}")


def _held(env, names, seconds, alive):
    """Whether none of the Secrets @names changed for @seconds (while @alive runs)."""
    rvs = [_rv(env, n) for n in names]
    end = time.time() + seconds
    while time.time() < end:
        if [_rv(env, n) for n in names] != rvs or alive.p.poll() is not None:
            return False
        time.sleep(0.2)
    return True


def scenario_agent_tls(env, r):
    """The leader creates the agents' CA and certificate Secrets, keeps good ones,
    re-issues the certificate near its end and replaces a CA that is garbage."""
    env.delete_lease()
    for n in (CA, TLS):
        env.admin.delete(f"{SEC}/{n}")
    a = env.controller("tls-a", env={"FERRY_AGENT_TLS_CHECK_S": "1"})
    if not r.check("the controller leads", a.wait_line(r"tls-a: leading .*; \d+ reconcilers?\b", LEASE),
                   a.text()):
        return
    t0 = time.time()
    both = wait_until(lambda: _secret(env, CA) and _secret(env, TLS), 5, alive=a)
    r.figures["secrets_made_s"] = round(time.time() - t0, 2)
    if not r.check("both Secrets exist within 5 s of leading", both, a.text()[-600:]):
        return
    cas, tls = _secret(env, CA), _secret(env, TLS)
    r.check("ferry-agent-ca: Opaque, ca.crt and ca.key",
            (cas.get("type"), sorted(cas.get("data") or {})) == ("Opaque", ["ca.crt", "ca.key"]),
            (cas.get("type"), sorted(cas.get("data") or {})))
    r.check("ferry-agent-tls: kubernetes.io/tls, tls.crt, tls.key and ca.crt",
            (tls.get("type"), sorted(tls.get("data") or {})) ==
            ("kubernetes.io/tls", ["ca.crt", "tls.crt", "tls.key"]),
            (tls.get("type"), sorted(tls.get("data") or {})))
    ca_pem = _data(cas, "ca.crt")
    ca = x509.load_pem_x509_certificate(ca_pem)
    ca_key = serialization.load_pem_private_key(_data(cas, "ca.key"), None)
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    r.check("the CA: self-signed, CA:TRUE (critical), ECDSA P-256, its key's",
            ca.issuer == ca.subject and bc.critical and bc.value.ca and
            isinstance(ca.public_key(), ec.EllipticCurvePublicKey) and
            ca.public_key().curve.name == "secp256r1" and
            ca_key.public_key().public_numbers() == ca.public_key().public_numbers(), ca.subject)
    r.check("the CA's life: 5 years (1826 days and the 5 minutes it starts early)",
            _life(ca) == 1826 * DAY + datetime.timedelta(minutes=5), _life(ca))
    crt = x509.load_pem_x509_certificate(_data(tls, "tls.crt"))
    key = serialization.load_pem_private_key(_data(tls, "tls.key"), None)
    san = crt.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    eku = crt.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    r.check("the certificate: for ferry-agent.ferry-system.svc, serverAuth, its key's, P-256",
            san.get_values_for_type(x509.DNSName) == [NAME] and
            ExtendedKeyUsageOID.SERVER_AUTH in eku and
            key.public_key().public_numbers() == crt.public_key().public_numbers() and
            crt.public_key().curve.name == "secp256r1", (san, eku))
    r.check("the certificate's life: 1 year (and 5 minutes)",
            _life(crt) == 365 * DAY + datetime.timedelta(minutes=5), _life(crt))
    r.check("its ca.crt is the CA's", _data(tls, "ca.crt") == ca_pem)
    r.check("openssl verify: a TLS server's certificate of that CA for the agents' name",
            _verify(ca_pem, _data(tls, "tls.crt")) == 0)
    r.check("... and not for another name", _verify(ca_pem, _data(tls, "tls.crt"), "other.svc") != 0)

    # good ones stay: checked every second, written never
    r.check("good Secrets are left alone (3 s of checks at 1 s)", _held(env, (CA, TLS), 3, a),
            a.text()[-400:])
    ca_rv = _rv(env, CA)

    # two thirds of its life or more left: kept; less than a third: re-issued
    c1, k1 = _cert(ca_pem, _data(cas, "ca.key"), 200, 165)
    _put(env, TLS, {"tls.crt": c1, "tls.key": k1, "ca.crt": ca_pem})
    r.check("a certificate with 165 of 365 days left is kept (3 s)", _held(env, (CA, TLS), 3, a),
            a.text()[-400:])
    c2, k2 = _cert(ca_pem, _data(cas, "ca.key"), 300, 60)
    _put(env, TLS, {"tls.crt": c2, "tls.key": k2, "ca.crt": ca_pem})
    t0 = time.time()
    new = wait_until(lambda: _data(_secret(env, TLS), "tls.crt") not in (c2, b""), 5, alive=a)
    r.figures["reissued_s"] = round(time.time() - t0, 2)
    if r.check("a certificate with 60 of 360 days left is re-issued within 5 s", new, a.text()[-400:]):
        tls = _secret(env, TLS)
        crt = x509.load_pem_x509_certificate(_data(tls, "tls.crt"))
        r.check("the new one has a year again, of the same CA",
                _life(crt) == 365 * DAY + datetime.timedelta(minutes=5) and
                _verify(ca_pem, _data(tls, "tls.crt")) == 0, _life(crt))
        r.check("the CA is the same Secret, unwritten", _rv(env, CA) == ca_rv)

    # a CA Secret of garbage: replaced, and the agents' certificate follows it
    _put(env, CA, {"ca.crt": b"garbage", "ca.key": b"garbage"})
    new = wait_until(lambda: _data(_secret(env, CA), "ca.crt").startswith(b"-----BEGIN CERTIFICATE") and
                     _data(_secret(env, TLS), "ca.crt") == _data(_secret(env, CA), "ca.crt"), 5, alive=a)
    if r.check("a garbage CA is replaced, and the certificate re-issued from the new one, within 5 s",
               new, a.text()[-400:]):
        ca2 = _data(_secret(env, CA), "ca.crt")
        r.check("a new CA", ca2 != ca_pem)
        r.check("openssl verify: the certificate is of the new CA, not of the old",
                _verify(ca2, _data(_secret(env, TLS), "tls.crt")) == 0 and
                _verify(ca_pem, _data(_secret(env, TLS), "tls.crt")) != 0)
    r.check("no key in the controller's log", b"PRIVATE KEY" not in a.text().encode(), a.text()[-400:])
    a.signal(15)
    r.check("SIGTERM: exit 0", a.wait(30) == 0, a.text()[-400:])


SCENARIOS = [
    ("agent-tls", scenario_agent_tls),
]
