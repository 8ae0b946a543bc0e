package harness

import (
	"fmt"
	"strings"
	"time"
)

// at least: got >= want x factor (higher is better).
func atLeast(got, want float64) (string, string) {
	if want <= 0 {
		return NotMeasured, ""
	}
	r := got / want
	if r >= 1 {
		return Met, fmt.Sprintf("%.0f%% ahead", (r-1)*100)
	}
	return NotMet, fmt.Sprintf("%.0f%% short", (1-r)*100)
}

// at most: got <= limit (lower is better).
func atMost(got, limit float64) (string, string) {
	if got <= limit {
		if limit > 0 {
			return Met, fmt.Sprintf("%.0f%% under", (1-got/limit)*100)
		}
		return Met, ""
	}
	if limit <= 0 {
		return NotMet, fmt.Sprintf("%.3g over", got-limit)
	}
	return NotMet, fmt.Sprintf("%.0f%% over", (got/limit-1)*100)
}

func perGiB(n int64, bytes int64) float64 {
	if bytes <= 0 {
		return 0
	}
	return float64(n) / (float64(bytes) / (1 << 30))
}

// targets judges the run against the targets of issues 3 and 7.
func (b *bench) targets() []Target {
	var ts []Target
	add := func(issue, what, want, got string, status, by string) {
		ts = append(ts, Target{Issue: issue, What: what, Want: want, Got: got, Status: status, By: by})
	}
	b.speedTargets(add)
	b.nodeTargets(add)
	return ts
}

// addFunc appends one target to the list being built.
type addFunc func(issue, what, want, got, status, by string)

// speedTargets: throughput against the baseline and restic, requests per GiB.
func (b *bench) speedTargets(add addFunc) {
	t := b.t
	faster := func(issue, what string, a, base Row) {
		switch {
		case a.Failed != "":
			add(issue, what, ">= baseline MiB/s", "cassette failed: "+oneLine(a.Failed, 120), NotMet, "did not finish")
		case !a.OK() || !base.OK():
			add(issue, what, ">= baseline MiB/s", "not run", NotMeasured, "")
		default:
			st, by := atLeast(a.MiBps(), base.MiBps())
			add(issue, what, ">= baseline MiB/s", fmt.Sprintf("%.1f vs %.1f MiB/s (%.2fx)", a.MiBps(), base.MiBps(), a.MiBps()/base.MiBps()), st, by)
		}
	}
	for _, c := range b.cfg.Concurrency {
		faster("3, 7", fmt.Sprintf("first full backup, incompressible, c=%d", c), t.fullTP[c], t.fullTPBase[c])
	}
	for _, c := range b.cfg.Concurrency {
		faster("3, 7", fmt.Sprintf("restore, incompressible, c=%d", c), t.restoreTP[c], t.restoreTPBase[c])
	}
	faster("7", "restore of the latest backup, mixed data", t.restoreChurn, t.restoreBase)
	if c := b.cfg.Default; t.fullTP[c].OK() && t.fullTPBase[c].OK() {
		a, base := t.fullTP[c], t.fullTPBase[c]
		rb, rr := t.restoreTP[c], t.restoreTPBase[c]
		add("3", fmt.Sprintf("requests per GiB, incompressible, c=%d", c), "report",
			fmt.Sprintf("backup: cassette %.0f PUT (%.0f objects), baseline %.0f PUT (%.0f objects); restore: cassette %.0f GET, baseline %.0f GET",
				perGiB(a.Counts.Puts(), a.NodeBytes), perGiB(a.Counts.Objects(), a.NodeBytes), perGiB(base.Counts.Puts(), base.NodeBytes), perGiB(base.Counts.Objects(), base.NodeBytes),
				perGiB(rb.Counts.Get, rb.NodeBytes), perGiB(rr.Counts.Get, rr.NodeBytes)), "reported", "")
	}
	if r := t.restic; r.OK() && t.fullTP[b.cfg.Default].OK() {
		a := t.fullTP[b.cfg.Default]
		st, by := atLeast(a.MiBps(), 2*r.MiBps())
		add("7", "first full backup vs restic", ">= 2x restic MiB/s", fmt.Sprintf("%.1f vs %.1f MiB/s (%.2fx)", a.MiBps(), r.MiBps(), a.MiBps()/r.MiBps()), st, by)
	} else {
		why := "restic not run (-steps without peers, or -peers=false)"
		for _, r := range t.peerRows {
			if r.Tool == "restic" && (r.Skipped != "" || r.Failed != "") {
				why = oneLine(r.Skipped+r.Failed, 160)
			}
		}
		add("7", "first full backup vs restic", ">= 2x restic MiB/s", why, NotMeasured, "")
	}
}

