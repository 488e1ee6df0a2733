#!/usr/bin/env python3
"""A loopback fake of the Telegram Bot API's sendMessage and of a JSON webhook, for tests.

usage: fake_telegram.py SCRIPT.json RECORD.json PORTFILE

Listens on 127.0.0.1 on a free port, written to PORTFILE (atomically) once it
accepts connections.  SCRIPT.json:

  {"token": "123456:ABC-def", "chat_id": "-1001234567890",
   "webhook_token": "s3cret" (optional: then `Authorization: Bearer s3cret` is required),
   "telegram": [{"status": 429, "retry_after": 1}, {"status": 500}, ...],
   "webhook":  [{"status": 500}, {"status": 429, "retry_after": 1}, ...]}

Each list is the scripted answers of that endpoint, in order; once a list is
used up every request is judged on its merits (200 when valid).

  POST /bot<TOKEN>/sendMessage   as Telegram: a wrong token gets 401
      {"ok": false, "error_code": 401, "description": "Unauthorized"}; the body
      must be JSON with chat_id (the script's, as a number or a string), text,
      parse_mode "HTML", disable_web_page_preview true; the text must be
      Telegram HTML (only its tags and attributes, balanced, every <, > and &
      outside a tag written as an entity; only &lt; &gt; &amp; &quot; and
      numeric entities) and 1-4096 UTF-16 code units once parsed, else 400
      "Bad Request: ...".  A scripted 429 answers as Telegram does, in the body
      only: {"ok": false, "error_code": 429, "description": "Too Many Requests:
      retry after N", "parameters": {"retry_after": N}}.
  POST /hook...                  the webhook: any JSON object; 200 {"ok": true};
      a scripted 429 carries a Retry-After header.

RECORD.json is rewritten after every request: {"requests": [{"endpoint",
"time", "path", "status", "body", "authorization", "content_type", "plain",
"units", "errors"}], "protocol_errors": [...]}; "plain" and "units" are the
parsed text of a sendMessage and its length in UTF-16 code units.  Invalid
requests are listed in protocol_errors too (a wrong token is not one).

Test tooling only (Python standard library); never part of milkcast.
"""
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LIMIT = 4096
# Telegram's HTML parse mode: tag -> allowed attributes (None: no value).
TAGS = {
    "b": {}, "strong": {}, "i": {}, "em": {}, "u": {}, "ins": {}, "s": {}, "strike": {},
    "del": {}, "tg-spoiler": {}, "span": {"class": "tg-spoiler"}, "a": {"href": ""},
    "tg-emoji": {"emoji-id": ""}, "code": {"class": ""}, "pre": {}, "blockquote": {"expandable": None},
}
NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
TAG_RE = re.compile(r"<(/?)([a-z][a-z-]*)((?:\s+[a-z-]+(?:=\"[^\"<]*\")?)*)\s*>")
ATTR_RE = re.compile(r"\s+([a-z-]+)(?:=\"([^\"<]*)\")?")

script = json.load(open(sys.argv[1]))
record_path = sys.argv[2]
lock = threading.Lock()
record = {"requests": [], "protocol_errors": []}
queues = {"telegram": list(script.get("telegram", [])), "webhook": list(script.get("webhook", []))}
message_id = [0]


def save():
    with open(record_path + ".tmp", "w") as f:
        json.dump(record, f, ensure_ascii=False)
    os.replace(record_path + ".tmp", record_path)


def entity(text, i, errors):
    """Decode the entity at text[i] ('&'); returns (char, next index)."""
    m = ENTITY_RE.match(text, i)
    if not m:
        errors.append("unescaped '&' or unsupported entity at %d: %r" % (i, text[i:i + 12]))
        return "&", i + 1
    if m.group(1):
        return NAMED[m.group(1)], m.end()
    cp = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
    if cp == 0 or cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
        errors.append("bad numeric entity %r" % m.group(0))
        return "?", m.end()
    return chr(cp), m.end()


def decode(value, errors):
    out, i = [], 0
    while i < len(value):
        if value[i] == "&":
            c, i = entity(value, i, errors)
            out.append(c)
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_html(text):
    """Telegram HTML -> (plain text, errors), strictly."""
    errors, out, stack, i = [], [], [], 0
    while i < len(text):
        c = text[i]
        if c == "<":
            m = TAG_RE.match(text, i)
            if not m:
                errors.append("unescaped '<' or malformed tag at %d: %r" % (i, text[i:i + 20]))
                i += 1
                continue
            closing, name, attrs = m.group(1), m.group(2), m.group(3)
            i = m.end()
            if name not in TAGS:
                errors.append("unsupported tag <%s>" % name)
                continue
            if closing:
                if attrs.strip():
                    errors.append("attributes on </%s>" % name)
                if not stack or stack[-1] != name:
                    errors.append("unbalanced </%s> (open: %s)" % (name, stack))
                else:
                    stack.pop()
                continue
            for am in ATTR_RE.finditer(attrs):
                aname, aval = am.group(1), am.group(2)
                if aname not in TAGS[name]:
                    errors.append("attribute %s not allowed on <%s>" % (aname, name))
                    continue
                want = TAGS[name][aname]
                if want is None and aval is not None:
                    errors.append("attribute %s takes no value" % aname)
                if want is not None and aval is None:
                    errors.append("attribute %s needs a value" % aname)
                if aval is not None:
                    v = decode(aval, errors)
                    if want and v != want:
                        errors.append("%s=%r on <%s>" % (aname, v, name))
                    if name == "a" and not re.match(r"^(https?|tg)://\S+$", v):
                        errors.append("bad href %r" % v)
            if name == "a" and "href" not in attrs:
                errors.append("<a> without href")
            if "a" in stack and name == "a":
                errors.append("nested <a>")
            if stack and stack[-1] in ("code", "pre") and not (stack[-1] == "pre" and name == "code"):
                errors.append("<%s> inside <%s>" % (name, stack[-1]))
            stack.append(name)
        elif c == "&":
            ch, i = entity(text, i, errors)
            out.append(ch)
        elif c == ">":
            errors.append("unescaped '>' at %d" % i)
            out.append(c)
            i += 1
        else:
            out.append(c)
            i += 1
    if stack:
        errors.append("unclosed tags %s" % stack)
    return "".join(out), errors


