package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// Result is what one benchmark run measured. Its JSON form (WriteJSON) is
// the object `odr bench --json` prints.
type Result struct {
	// API is the status change through the public API: signed request,
	// HTTP, signature check, workflow update and answer.
	API Stats `json:"api"`
	// Raw is the same change sent straight to the dispute's workflow with the
	// Temporal client: no HTTP, no signature.
	Raw Stats `json:"raw"`
	// Ratio is API throughput over raw throughput; 1 would mean the API adds
	// no cost to the engine underneath.
	Ratio float64 `json:"ratio"`
	// Run describes how and where the figures were taken.
	Run RunInfo `json:"run"`
	// Breakdown says where a change's time goes; only a self-contained run
	// can see the stack's metrics.
	Breakdown *Breakdown `json:"breakdown,omitempty"`
	// Scale holds the figures of --scale, when asked for.
	Scale *ScaleResult `json:"scale,omitempty"`
}

// RunInfo records the conditions of a run, without which its figures cannot
// be compared with another's.
type RunInfo struct {
	// Mode is "embedded" (self-contained stack in this process) or "remote".
	Mode        string  `json:"mode"`
	Concurrency int     `json:"concurrency"`
	Rounds      int     `json:"rounds"`
	DurationS   float64 `json:"duration_s"`
	WarmupS     float64 `json:"warmup_s"`
	// Disputes counts the disputes transferred for the throughput rounds,
	// both sides together.
	Disputes int `json:"disputes"`
	// OnDemandTransfers counts disputes transferred inside a measured window
	// because the pool prepared before it ran dry; ideally 0.
	OnDemandTransfers int `json:"on_demand_transfers"`
	// InlineSigned counts tokens signed inside a measured window because
	// the tokens prepared before it ran out (or --sign-inline); ideally 0.
	InlineSigned int `json:"inline_signed_tokens"`
	// CPUs is the number of CPUs of the benchmarking machine, and LoadBefore
	// and LoadAfter its 1-minute load average around the run (0 where
	// /proc/loadavg is missing): the machine may be shared.
	CPUs       int     `json:"cpus"`
	LoadBefore float64 `json:"load_before"`
	LoadAfter  float64 `json:"load_after"`
	// Settings names the tuning of the stack under test (embedded mode).
	Settings map[string]string `json:"settings,omitempty"`
}

// Breakdown splits a change's latency with the stack's own metrics: mean
// milliseconds per change over the measured rounds.
type Breakdown struct {
	// VerifyMS is one request's signature check (auth.Verifier.Authenticate
	// with a fresh token), timed in this process.
	VerifyMS float64    `json:"verify_ms"`
	API      PhaseTimes `json:"api"`
	Raw      PhaseTimes `json:"raw"`
}

// PhaseTimes are mean milliseconds per change of one side. A zero field
// was not observable for that side.
type PhaseTimes struct {
	// ClientMS is the latency the caller saw.
	ClientMS float64 `json:"client_ms"`
	// HTTPServerMS is the public API's handling time, from
	// odr_http_requests_seconds{route="/status"}.
	HTTPServerMS float64 `json:"http_server_ms,omitempty"`
	// UpdateMS is the API's workflow update round trip, from
	// odr_temporal_call_seconds{op="update"}.
	UpdateMS float64 `json:"update_ms,omitempty"`
	// WorkflowTaskScheduleToStartMS is the wait of a workflow task for the
	// worker, and WorkflowTaskExecutionMS the worker's time on it, from the
	// SDK's worker metrics; WorkflowTasksPerChange is how many tasks a
	// change took.
	WorkflowTaskScheduleToStartMS float64 `json:"workflow_task_schedule_to_start_ms,omitempty"`
	WorkflowTaskExecutionMS       float64 `json:"workflow_task_execution_ms,omitempty"`
	WorkflowTasksPerChange        float64 `json:"workflow_tasks_per_change,omitempty"`
	// CPUMS is the CPU time the stack's process used per change: server,
	// worker, APIs and, in embedded mode, the load generator itself.
	CPUMS float64 `json:"cpu_ms,omitempty"`
}

// ScaleResult holds the figures of a run with many open disputes.
type ScaleResult struct {
	// Disputes were transferred through the admin API, Concurrency at a time.
	Disputes    int `json:"disputes"`
	Concurrency int `json:"concurrency"`
	// StartsPerSecond is transfers (workflow starts) acknowledged per second.
	StartsPerSecond float64 `json:"starts_per_s"`
	Errors          int     `json:"errors"`
	// SettleS is how long after the last transfer every dispute's first
	// workflow task had run.
	SettleS float64 `json:"settle_s"`
	// Memory is the process's memory before and after (embedded mode:
	// server, worker and APIs share this process).
	Memory *MemoryDelta `json:"memory,omitempty"`
	// PersistenceBytesPerDispute is the growth of the SQLite database and its
	// write-ahead log divided by Disputes (embedded mode).
	PersistenceBytesPerDispute float64 `json:"persistence_bytes_per_dispute,omitempty"`
	// ListByStatus is the latency of the admin list filtered by status.
	ListByStatus ListLatency `json:"list_by_status"`
}