// nodeTargets: differential, unchanged, replica, memory and objects.
func (b *bench) nodeTargets(add addFunc) {
	t := b.t
	if d := t.diff; d.OK() && t.churnFull.OK() {
		nb := float64(t.newBytes)
		if d.ReadBytes >= 0 {
			// cassette prints sizes with three significant digits.
			st, by := atMost(float64(d.ReadBytes), nb*1.01)
			add("7", "differential: reads only the new SSTables", "read <= new SSTable bytes",
				fmt.Sprintf("read %s of %s new", mib(d.ReadBytes), mib(t.newBytes))+" MiB", st, by)
		}
		st, by := atMost(float64(d.Counts.BytesUp), 1.1*nb)
		add("7", "differential: uploads at most 1.1x the new bytes", "<= 1.1x new bytes",
			fmt.Sprintf("%s MiB up for %s MiB new (%.2fx; baseline %.2fx)", mib(d.Counts.BytesUp), mib(t.newBytes), float64(d.Counts.BytesUp)/nb, float64(t.diffBase.Counts.BytesUp)/nb), st, by)
		full := t.churnFull.Usage.Wall
		st, by = atMost(d.Usage.Wall.Seconds(), 0.1*full.Seconds())
		add("7", "differential: under 10% of the full backup's time", "< 10% of full",
			fmt.Sprintf("%.2f s vs %.2f s full (%.1f%%)", d.Usage.Wall.Seconds(), full.Seconds(), 100*d.Usage.Wall.Seconds()/full.Seconds()), st, by)
		b.objectsTarget(add, "differential: objects written", d, t.diffBase)
	}
	if u := t.filesUnchanged; u.OK() {
		limit := time.Duration(float64(time.Second) * float64(t.filesCount) / 10000)
		st, by := atMost(u.Usage.Wall.Seconds(), limit.Seconds())
		add("7", fmt.Sprintf("unchanged node, %d files", t.filesCount), "< 1 s per 10,000 files", fmt.Sprintf("%.2f s", u.Usage.Wall.Seconds()), st, by)
	}
	if u := t.unchanged; u.OK() {
		data := countWritten(u, "/packs/") + countWritten(u, "/index/")
		st, by := Met, ""
		if data > 0 {
			st, by = NotMet, fmt.Sprintf("%d pack/index objects", data)
		}
		add("7", "unchanged node: uploads only manifest and summary objects", "no pack or index object",
			fmt.Sprintf("%d objects (%s), %s MiB up", u.Counts.Objects(), kindsWritten(u), mib(u.Counts.BytesUp)), st, by)
	}
	if r, f := t.replica, t.churnFull; r.OK() && f.OK() {
		st, by := atMost(float64(r.Counts.BytesUp), float64(f.Counts.BytesUp))
		if st == Met && r.Counts.BytesUp == f.Counts.BytesUp {
			st = NotMet
		}
		add("7", "second replica uploads less than the first", "< first node's bytes up",
			fmt.Sprintf("%s MiB vs %s MiB (baseline %s MiB)", mib(r.Counts.BytesUp), mib(f.Counts.BytesUp), mib(t.replicaBase.Counts.BytesUp)), st, by)
	}
	var peak Row
	for _, r := range t.cassetteRows {
		if r.Usage.MaxRSS > peak.Usage.MaxRSS {
			peak = r
		}
	}
	if peak.Usage.MaxRSS > 0 {
		st, by := atMost(float64(peak.Usage.MaxRSS), 256e6)
		add("7", "peak memory (largest of all cassette runs)", "< 256 MB", fmt.Sprintf("%.0f MiB (%s)", float64(peak.Usage.MaxRSS)/(1<<20), peak.Run), st, by)
	}
	if a := t.fullTP[b.cfg.Default]; a.OK() {
		add("7", "peak memory flat from 1 GB to 20 GB", "within 20%", fmt.Sprintf("only %s measured in this run (%.0f MiB); run with -size 1GiB and -size 20GiB", mib(a.NodeBytes)+" MiB", float64(a.Usage.MaxRSS)/(1<<20)), NotMeasured, "")
		b.objectsTarget(add, fmt.Sprintf("first full backup: objects written, c=%d", b.cfg.Default), a, t.fullTPBase[b.cfg.Default])
	}
	switch p, pb := t.purge, t.purgeBase; {
	case p.OK() && pb.OK():
		add("7", "purge of old backups (2 of 3, node n1)", "measured",
			fmt.Sprintf("%.2f s, %d requests (%d DELETE) vs baseline %.2f s, %d requests (%d DELETE); at scale: PURGE-RESULTS.md", p.Usage.Wall.Seconds(), p.Counts.Requests(), p.Counts.Delete,
				pb.Usage.Wall.Seconds(), pb.Counts.Requests(), pb.Counts.Delete), "reported", "")
	case p.Failed != "":
		add("7", "purge of old backups", "measured", "cassette failed: "+oneLine(p.Failed, 120), NotMet, "did not finish")
	default:
		add("7", "purge of old backups", "measured", "not run", NotMeasured, "")
	}
}

