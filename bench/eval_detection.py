#!/usr/bin/env python3
"""Scores replays of bench/eval_detection.sh against the simulator's labels.

usage: eval_detection.py --runs RUNS.tsv [--markdown OUT.md] [--config FILE] [--command CMD] ...

RUNS.tsv: one line per run: set, name, seed, options, labels.json,
decisions.jsonl (the replay's decision lines), summary.json, seconds.

A key is ACTIONED when the policy took a throttle, degrade or block decision
on it; shadow decisions (log and alert only) are counted apart. Per set and
per persona: keys, actioned, shadow-only, median requests of a key up to its
first action; per campaign: hours from its first request to the first
member actioned and to 95% of its members actioned.
"""
import argparse
import collections
import hashlib
import json
import re
import statistics
import sys

ACTIONS = ("block", "throttle", "degrade")


def fingerprint(key):
    return key if key.startswith("fp:") else "fp:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def group_of(persona):
    if persona.startswith(("benign/", "lookalike/")):
        return "benign"
    if persona.startswith("distiller/"):
        return "single-key distiller"
    if persona.startswith("mixed/") or persona == "campaign/mixed_extraction":
        return "mixed-in extraction"
    if persona.startswith("campaign/"):
        return "campaign member"
    return "other"


ENDPOINT = {"/v1/chat/completions": "chat", "/v1/responses": "responses", "/v1/completions": "completions",
            "/v1/messages": "messages"}


class Key:
    __slots__ = ("fp", "label", "requests", "first_ts", "first_action", "first_action_ts", "first_action_index",
                 "actions", "shadow", "max_risk", "evidence", "rules", "alert_index", "detectors")

    def __init__(self, fp, label):
        self.fp = fp
        self.label = label
        self.requests = label.get("requests", 0)
        self.first_ts = label.get("first_ts")
        self.first_action = None
        self.first_action_ts = None
        self.first_action_index = None
        self.actions = collections.Counter()
        self.shadow = 0
        self.max_risk = 0.0
        self.evidence = []
        self.rules = collections.Counter()
        self.alert_index = 0
        self.detectors = {}

    @property
    def persona(self):
        return self.label["persona"]

    @property
    def actioned(self):
        return self.first_action is not None


def load_run(labels_path, decisions_path, summary_path):
    labels = json.load(open(labels_path))
    keys = {}
    for raw, lab in labels.items():
        if lab.get("requests", 1) == 0:
            continue  # a key that sent nothing in the window is not part of the population
        keys[fingerprint(raw)] = Key(fingerprint(raw), lab)
    with open(decisions_path) as f:
        for line in f:
            if '"decision"' not in line:
                continue
            ev = json.loads(line)
            k = keys.get(ev.get("key"))
            if k is None or ev.get("event") != "decision":
                continue
            action = ev.get("action")
            rule = ev.get("rule") or ev.get("origin") or ""
            if action in ACTIONS:
                k.actions[action] += 1
                k.rules[rule] += 1
                if k.first_action is None:
                    k.first_action = action
                    k.first_action_ts = ev["ts"]
                    k.first_action_index = ev.get("request_index")
                    k.evidence = ev.get("evidence", [])[:2]
                    k.detectors = ev.get("detectors", {})
            elif action == "shadow":
                k.shadow += 1
                k.rules["shadow:" + rule] += 1
    summary = json.load(open(summary_path))
    for row in summary["keys"]:
        k = keys.get(row["key"])
        if k is not None:
            k.max_risk = row.get("max_risk", 0)
            k.alert_index = row.get("alert_request_index") or 0
            if not k.evidence:
                k.evidence = row.get("top_evidence", [])[:2]
    return keys, summary["stats"]


def pct(n, d):
    return f"{100.0 * n / d:.1f}% ({n}/{d})" if d else "n/a"


def med(xs):
    xs = [x for x in xs if x is not None]
    return f"{statistics.median(xs):.0f}" if xs else "–"


def med_h(xs):
    return f"{statistics.median(xs):.1f}" if xs else "–"


