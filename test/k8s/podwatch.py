#!/usr/bin/env python3
"""Turns `kubectl get pods -w -o json` into one timestamped line per change.

    kubectl get pods -w -o json | podwatch.py > pods.log

Each line: seconds since the epoch (as received), the pod, its phase, Ready,
"deleting" once it has a deletionTimestamp, the container's restart count and
state (running, waiting:REASON or exit=CODE:REASON). A line is written only
when that summary changes, so the log is the pods' timeline.
"""
import json
import sys
import time


def summary(pod):
    meta, status = pod["metadata"], pod.get("status", {})
    ready = next((c["status"] for c in status.get("conditions", []) if c["type"] == "Ready"), "-")
    fields = [meta["name"], status.get("phase", "-"), "ready=" + ready]
    if meta.get("deletionTimestamp"):
        fields.append("deleting")
    for c in status.get("containerStatuses", []):
        state = c.get("state", {})
        if "terminated" in state:
            t = state["terminated"]
            what = "exit=%s:%s" % (t.get("exitCode"), t.get("reason", ""))
        elif "waiting" in state:
            what = "waiting:" + state["waiting"].get("reason", "")
        else:
            what = "running" if "running" in state else "-"
        fields += ["restarts=%d" % c.get("restartCount", 0), what]
    return " ".join(fields)


def main():
    decoder, buf, last = json.JSONDecoder(), "", {}
    for line in sys.stdin:
        buf += line
        while True:
            buf = buf.lstrip()
            try:
                obj, end = decoder.raw_decode(buf)
            except ValueError:
                break
            buf = buf[end:]
            # --output-watch-events wraps each object; plain -w does not.
            pod = obj.get("object", obj)
            deleted = obj.get("type") == "DELETED"
            text = summary(pod) + (" gone" if deleted else "")
            name = pod["metadata"]["name"]
            if last.get(name) != text:
                last[name] = text
                print("%.3f %s" % (time.time(), text), flush=True)


if __name__ == "__main__":
    main()