// notes explain how to read the numbers.
func (b *bench) notes() []string {
	return []string{
		"Every tool runs as its own process, started through a small launcher process (`harness measure`), because Go starts children with vfork and Linux would otherwise charge the harness's own RSS to the child's ru_maxrss; the launcher's few MiB are the floor of every peak RSS figure.",
		"The baseline is built into the harness (`harness baseline-backup` / `baseline-restore`): providers/s3 (aws-sdk-go-v2, same part size, same connection pool) with concurrentTransfers files in flight, no retry decorator, no checksums of its own, no fsync on restore.",
		"The counting proxy runs inside the harness process on the same 2 cores: it costs every tool the same CPU per byte.",
		"Before every measured run the harness flushes the page cache's dirty data (sync(2), not timed), so that no run pays for writing back what the previous one wrote: cassette's restore ends with syncfs(2) of the target file system, which would otherwise also flush MinIO's and the previous run's writes.",
		"MinIO and the tools share the machine's cores: CPU a client spends is CPU MinIO does not get (see /work/shared/PROVIDER-NOTES.md). The load average shows what else was running.",
		"Restore, where it trails the baseline: with MinIO on the same two cores a restore is CPU-bound, and `perf record -g` of `cassette restore` shows SHA-256 verification of every chunk (SHA-NI, about 0.6 ms of CPU per MiB) as a third of cassette's CPU; the rest (creating files, which on this journal-less ext4 costs about 0.4 ms each in inode allocation, copying into the page cache, socket reads) is what the baseline spends too, and cassette spends less of it per byte (128 KiB writes, half the requests). The verification is the gap: it closes where the client has a core MinIO does not use, and no change within cassette removes it without skipping the check. `go test ./bench/harness -run TestProfileBackupRestore` with CASSETTE_BENCH_PROFILE set profiles both restores.",
	}
}

// objectsTarget: at most ceil(uploaded / pack size) + a handful (5) objects,
// where Medusa writes one per new file.
// A backup's lock object is deleted when it ends: it is a request, not an
// object the backup leaves, and does not count.
func (b *bench) objectsTarget(add addFunc, what string, r, base Row) {
	ideal := (r.Counts.BytesUp + b.cfg.PackSize - 1) / b.cfg.PackSize
	budget := float64(ideal + 5)
	locks := int64(countWritten(r, "/locks/"))
	n := r.Counts.Objects() - locks
	st, by := atMost(float64(n), budget)
	lock := ""
	if locks > 0 {
		lock = " (the lock is deleted at the end and not counted)"
	}
	add("7", what, "<= ceil(uploaded / pack size) + 5",
		fmt.Sprintf("%d objects: %s%s; ceil(%s MiB / %s MiB) = %d (baseline: %d objects)", n, kindsWritten(r), lock,
			mib(r.Counts.BytesUp), mib(b.cfg.PackSize), ideal, base.Counts.Objects()), st, by)
}

// countWritten counts the objects r wrote whose path holds part.
func countWritten(r Row, part string) int {
	n := 0
	for _, k := range r.Written {
		if strings.Contains(k, part) {
			n++
		}
	}
	return n
}

// kindsWritten summarises the objects r wrote by the kind of cassette key.
func kindsWritten(r Row) string {
	var parts []string
	for _, k := range []struct{ name, part string }{{"packs", "/packs/"}, {"index", "/index/"}, {"manifest", "/manifest"},
		{"started", "/started"}, {"summaries", "/summaries/"}, {"lock", "/locks/"}} {
		if n := countWritten(r, k.part); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k.name))
		}
	}
	return strings.Join(parts, ", ")
}