def persona_table(keys):
    by = collections.defaultdict(list)
    for k in keys:
        by[k.persona].append(k)
    out = ["| persona | keys | actioned (throttle/degrade/block) | block / throttle / degrade (first action) | "
           "shadow only | median requests to first action | median requests of a key |",
           "|---|---|---|---|---|---|---|"]

    def order(p):
        return (["benign", "single-key distiller", "campaign member", "mixed-in extraction", "other"].index(group_of(p)), p)

    for p in sorted(by, key=order):
        ks = by[p]
        act = [k for k in ks if k.actioned]
        first = collections.Counter(k.first_action for k in act)
        shadow_only = sum(1 for k in ks if not k.actioned and k.shadow)
        bold = "**" if group_of(p) == "benign" and act else ""
        out.append(f"| {p} | {len(ks)} | {bold}{pct(len(act), len(ks))}{bold} | "
                   f"{first['block']} / {first['throttle']} / {first['degrade']} | {shadow_only} | "
                   f"{med(k.first_action_index for k in act)} | {med(k.requests for k in ks)} |")
    return out


def group_table(keys):
    out = ["| group | keys | actioned | shadow only | median requests to first action |", "|---|---|---|---|---|"]
    by = collections.defaultdict(list)
    for k in keys:
        by[group_of(k.persona)].append(k)
    for g in ["benign", "single-key distiller", "campaign member", "mixed-in extraction"]:
        ks = by.get(g, [])
        act = [k for k in ks if k.actioned]
        shadow_only = sum(1 for k in ks if not k.actioned and k.shadow)
        name = "benign + look-alike (must be 0 actioned)" if g == "benign" else g
        out.append(f"| {name} | {len(ks)} | {pct(len(act), len(ks))} | {shadow_only} | "
                   f"{med(k.first_action_index for k in act)} |")
    return out


def endpoint_table(keys):
    out = ["| endpoint of the key's first request | benign keys | benign actioned | attack keys | attack actioned |",
           "|---|---|---|---|---|"]
    by = collections.defaultdict(lambda: ([], []))
    for k in keys:
        ep = ENDPOINT.get(k.label.get("endpoint", ""), k.label.get("endpoint", "?"))
        by[ep][0 if group_of(k.persona) == "benign" else 1].append(k)
    for ep in ["chat", "responses", "completions", "messages"] + sorted(set(by) - set(ENDPOINT.values())):
        if ep not in by:
            continue
        b, a = by[ep]
        out.append(f"| {ep} | {len(b)} | {pct(sum(k.actioned for k in b), len(b))} | {len(a)} | "
                   f"{pct(sum(k.actioned for k in a), len(a))} |")
    return out


