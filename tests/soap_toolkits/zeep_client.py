"""A SOAP toolkit against the emulator: zeep binds to the WSDL the emulator serves, then calls
test.echo, a signed auth.checkToken, and a badly signed one whose fault must carry
ipernity.error.105. Prints one line per check and an `answer METHOD JSON` line with each raw
answer envelope; exits non-zero on the first failure.

    python3 zeep_client.py BASE_URL API_KEY SECRET TOKEN
"""
import hashlib
import json
import sys
import xml.etree.ElementTree as ET

import zeep
from lxml import etree
from zeep.plugins import HistoryPlugin

base, key, secret, token = sys.argv[1:5]
history = HistoryPlugin()
client = zeep.Client(base + "/soap?wsdl", plugins=[history])
address = client.service._binding_options["address"]
assert address == base + "/soap", address
print("bound to", address)


def element(name, value):
    node = etree.Element(name)
    node.text = value
    return node


def call(method, params, secret=None):
    """Signs as over REST: sorted name+value pairs, the method, the secret; api_sig is an
    ordinary parameter element like api_key and auth_token."""
    params = dict(params, api_key=key)
    if secret is not None:
        text = "".join(k + v for k, v in sorted(params.items())) + method + secret
        params["api_sig"] = hashlib.md5(text.encode("utf-8")).hexdigest()
    try:
        answer = client.service.call(
            method=method, _value_1=[element(k, v) for k, v in params.items()]
        )
    finally:
        raw = etree.tostring(history.last_received["envelope"]).decode("utf-8")
        print("answer", method, json.dumps(raw))
    return ET.fromstring(answer)


echo = call("test.echo", {"echo": "zeep: é & <ok>"})
assert echo.get("status") == "ok", ET.tostring(echo)
assert echo.findtext("echo") == "zeep: é & <ok>", ET.tostring(echo)
print("test.echo ok")

auth = call("auth.checkToken", {"auth_token": token}, secret=secret).find("auth")
assert auth is not None and auth.find("user").get("username") == "emulated"
print("auth.checkToken ok:", auth.find("permissions").attrib)

try:
    call("auth.checkToken", {"auth_token": token}, secret="not-the-secret")
    sys.exit("a bad signature was accepted")
except zeep.exceptions.Fault:
    received = history.last_received["envelope"]
    code = received.findtext(".//{http://www.w3.org/2003/05/soap-envelope}Fault/faultcode")
    assert code == "ipernity.error.105", etree.tostring(received)
    print("fault", code)
