"""tests/fake_kirimwa.py served to the containers, for docker/check/check.sh.

    python fake_kirimwa_server.py PORT TOKEN DEVICE_ID

The fake binds 127.0.0.1 in the tests; here it listens on every address of
its container, on the compose network, and prints each message it accepts as
a JSON line (`docker logs` shows what reached "KirimWA").
"""

import json
import sys
import threading
import time

from fake_kirimwa import FakeKirimWA, _Handler, _Server

port, token, device_id = int(sys.argv[1]), sys.argv[2], sys.argv[3]
fake = FakeKirimWA(token=token, device_id=device_id)
fake._server = _Server(("0.0.0.0", port), _Handler)
fake._server.fake = fake
threading.Thread(target=fake._server.serve_forever, daemon=True).start()
print(json.dumps({"listening": port}), flush=True)
printed = 0
while True:
    with fake._lock:
        accepted = fake.sent[printed:]
    for message in accepted:
        print(json.dumps({"accepted": message}), flush=True)
    printed += len(accepted)
    time.sleep(0.2)