def utf16_units(s):
    return len(s.encode("utf-16-le")) // 2


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, doc, headers=()):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        entry = {"time": time.time(), "path": self.path, "authorization": self.headers.get("Authorization"),
                 "content_type": self.headers.get("Content-Type"), "body": None, "errors": []}
        try:
            entry["body"] = json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            entry["errors"].append("body is not UTF-8 JSON: %s" % e)
        with lock:
            if self.path.startswith("/bot"):
                entry["endpoint"] = "telegram"
                status, doc, headers = self.telegram(entry)
            elif self.path.startswith("/hook"):
                entry["endpoint"] = "webhook"
                status, doc, headers = self.webhook(entry)
            else:
                entry["endpoint"] = "unknown"
                entry["errors"].append("unknown path")
                status, doc, headers = 404, {"ok": False, "error_code": 404, "description": "Not Found"}, ()
            entry["status"] = status
            record["requests"].append(entry)
            record["protocol_errors"].extend("%s %s: %s" % (entry["endpoint"], len(record["requests"]), e)
                                             for e in entry["errors"])
            save()
        self.reply(status, doc, headers)

    def scripted(self, endpoint):
        if queues[endpoint]:
            return queues[endpoint].pop(0)
        return None

    def telegram(self, e):
        m = re.match(r"^/bot([^/]+)/sendMessage$", self.path)
        if not m or m.group(1) != script["token"]:
            e["auth"] = "bad_token"
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, ()
        if "application/json" not in (e["content_type"] or ""):
            e["errors"].append("Content-Type %r" % e["content_type"])
        body = e["body"]
        if not isinstance(body, dict):
            e["errors"].append("body is not a JSON object")
            body = {}
        if str(body.get("chat_id")) != str(script["chat_id"]):
            e["errors"].append("chat_id %r" % (body.get("chat_id"),))
        if body.get("parse_mode") != "HTML":
            e["errors"].append("parse_mode %r" % (body.get("parse_mode"),))
        if body.get("disable_web_page_preview") is not True:
            e["errors"].append("disable_web_page_preview %r" % (body.get("disable_web_page_preview"),))
        text = body.get("text")
        if not isinstance(text, str):
            e["errors"].append("text missing")
            text = ""
        plain, errs = parse_html(text)
        try:
            e["units"] = utf16_units(plain)
        except UnicodeEncodeError:
            errs.append("text holds a lone surrogate")
            e["units"] = -1
        e["plain"] = plain
        if not 1 <= e["units"] <= LIMIT:
            errs.append("parsed text is %d UTF-16 code units (1-%d)" % (e["units"], LIMIT))
        e["errors"].extend(errs)
        s = self.scripted("telegram")
        if s and s["status"] == 429:
            ra = s.get("retry_after", 1)
            return 429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after %s" % ra,
                         "parameters": {"retry_after": ra}}, ()
        if s and s["status"] != 200:
            st = s["status"]
            desc = s.get("description", {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
                                         404: "Not Found"}.get(st, "Internal Server Error"))
            doc = {"ok": False, "error_code": st, "description": desc}
            if "parameters" in s:
                doc["parameters"] = s["parameters"]
            return st, doc, ()
        if e["errors"]:
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: can't parse entities: " + "; ".join(e["errors"])}, ()
        message_id[0] += 1
        chat = body.get("chat_id")
        return 200, {"ok": True, "result": {"message_id": message_id[0], "date": int(time.time()),
                                            "chat": {"id": chat, "type": "supergroup"}, "text": plain}}, ()

    def webhook(self, e):
        want = script.get("webhook_token")
        if want and e["authorization"] != "Bearer " + want:
            e["auth"] = "bad_token"
            return 401, {"error": "unauthorized"}, ()
        if not isinstance(e["body"], dict):
            e["errors"].append("webhook body is not a JSON object")
        s = self.scripted("webhook")
        if s and s["status"] == 429:
            return 429, {"error": "slow down"}, (("Retry-After", str(s.get("retry_after", 1))),)
        if s and s["status"] != 200:
            return s["status"], {"error": s.get("description", "scripted failure")}, ()
        return 200, {"ok": True}, ()


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
save()
with open(sys.argv[3] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(sys.argv[3] + ".tmp", sys.argv[3])
server.serve_forever()
