"""A small OpenID Connect provider on 127.0.0.1 for Streamlit's login (``st.login``) in tests.

Streamlit hands the login to Authlib, which reads the discovery document, sends the browser to
the authorize endpoint (state, nonce, and a PKCE S256 challenge since the document offers it),
then exchanges the code at the token endpoint (client secret by HTTP Basic) and checks the
id_token: RS256 signature against the JWKS, ``iss``, ``aud``, ``exp``, ``iat`` and ``nonce``.
This provider does each of those steps the way a real one does and refuses what a real one
would (unknown client, wrong secret, reused code, wrong redirect_uri, failed PKCE check); what
it refused is in ``refusals`` so a test can assert there was nothing.

Its authorize page is a form: the person (or the browser test) types the email to sign in as,
and may untick "verified" to get ``email_verified: false``.

    with IdentityProvider() as idp:
        secrets.write_text(idp.streamlit_secrets(cookie_secret="..."))
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import RSAKey

__all__ = ["IdentityProvider"]

CLIENT_ID = "parley-test"
CLIENT_SECRET = "client-secret-for-tests"


@dataclass
class _Grant:
    claims: dict
    redirect_uri: str
    code_challenge: str | None


class IdentityProvider:
    """The provider: ``issuer`` is its URL; ``streamlit_secrets()`` the [auth] section that
    points an app at it; ``signed_in`` the emails it issued an id_token for, in order."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"},
                                       auto_kid=True)
        self._grants: dict[str, _Grant] = {}
        self._lock = threading.Lock()
        self.signed_in: list[str] = []
        self.refusals: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "IdentityProvider":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def streamlit_secrets(self, cookie_secret: str) -> str:
        """The ``.streamlit/secrets.toml`` text for an app on 127.0.0.1 (any port) to log in here."""
        return (f'[auth]\nredirect_uri = "http://127.0.0.1:{{port}}/oauth2callback"\n'
                f'cookie_secret = "{cookie_secret}"\nclient_id = "{CLIENT_ID}"\n'
                f'client_secret = "{CLIENT_SECRET}"\n'
                f'server_metadata_url = "{self.issuer}/.well-known/openid-configuration"\n')

    def discovery(self) -> dict:
        return {"issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "scopes_supported": ["openid", "email", "profile"]}

    def jwks(self) -> dict:
        return {"keys": [self.key.as_dict(private=False)]}

    def grant(self, query: dict[str, str], email: str, verified: bool) -> str:
        """Record a sign-in as ``email`` for the authorize request ``query``; return its code."""
        code = secrets.token_urlsafe(24)
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": hashlib.sha256(email.lower().encode()).hexdigest()[:24],
                  "aud": CLIENT_ID, "iat": now, "exp": now + 3600, "email": email,
                  "email_verified": verified, "name": email.split("@")[0].title()}
        if query.get("nonce"):
            claims["nonce"] = query["nonce"]
        with self._lock:
            self._grants[code] = _Grant(claims, query["redirect_uri"], query.get("code_challenge"))
        return code

    def exchange(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, dict]:
        """The token endpoint's answer (status, JSON body) to an authorization-code exchange."""
        client_id, secret = basic or (form.get("client_id"), form.get("client_secret"))
        if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
            return self.refuse(401, "invalid_client", f"client {client_id!r} with a wrong secret")
        if form.get("grant_type") != "authorization_code":
            return self.refuse(400, "unsupported_grant_type", str(form.get("grant_type")))
        with self._lock:
            grant = self._grants.pop(form.get("code", ""), None)
        if grant is None:
            return self.refuse(400, "invalid_grant", "unknown or reused code")
        if form.get("redirect_uri") != grant.redirect_uri:
            return self.refuse(400, "invalid_grant", f"redirect_uri {form.get('redirect_uri')!r}")
        if grant.code_challenge is not None:
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.code_challenge:
                return self.refuse(400, "invalid_grant", "PKCE code_verifier does not match")
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, grant.claims, self.key)
        self.signed_in.append(grant.claims["email"])
        return 200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer",
                     "expires_in": 3600, "scope": "openid email profile", "id_token": id_token}

    def refuse(self, status: int, error: str, why: str) -> tuple[int, dict]:
        self.refusals.append(f"{error}: {why}")
        return status, {"error": error, "error_description": why}


def _handler_for(idp: IdentityProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # the test output is not the place
            pass

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._json(200, idp.discovery())
            elif url.path == "/jwks":
                self._json(200, idp.jwks())
            elif url.path == "/authorize":
                self._authorize_form(query)
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            path = urlparse(self.path).path
            if path == "/authorize":
                self._signed_in(form)
            elif path == "/token":
                self._json(*idp.exchange(form, self._basic_auth()))
            else:
                self._json(404, {"error": "not_found"})

        def _authorize_form(self, query: dict[str, str]) -> None:
            if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code" \
                    or not query.get("redirect_uri"):
                status, body = idp.refuse(400, "invalid_request", f"authorize {query}")
                self._json(status, body)
                return
            hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                             for k, v in query.items())
            page = (f"<!doctype html><title>Test identity provider</title><h1>Sign in</h1>"
                    f'<form method="post" action="/authorize">{hidden}'
                    '<label>Email <input name="login_email" type="email" required></label>'
                    '<label><input name="login_verified" type="checkbox" checked> verified</label>'
                    '<button type="submit">Sign in</button></form>')
            self._send(200, "text/html; charset=utf-8", page.encode())

        def _signed_in(self, form: dict[str, str]) -> None:
            email = form.pop("login_email", "")
            verified = form.pop("login_verified", None) == "on"
            code = idp.grant(form, email, verified)
            back = {"code": code, **({"state": form["state"]} if "state" in form else {})}
            self.send_response(302)
            self.send_header("Location", f"{form['redirect_uri']}?{urlencode(back)}")
            self.end_headers()

        def _basic_auth(self) -> tuple[str, str] | None:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return None
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return unquote_plus(user), unquote_plus(password)

        def _json(self, status: int, body: dict) -> None:
            self._send(status, "application/json", json.dumps(body).encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    return Handler
