#!/usr/bin/env python3
"""Checks and reports one pod handover of make e2e-k8s.

    handover.py NAME DIR OLD_POD NEW_POD GRACE_SECONDS

Reads what e2e-steps.sh gathered in DIR: the pods' timeline (pods.log, from
podwatch.py), shardinit's JSON logs of the old and the new pod
(NAME-old.log, NAME-new.log) and the two load generators' results
(NAME-keepalive.json, NAME-close.json). Prints RESULT lines; exits 1 after
a FAIL line when the old pod did not drain as it should or a request failed.
"""
import datetime
import json
import sys



def timeline(d, pod, text, after=0.0):
    """When the pod watch first showed text for pod (at or after `after`)."""
    for line in open(f"{d}/pods.log"):
        f = line.split()
        if f[1] == pod and text in f[2:] and float(f[0]) >= after:
            return float(f[0]), f
    return None, None


def shardinit_log(path):
    """msg -> (epoch seconds, record) of shardinit's first line with it."""
    out = {}
    for line in open(path):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if "msg" in r and "time" in r and r["msg"] not in out:
            t = datetime.datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()
            out[r["msg"]] = (t, r)
    return out


def at(t, t0):
    return "-" if t is None or t0 is None else "%+.2fs" % (t - t0)


def main(name, d, old, new, grace):
    failed = []

    def check(ok, what):
        if not ok:
            failed.append(what)

    olog, nlog = shardinit_log(f"{d}/{name}-old.log"), shardinit_log(f"{d}/{name}-new.log")
    deleting, _ = timeline(d, old, "deleting")
    unready, _ = timeline(d, old, "ready=False", after=deleting or 0)
    exit_line = None
    for line in open(f"{d}/pods.log"):
        f = line.split()
        if f[1] == old and any(x.startswith("exit=") for x in f):
            exit_line = f
    exit_code = next((x.split("=")[1].split(":")[0] for x in exit_line if x.startswith("exit=")), None) if exit_line else None
    draining = olog.get("draining", (None, {}))
    stopping = olog.get("stopping workers", (None, {}))
    exiting = olog.get("exiting", (None, {}))
    new_start = nlog.get("starting", (None, {}))[0]
    new_health = nlog.get("health address bound", (None, {}))[0]
    new_ready, _ = timeline(d, new, "ready=True")

    t0 = deleting
    delay = float(draining[1].get("drain_delay", 0))  # shardinit logs durations in seconds
    print(f"RESULT {name}: old pod {old}: SIGTERM (deleted) at 0, shardinit draining {at(draining[0], t0)} "
          f"(drain-delay {delay:g}s), "
          f"Ready=False {at(unready, t0)}, stopping workers {at(stopping[0], t0)}, exit {at(exiting[0], t0)} "
          f"with code {exiting[1].get('code')} (pod status: {exit_code}); grace period {grace:.0f}s")
    print(f"RESULT {name}: new pod {new}: shardinit started {at(new_start, t0)}, took the health port "
          f"{at(new_health, t0)}, Ready {at(new_ready, t0)}; the two pods shared the port for "
          f"{'%.2fs' % (stopping[0] - new_start) if stopping[0] and new_start else '-'} before the old workers stopped")
    check(draining[0] is not None, "the old shardinit did not log draining")
    check(draining[0] is None or stopping[0] is None or stopping[0] - draining[0] >= delay - 0.05,
          "the old shardinit stopped its workers before its drain delay was over")
    check(unready is not None and stopping[0] is not None and unready < stopping[0],
          "the old pod's Ready did not turn False before its workers were stopped")
    check(exiting[1].get("code") == 0 and exit_code in (None, "0"), "the old shardinit did not exit 0")
    check(deleting is not None and exiting[0] is not None and exiting[0] - deleting < grace,
          "the old shardinit did not exit inside the grace period")
    check(new_start is not None and stopping[0] is not None and new_start < stopping[0],
          "the new pod did not start before the old pod stopped its workers")
    check(new_ready is not None and (new_health is None or new_ready >= new_health),
          "the new pod was Ready before its shardinit had the health port")

    for kind in ("keepalive", "close"):
        r = json.load(open(f"{d}/{name}-{kind}.json"))
        bad = sum(r["errors"].values()) + r["unstarted"]
        print(f"RESULT {name} load ({kind}): {r['due']} requests due, {r['done']} answered, {bad} failed "
              f"{r['errors']}, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms")
        check(bad == 0 and r["done"] == r["due"], f"{bad} failed requests ({kind})")

    for what in failed:
        print(f"FAIL: {name}: {what}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5], float(sys.argv[5])))
