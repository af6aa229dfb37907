# SPDX-License-Identifier: MIT
"""kboxd.faults: failures a test asks for, so a client's error paths run for real.

POST /kbox/v1/faults (admin token only) adds a rule; DELETE clears them all;
GET lists them. A rule matches requests by verb (get, list, watch, create,
update, patch, delete, deletecollection or "*") and a regular expression
searched in the request path (query string excluded), and fires `count` times
(default 1; 0 = until cleared). Actions:
- {"action": "status", "code": 429|500|503|..., "retryAfter": S}: answer that
  Status instead (429 carries Retry-After, as API Priority and Fairness does);
- {"action": "delay", "seconds": S}: answer normally, S seconds late;
- {"action": "cutWatch", "afterEvents": K}: a matching watch sends K events,
  then the connection is closed without the terminating chunk (a broken
  stream, not a clean end);
- {"action": "down", "userRegex": R, "seconds": S}: the API server away for
  the users whose name R matches (fullmatch), for S seconds from now, as a
  restarting server is to its clients while the nodes' containers go on:
  every request of theirs (any verb and path but the box's /kbox/ hooks) has
  its connection closed with no answer, and each of their open watches is cut
  within a second.
POST /kbox/v1/compact forgets all history (store.compact): every older
resourceVersion, continue token or watch position is then 410 Expired.
"""
import re
import threading
import time

from .util import ApiError, bad_request, internal, too_many_requests, unavailable

VERBS = {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "*"}


class Rule:
    def __init__(self, d):
        self.verb = d.get("verb", "*")
        if self.verb not in VERBS:
            raise bad_request(f"fault verb must be one of {sorted(VERBS)}")
        try:
            self.path = re.compile(d.get("pathRegex", ""))
        except re.error as e:
            raise bad_request(f"fault pathRegex: {e}")
        self.count = int(d.get("count", 1))
        self.action = d.get("action", "status")
        if self.action not in ("status", "delay", "cutWatch", "down"):
            raise bad_request("fault action must be status, delay, cutWatch or down")
        try:
            self.user = re.compile(d.get("userRegex", ".*"))
        except re.error as e:
            raise bad_request(f"fault userRegex: {e}")
        self.until = time.monotonic() + float(d.get("seconds", 1)) if self.action == "down" else 0.0
        self.code = int(d.get("code", 500))
        self.retry_after = d.get("retryAfter")
        self.seconds = float(d.get("seconds", 1))
        self.after_events = int(d.get("afterEvents", 0))
        self.fired = 0
        self.raw = d

    def matches(self, verb, path):
        return (self.verb == "*" or self.verb == verb) and self.path.search(path) is not None


class Faults:
    def __init__(self):
        self.rules = []
        self.lock = threading.Lock()

    def add(self, d):
        if not isinstance(d, dict):
            raise bad_request("a fault is a JSON object")
        r = Rule(d)
        with self.lock:
            self.rules.append(r)
        return r

    def clear(self):
        with self.lock:
            self.rules = []

    def list(self):
        with self.lock:
            return [dict(r.raw, fired=r.fired) for r in self.rules]

    def down(self, user):
        """Whether the API server is away for @user (a "down" rule live for them)."""
        now = time.monotonic()
        with self.lock:
            for r in self.rules:
                if r.action == "down" and now < r.until and r.user.fullmatch(user):
                    r.fired += 1
                    return True
        return False

    def take(self, verb, path, action=None):
        """The first live rule for this request (and action kind), counting it as fired."""
        with self.lock:
            for r in self.rules:
                if action and r.action != action:
                    continue
                if not action and r.action in ("cutWatch", "down"):
                    continue
                if r.count and r.fired >= r.count:
                    continue
                if r.matches(verb, path):
                    r.fired += 1
                    return r
        return None


def error_for(rule):
    code = rule.code
    if code == 429:
        return too_many_requests(rule.retry_after if rule.retry_after is not None else 1)
    if code == 500:
        return internal("injected fault")
    if code == 503:
        e = unavailable()
        if rule.retry_after is not None:
            e.headers["Retry-After"] = str(int(rule.retry_after))
        return e
    if code == 410:
        return ApiError(410, "Expired", "too old resource version: injected fault")
    if code == 504:
        return ApiError(504, "Timeout", "the server was unable to return a response in the time allotted")
    if code == 409:
        return ApiError(409, "Conflict", "injected conflict")
    if code == 404:
        return ApiError(404, "NotFound", "the server could not find the requested resource")
    return ApiError(code, "", f"injected fault {code}")
