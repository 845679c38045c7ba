"""What a user does through the reverse proxy, against the running containers.

Run by docker/check/check.sh (standard library only, on the host):

    journey.py createsuperuser COMPOSE... -- USERNAME PASSWORD
    journey.py web BASE_URL HOST USERNAME PASSWORD CUSTOMER_ID

Every request goes as the TLS proxy on the machine would send it: Host set to
the site's name, X-Forwarded-Proto: https and the client's address appended
to X-Forwarded-For. Prints what it did; exits non-zero at the first surprise.
"""

import http.cookies
import os
import pty
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def fail(message):
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


class Browser:
    """One client behind the proxy: its cookies (secure ones too: the proxy speaks TLS)."""

    def __init__(self, base_url, host, client_address):
        self.base_url, self.host, self.client_address = base_url, host, client_address
        self.cookies = {}

    def request(self, path, data=None):
        headers = {
            "Host": self.host,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": self.client_address,
            "User-Agent": "crm-docker-check",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            data = {"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **data}
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"https://{self.host}"
            headers["Referer"] = f"https://{self.host}{path}"
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers)
        try:
            response = OPENER.open(request, timeout=30)
        except urllib.error.HTTPError as error:
            response = error
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = http.cookies.SimpleCookie(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        return response.status, response.headers, response.read().decode(errors="replace")

    def login(self, username, password):
        status, _headers, _page = self.request("/admin/login/")
        if status != 200:
            fail(f"GET /admin/login/ answered {status}")
        return self.request("/admin/login/", {
            "username": username, "password": password, "next": "/admin/",
        })


def hidden(page, name):
    match = re.search(rf'name="{name}" value="([^"]*)"', page) or re.search(
        rf'value="([^"]*)" name="{name}"', page)
    if not match:
        fail(f"no {name} in the page")
    return match.group(1)


def web(base_url, host, username, password, customer_id):
    # Login lockout behind the proxy: an attacker's five wrong passwords lock
    # the username out from the attacker's address only.
    attacker = Browser(base_url, host, "203.0.113.66")
    for _ in range(5):
        status, _headers, _page = attacker.login(username, "wrong-password")
    status, _headers, _page = attacker.login(username, password)
    if status != 429:
        fail(f"after 5 wrong passwords the attacker's address got {status}, not 429")
    print("lockout: 5 wrong passwords from 203.0.113.66 -> 429 for that address")

    owner = Browser(base_url, host, "198.51.100.7")
    status, headers, page = owner.login(username, password)
    if status != 302 or headers.get("Location") != "/admin/":
        fail(f"the owner's login from another address answered {status} "
             f"{headers.get('Location')}: {page[:300]}")
    print("login: 302 -> /admin/ from 198.51.100.7 (not locked out by the attacker)")

    for path in ("/admin/", "/admin/crm/customer/import/"):
        status, _headers, page = owner.request(path)
        if status != 200:
            fail(f"GET {path} answered {status}: {page[:500]}")
        print(f"GET {path}: 200")

    send = f"/admin/crm/customer/{customer_id}/send-whatsapp/"
    status, _headers, page = owner.request(send)
    if status != 200:
        fail(f"GET {send} answered {status}")
    text = "Halo dari pemeriksaan Docker"
    status, _headers, page = owner.request(send, {
        "template": "", "text": text, "request_token": hidden(page, "request_token"),
    })
    if status != 200:
        fail(f"the send preview answered {status}")
    status, headers, page = owner.request(send, {
        "template": "", "text": text, "request_token": hidden(page, "request_token"),
        "confirm": "1",
    })
    if status != 302:
        fail(f"the send confirmation answered {status}: {page[:500]}")
    print(f"WhatsApp: confirmed on {send}, 302 -> {headers.get('Location')}")


def createsuperuser(command, username, password):
    """The README's `createsuperuser`, answered at its prompts as a person would."""
    pid, terminal = pty.fork()
    if pid == 0:
        os.execvp(command[0], command + ["--username", username,
                                         "--email", f"{username}@example.id"])
    output, answered, deadline = "", 0, time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(terminal, 1024).decode(errors="replace")
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        prompts = output.count("Password")
        while answered < prompts:
            os.write(terminal, f"{password}\n".encode())
            answered += 1
    _pid, status = os.waitpid(pid, 0)
    if status != 0 or "Superuser created successfully" not in output:
        fail(f"createsuperuser: {output}")
    print(f"createsuperuser: {username} created")


if __name__ == "__main__":
    action, *args = sys.argv[1:]
    if action == "web":
        web(*args)
    elif action == "createsuperuser":
        split = args.index("--")
        createsuperuser(args[:split], *args[split + 1:])
    else:
        fail(f"unknown action {action}")
