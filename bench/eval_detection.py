#!/usr/bin/env python3
"""Scores a replay against the simulator's labels.

usage: eval_detection.py LABELS.json SUMMARY.json FINDINGS.jsonl [--markdown OUT.md] [--command CMD]

Per detector: recall (distiller keys with at least one finding naming the
detector) and false-positive rate (benign / look-alike keys with one).
Combined: a key is flagged when its risk reached the alert threshold.
"""
import argparse
import collections
import hashlib
import json
import statistics
import sys


def fingerprint(key):
    return key if key.startswith("fp:") else "fp:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("labels")
    ap.add_argument("summary")
    ap.add_argument("findings")
    ap.add_argument("--markdown")
    ap.add_argument("--command", default="")
    ap.add_argument("--generate-seconds", type=float, default=0)
    args = ap.parse_args()

    labels = {fingerprint(k): v for k, v in json.load(open(args.labels)).items()}
    summary = json.load(open(args.summary))
    stats = summary["stats"]
    keys = {k["key"]: k for k in summary["keys"]}
    finding_detectors = collections.defaultdict(set)
    first_by_detector = {}
    with open(args.findings) as f:
        for line in f:
            ev = json.loads(line)
            for d in ev.get("detectors", {}):
                finding_detectors[ev["key"]].add(d)
                first_by_detector.setdefault((ev["key"], d), ev["request_index"])

    groups = collections.defaultdict(list)  # class -> fps with traffic
    personas = collections.defaultdict(list)
    for fp, lab in labels.items():
        if fp not in keys:
            continue
        groups[lab["class"]].append(fp)
        personas[lab["persona"]].append(fp)
    distillers = groups["distiller"]
    benign = groups["benign"]
    lookalike = groups["lookalike"]
    detectors = sorted({d for ds in finding_detectors.values() for d in ds} |
                       {d for k in summary["keys"] for d in k.get("max_scores", {})})

    def share(fps, pred):
        return (sum(1 for fp in fps if pred(fp)), len(fps))

    def pct(t):
        return f"{100.0 * t[0] / t[1]:.1f}% ({t[0]}/{t[1]})" if t[1] else "n/a"

    alerted = lambda fp: keys[fp]["final_action"] == "alert" or keys[fp]["max_risk"] >= stats["alert_threshold"]
    out = []
    out.append("Per detector: a key counts when the detector's score reached its own finding threshold. "
               "Combined: the key's risk reached the alert threshold.")
    out.append("")
    out.append("| detector | recall (distillers) | FPR benign | FPR look-alikes |")
    out.append("|---|---|---|---|")
    thresholds = stats.get("detector_thresholds", {})
    for d in detectors:
        # A detector "fired" on a key when its score reached its own finding
        # threshold at some point (or a finding line named it).
        has = lambda fp, d=d: (d in finding_detectors.get(fp, ()) or
                               keys[fp].get("max_scores", {}).get(d, 0) >= thresholds.get(d, 2))
        out.append(f"| {d} | {pct(share(distillers, has))} | {pct(share(benign, has))} | {pct(share(lookalike, has))} |")
    out.append(f"| **combined (risk >= {stats['alert_threshold']})** | {pct(share(distillers, alerted))} | "
               f"{pct(share(benign, alerted))} | {pct(share(lookalike, alerted))} |")
    out.append("")
    out.append("| persona | keys | flagged (risk >= threshold) | with any finding | median max risk | min / max of max risk |")
    out.append("|---|---|---|---|---|---|")
    for p in sorted(personas):
        fps = personas[p]
        out.append(f"| {p} | {len(fps)} | {pct(share(fps, alerted))} | "
                   f"{pct(share(fps, lambda fp: bool(finding_detectors.get(fp))))} | "
                   f"{statistics.median(keys[fp]['max_risk'] for fp in fps):.2f} | "
                   f"{min(keys[fp]['max_risk'] for fp in fps):.2f} / {max(keys[fp]['max_risk'] for fp in fps):.2f} |")
    out.append("")
    firsts = [keys[fp]["first_finding_request_index"] for fp in distillers if keys[fp].get("first_finding_request_index")]
    alerts = [keys[fp]["alert_request_index"] for fp in distillers if keys[fp].get("alert_request_index")]
    firsts_h = [(keys[fp]["first_finding_ts"] - 0) for fp in distillers if keys[fp].get("first_finding_ts")]
    cpu = stats.get("cpu_seconds") or stats["seconds"]
    recs_per_s = stats["records"] / cpu if cpu else 0
    out.append(f"- median requests until a distiller's first finding: "
               f"{statistics.median(firsts) if firsts else 'n/a'} (over {len(firsts)} distillers with a finding)")
    out.append(f"- median requests until a distiller's risk reached the alert threshold: "
               f"{statistics.median(alerts) if alerts else 'n/a'}")
    out.append(f"- replay: {stats['records']} records, {stats['bytes'] / 2**20:.0f} MiB in {cpu:.1f} s of CPU "
               f"({stats['seconds']:.1f} s wall on a shared machine) = {recs_per_s:,.0f} records/s "
               f"({stats['bytes'] / 2**20 / max(cpu, 1e-9):.0f} MiB/s), {stats['bad_lines']} bad lines")
    out.append(f"- bytes of detector state per key (Engine::bytes_per_key): {stats.get('engine_bytes_per_key', 'n/a')}")
    missed = [(labels[fp]["persona"], fp, round(keys[fp]["max_risk"], 2)) for fp in distillers if not alerted(fp)]
    fps_ = [(labels[fp]["persona"], fp, round(keys[fp]["max_risk"], 2)) for fp in benign + lookalike if alerted(fp)]
    if missed:
        out.append(f"- missed distillers: {missed}")
    if fps_:
        out.append(f"- false positives: {fps_}")
    text = "\n".join(out)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("# Detection evaluation on simulated traffic\n\n")
            if args.command:
                f.write(f"Command: `{args.command}`\n\n")
            f.write(f"Population: {len(benign)} benign, {len(lookalike)} look-alike and {len(distillers)} distiller keys "
                    f"with traffic; {stats['records']} records.\n")
            if args.generate_seconds:
                f.write(f"Generation took {args.generate_seconds:.1f} s.\n")
            f.write("\n" + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