// MemoryDelta is process memory before and after the scale transfers.
type MemoryDelta struct {
	Before          Memory  `json:"before"`
	After           Memory  `json:"after"`
	LivePerDispute  float64 `json:"heap_alloc_bytes_per_dispute"`
	HeapPerDispute  float64 `json:"heap_inuse_bytes_per_dispute"`
	RSSPerDispute   float64 `json:"rss_bytes_per_dispute"`
	StickyCacheSize int     `json:"sticky_cache_size,omitempty"`
}

// ListLatency is the latency of repeated admin list calls.
type ListLatency struct {
	Status   string  `json:"status"`
	PageSize int     `json:"page_size"`
	Calls    int     `json:"calls"`
	Returned int     `json:"returned"`
	P50      float64 `json:"p50_ms"`
	P95      float64 `json:"p95_ms"`
	Errors   int     `json:"errors"`
}

// WriteJSON writes r as one indented JSON object.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes r for people: the comparison table first, then the
// breakdown and the scale figures when present.
func (r *Result) WriteTable(w io.Writer) error {
	ew := &errWriter{w: w}
	run := r.Run
	ew.printf("odr bench: %s stack, %d clients, %d round(s) over %s (+%s warm-up), %d CPUs, load %.2f -> %.2f\n",
		run.Mode, run.Concurrency, run.Rounds, seconds(run.DurationS), seconds(run.WarmupS), run.CPUs, run.LoadBefore, run.LoadAfter)
	if len(run.Settings) > 0 {
		ew.printf("settings: %s\n", formatSettings(run.Settings))
	}
	if r.API.Requests > 0 || r.Raw.Requests > 0 {
		ew.printf("\n")
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\tchanges/s\tp50 ms\tp95 ms\tp99 ms\terrors\trequests\t")
		for _, row := range []struct {
			name string
			s    Stats
		}{{"api (HTTP + signature)", r.API}, {"raw (Temporal client)", r.Raw}} {
			fmt.Fprintf(tw, "%s\t%.1f\t%.2f\t%.2f\t%.2f\t%d\t%d\t\n", row.name, row.s.Throughput, row.s.P50, row.s.P95, row.s.P99, row.s.Errors, row.s.Requests)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		ew.printf("\nratio api/raw throughput %.3f; api p99 / raw p99 %.3f\n", r.Ratio, safeDiv(r.API.P99, r.Raw.P99))
		for _, side := range []struct {
			name string
			s    Stats
		}{{"api", r.API}, {"raw", r.Raw}} {
			if len(side.s.ErrorKinds) > 0 {
				ew.printf("%s errors: %s\n", side.name, formatCounts(side.s.ErrorKinds))
			}
		}
		if run.OnDemandTransfers > 0 || run.InlineSigned > 0 {
			ew.printf("note: inside the measured windows %d disputes were transferred and %d tokens signed on demand\n",
				run.OnDemandTransfers, run.InlineSigned)
		}
	}
	if b := r.Breakdown; b != nil {
		ew.printf("\nwhere the time goes (mean ms per change; signature check %.3f ms)\n", b.VerifyMS)
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\tcaller\tHTTP handler\tupdate call\ttask wait\ttask run\ttasks/change\tCPU\t")
		for _, row := range []struct {
			name string
			p    PhaseTimes
		}{{"api", b.API}, {"raw", b.Raw}} {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", row.name, opt(row.p.ClientMS), opt(row.p.HTTPServerMS), opt(row.p.UpdateMS),
				opt(row.p.WorkflowTaskScheduleToStartMS), opt(row.p.WorkflowTaskExecutionMS), opt(row.p.WorkflowTasksPerChange), opt(row.p.CPUMS))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if s := r.Scale; s != nil {
		ew.printf("\nscale: %d disputes transferred, %d at a time: %.1f starts/s, %d errors, first tasks done %.1fs after the last transfer\n",
			s.Disputes, s.Concurrency, s.StartsPerSecond, s.Errors, s.SettleS)
		if m := s.Memory; m != nil {
			ew.printf("memory (server, worker and APIs in one process): live heap %s -> %s (%.0f B/dispute), heap in use %s -> %s (%.0f B/dispute), RSS %s -> %s (%.0f B/dispute)\n",
				mib(m.Before.HeapAlloc), mib(m.After.HeapAlloc), m.LivePerDispute,
				mib(m.Before.HeapInuse), mib(m.After.HeapInuse), m.HeapPerDispute, mib(m.Before.RSS), mib(m.After.RSS), m.RSSPerDispute)
		}
		if s.PersistenceBytesPerDispute > 0 {
			ew.printf("persistence: %.0f bytes per dispute (SQLite database + WAL growth)\n", s.PersistenceBytesPerDispute)
		}
		l := s.ListByStatus
		ew.printf("list by status %s (page of %d, %d returned): p50 %.2f ms, p95 %.2f ms over %d calls, %d errors\n",
			l.Status, l.PageSize, l.Returned, l.P50, l.P95, l.Calls, l.Errors)
	}
	return ew.err
}

// errWriter keeps the first write error so that WriteTable checks once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

func seconds(s float64) string { return fmt.Sprintf("%gs", s) }

func opt(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// formatCounts lists counts by descending count, then name.
func formatCounts(m map[string]int) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s x%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func formatSettings(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, " ")
}
