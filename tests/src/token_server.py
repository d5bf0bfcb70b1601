# A registry token server as docker's distribution expects one (its `auth: token:`): GET
# /token?service=S&scope=repository:NAME:ACTIONS with HTTP basic auth answers {"token": JWT},
# a JWT signed RS256 by KEY whose x5c is CERT (the registry's rootcertbundle). Right credentials
# get the actions asked for, none get a token with no access, wrong ones get 401.
# Usage: token_server.py KEY CERT USER PASS PORT
import base64, json, os, subprocess, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

key, cert, user, password, port = sys.argv[1:6]
der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"],
                     capture_output=True, check=True).stdout


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


header = b64u(json.dumps({"typ": "JWT", "alg": "RS256",
                          "x5c": [base64.b64encode(der).decode()]}).encode())


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        query = parse_qs(urlparse(self.path).query)
        auth = self.headers.get("Authorization", "")
        who = None
        if auth.startswith("Basic "):
            u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
            if (u, p) != (user, password):
                self.send_response(401)
                self.end_headers()
                return
            who = u
        access = []
        for scope in query.get("scope", []):
            for one in scope.split(" "):
                kind, name, actions = one.split(":", 2)
                if who:
                    access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {"iss": "den-test-issuer", "sub": who or "", "aud": query.get("service", [""])[0],
                  "exp": now + 600, "nbf": now - 60, "iat": now, "jti": os.urandom(8).hex(),
                  "access": access}
        payload = header + "." + b64u(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=payload.encode(),
                             capture_output=True, check=True).stdout
        token = payload + "." + b64u(sig)
        body = json.dumps({"token": token, "access_token": token, "expires_in": 600}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