def campaign_table(run_keys):
    out = ["| run | campaign | persona | members | actioned | first request (h after population start) | "
           "h to first member actioned | h to 95% actioned | median h from a member's own first request to its action | "
           "median requests to first action |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for run, keys in run_keys:
        t0 = min((k.first_ts for k in keys if k.first_ts is not None), default=0)
        camps = collections.defaultdict(list)
        for k in keys:
            if k.label.get("campaign"):
                camps[k.label["campaign"]].append(k)
        for cid in sorted(camps):
            ks = camps[cid]
            start = min(k.first_ts for k in ks if k.first_ts is not None)
            times = sorted(k.first_action_ts for k in ks if k.actioned)
            first = f"{(times[0] - start) / 3600:.1f}" if times else "never"
            need = -(-95 * len(ks) // 100)
            p95 = f"{(times[need - 1] - start) / 3600:.1f}" if len(times) >= need else f"never ({len(times)}/{len(ks)})"
            out.append(f"| {run} | {cid} | {ks[0].persona} | {len(ks)} | {pct(len(times), len(ks))} | "
                       f"{(start - t0) / 3600:.1f} | {first} | {p95} | "
                       f"{med_h([(k.first_action_ts - k.first_ts) / 3600 for k in ks if k.actioned])} | "
                       f"{med(k.first_action_index for k in ks if k.actioned)} |")
    return out


def false_positive_lines(keys, limit=40):
    fps = [k for k in keys if group_of(k.persona) == "benign" and k.actioned]
    out = []
    for k in sorted(fps, key=lambda k: (k.persona, k.first_action_ts or 0))[:limit]:
        rules = ", ".join(f"{r} x{n}" for r, n in k.rules.most_common(3))
        ev = "; ".join(k.evidence)[:300]
        dets = ", ".join(f"{d} {v:.2f}" for d, v in sorted(k.detectors.items(), key=lambda x: -x[1]))
        out.append(f"- {k.persona} {k.fp}: first {k.first_action} at request {k.first_action_index} of {k.requests}"
                   f" (max risk {k.max_risk:.2f}; rules {rules}; detectors then: {dets or 'none'}): {ev}")
    if len(fps) > limit:
        out.append(f"- ... and {len(fps) - limit} more")
    return out


def missed_lines(keys, limit=25):
    miss = [k for k in keys if group_of(k.persona) in ("single-key distiller", "mixed-in extraction") and not k.actioned]
    by = collections.Counter(k.persona for k in miss)
    return [f"- {p}: {n} not actioned" for p, n in sorted(by.items())][:limit]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--markdown")
    ap.add_argument("--config", default="")
    ap.add_argument("--command", default="")
    ap.add_argument("--started", default="")
    ap.add_argument("--revision", default="unknown")
    ap.add_argument("--load", default="")
    ap.add_argument("--data", default="")
    ap.add_argument("--cores", default="")
    ap.add_argument("--total-seconds", type=float, default=0)
    ap.add_argument("--partial", action="store_true")
    args = ap.parse_args()

    runs = []
    for line in open(args.runs):
        if not line.strip():
            continue
        set_, name, seed, options, labels, decisions, summary, secs = line.rstrip("\n").split("\t")
        keys, stats = load_run(labels, decisions, summary)
        runs.append(dict(set=set_, name=name, seed=seed, options=options, keys=list(keys.values()), stats=stats,
                         seconds=float(secs)))

    md = ["# Detection evaluation: tuning set and test set", ""]
    md.append(f"Command: `{args.command.strip() or 'bench/eval_detection.sh'}` — config `{args.config}` "
              "(built-in detection defaults; policy `config/policy.example.yaml`).")
    md.append(f"Run on {args.started} at commit `{args.revision}`, {args.cores} cores; load average before the run: {args.load}; "
              f"whole evaluation {args.total_seconds:.0f} s.")
    if args.data:
        md.append(f"Data: {args.data}.")
    if args.partial:
        md.append("**Partial run (--only): not every run of the sets is included.**")
    md.append("")
    md.append("Protocol (bench/detection_sets.sh): thresholds, rules and detectors are tuned ONLY on the tuning set; "
              "the test set has other seeds and other shapes (campaign sizes, per-day rates, network modes, endpoint "
              "mixes, BYOK app sizes, mixed-in shares) and is the one to report. *Actioned* = the policy took a "
              "throttle, degrade or block decision on the key; *shadow only* = only shadow (log + alert) decisions. "
              "Requests to first action = the key's request_index at its first acting decision.")
    md.append("")
    md.append("| set | run | seed | keys | records | replay CPU s | generate + replay wall s |")
    md.append("|---|---|---|---|---|---|---|")
    for r in runs:
        st = r["stats"]
        md.append(f"| {r['set']} | {r['name']} | {r['seed']} | {len(r['keys'])} | {st.get('records', 0)} | "
                  f"{st.get('cpu_seconds', st.get('seconds', 0)):.1f} | {r['seconds']:.0f} |")
    md.append("")
    md.append("<details><summary>dg-simulate options of each run</summary>")
    md.append("")
    for r in runs:
        options = re.sub(r"\s+", " ", r["options"])
        md.append(f"- `{r['name']}`: `dg-simulate --seed {r['seed']} {options}`")
    md.append("")
    md.append("</details>")
    set_names = []
    for r in runs:
        if r["set"] not in set_names:
            set_names.append(r["set"])
    # The test set first: it is the one to report.
    set_names.sort(key=lambda s: {"test": 0, "tuning": 1}.get(s, 2))
    for s in set_names:
        rs = [r for r in runs if r["set"] == s]
        keys = [k for r in rs for k in r["keys"]]
        title = {"test": "TEST set (report this one)", "tuning": "TUNING set"}.get(s, s)
        md += ["", f"## {title}: {', '.join(r['name'] for r in rs)}", ""]
        md += group_table(keys)
        md += ["", "### Per persona", ""]
        md += persona_table(keys)
        md += ["", "### Per endpoint", ""]
        md += endpoint_table(keys)
        md += ["", "### Campaigns", ""]
        md += campaign_table([(r["name"], r["keys"]) for r in rs])
        fps = false_positive_lines(keys)
        md += ["", f"### Benign and look-alike keys actioned ({sum(1 for k in keys if group_of(k.persona) == 'benign' and k.actioned)})", ""]
        md += fps or ["- none"]
        miss = missed_lines(keys)
        if miss:
            md += ["", "### Single-key and mixed-in attackers not actioned", ""] + miss
    text = "\n".join(md) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
