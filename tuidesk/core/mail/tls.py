"""TLS for every mail connection: verification on by default, a CA file per mailbox, or an
explicitly accepted certificate pinned by its SHA-256 fingerprint."""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass

from tuidesk.core.errors import MailError


@dataclass(frozen=True)
class TlsPolicy:
    verify: bool = True
    ca_file: str = ""
    fingerprint: str = ""  # sha256 hex (colons allowed) of an accepted self-signed certificate

    def context(self) -> ssl.SSLContext:
        if self.fingerprint or not self.verify:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            try:
                context = ssl.create_default_context(cafile=self.ca_file or None)
            except (OSError, ssl.SSLError) as exc:
                raise MailError(
                    f"the CA file {self.ca_file} cannot be loaded ({exc})",
                    hint="point tls_ca_file at a PEM file with the server's CA certificate",
                ) from None
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def check_peer(self, sock: ssl.SSLSocket, where: str) -> None:
        """With a pinned fingerprint, refuse any other certificate."""
        if not self.fingerprint:
            return
        seen = certificate_fingerprint(sock)
        wanted = normalise_fingerprint(self.fingerprint)
        if seen != wanted:
            raise MailError(
                f"the certificate of {where} has fingerprint {seen}, not the accepted {wanted}",
                hint="if the server's certificate was replaced on purpose, accept the new one "
                "with `tuidesk mailbox edit NAME --set tls_accept_fingerprint=" + seen + "`",
            )


def normalise_fingerprint(value: str) -> str:
    return value.replace(":", "").strip().lower()


def certificate_fingerprint(sock: ssl.SSLSocket) -> str:
    der = sock.getpeercert(binary_form=True) or b""
    return hashlib.sha256(der).hexdigest()


def describe_peer(sock: ssl.SSLSocket) -> dict[str, str]:
    """TLS facts for `mailbox test`: protocol, cipher, subject, issuer, expiry, fingerprint."""
    facts = {"protocol": sock.version() or "", "cipher": (sock.cipher() or ("",))[0]}
    cert = sock.getpeercert() or {}
    if cert:
        facts["subject"] = ", ".join("=".join(x) for rdn in cert.get("subject", ()) for x in rdn)
        facts["issuer"] = ", ".join("=".join(x) for rdn in cert.get("issuer", ()) for x in rdn)
        facts["expires"] = str(cert.get("notAfter", ""))
    facts["sha256"] = certificate_fingerprint(sock)
    return facts
