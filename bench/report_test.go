package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleResult() *Result {
	return &Result{
		API: Stats{Throughput: 180, P50: 150.5, P95: 250, P99: 300.25, Errors: 0, Requests: 3600, Seconds: 20},
		Raw: Stats{Throughput: 200, P50: 140, P95: 230, P99: 280, Errors: 2, Requests: 3600, Seconds: 17.99,
			ErrorKinds: map[string]int{"timeout": 2}},
		Ratio: 0.9,
		Run: RunInfo{Mode: "embedded", Concurrency: 32, Rounds: 8, DurationS: 20, WarmupS: 3, Disputes: 1400,
			CPUs: 2, LoadBefore: 1.5, LoadAfter: 2.25, Settings: map[string]string{"sqlite.synchronous": "FULL", "api.rate_limit": "off"}},
	}
}

// TestJSONShape pins the contract of `odr bench --json` (issue 8): api and
// raw, each with throughput, p50_ms, p95_ms, p99_ms and errors, and ratio.
func TestJSONShape(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, sampleResult().WriteJSON(&buf))

	var got map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
	assert.Equal(t, 0.9, got["ratio"])
	for side, want := range map[string]map[string]any{
		"api": {"throughput": 180.0, "p50_ms": 150.5, "p95_ms": 250.0, "p99_ms": 300.25, "errors": 0.0},
		"raw": {"throughput": 200.0, "p50_ms": 140.0, "p95_ms": 230.0, "p99_ms": 280.0, "errors": 2.0},
	} {
		obj, ok := got[side].(map[string]any)
		require.True(t, ok, "%s is an object: %s", side, buf.String())
		for k, v := range want {
			assert.Equal(t, v, obj[k], "%s.%s", side, k)
		}
	}
	assert.Equal(t, map[string]any{"timeout": 2.0}, got["raw"].(map[string]any)["error_kinds"])
	assert.NotContains(t, got["api"], "error_kinds", "no errors, no breakdown of them")
	assert.NotContains(t, got, "breakdown", "absent unless measured")
	assert.NotContains(t, got, "scale", "absent unless asked for")
	assert.Equal(t, "embedded", got["run"].(map[string]any)["mode"])
	assert.True(t, strings.HasSuffix(buf.String(), "}\n"), "one object, one trailing newline")

	// And it decodes back into the same Result.
	var back Result
	require.NoError(t, json.Unmarshal(buf.Bytes(), &back))
	assert.Equal(t, *sampleResult(), back)
}

func TestWriteTable(t *testing.T) {
	r := sampleResult()
	r.Breakdown = &Breakdown{
		VerifyMS: 0.0456,
		API:      PhaseTimes{ClientMS: 160, HTTPServerMS: 158, UpdateMS: 157.5, WorkflowTaskScheduleToStartMS: 100, WorkflowTaskExecutionMS: 0.5, WorkflowTasksPerChange: 1, CPUMS: 9.25},
		Raw:      PhaseTimes{ClientMS: 150, WorkflowTaskScheduleToStartMS: 95, WorkflowTaskExecutionMS: 0.5, WorkflowTasksPerChange: 1, CPUMS: 8},
	}
	r.Scale = &ScaleResult{
		Disputes: 10000, Concurrency: 32, StartsPerSecond: 250.5, SettleS: 1.5,
		Memory: &MemoryDelta{
			Before: Memory{HeapAlloc: 80 << 20, HeapInuse: 100 << 20, RSS: 200 << 20}, After: Memory{HeapAlloc: 100 << 20, HeapInuse: 150 << 20, RSS: 300 << 20},
			LivePerDispute: 2097.152, HeapPerDispute: 5242.88, RSSPerDispute: 10485.76,
		},
		PersistenceBytesPerDispute: 12345,
		ListByStatus:               ListLatency{Status: "TRANSFERRED", PageSize: 50, Calls: 20, Returned: 50, P50: 12.5, P95: 20},
	}
	var buf bytes.Buffer
	require.NoError(t, r.WriteTable(&buf))
	want := `odr bench: embedded stack, 32 clients, 8 round(s) over 20s (+3s warm-up), 2 CPUs, load 1.50 -> 2.25
settings: api.rate_limit=off sqlite.synchronous=FULL

                          changes/s  p50 ms  p95 ms  p99 ms  errors  requests
  api (HTTP + signature)      180.0  150.50  250.00  300.25       0      3600
   raw (Temporal client)      200.0  140.00  230.00  280.00       2      3600

ratio api/raw throughput 0.900; api p99 / raw p99 1.072
raw errors: timeout x2

where the time goes (mean ms per change; signature check 0.046 ms)
       caller  HTTP handler  update call  task wait  task run  tasks/change   CPU
  api  160.00        158.00       157.50     100.00      0.50          1.00  9.25
  raw  150.00             -            -      95.00      0.50          1.00  8.00

scale: 10000 disputes transferred, 32 at a time: 250.5 starts/s, 0 errors, first tasks done 1.5s after the last transfer
memory (server, worker and APIs in one process): live heap 80.0 MiB -> 100.0 MiB (2097 B/dispute), heap in use 100.0 MiB -> 150.0 MiB (5243 B/dispute), RSS 200.0 MiB -> 300.0 MiB (10486 B/dispute)
persistence: 12345 bytes per dispute (SQLite database + WAL growth)
list by status TRANSFERRED (page of 50, 50 returned): p50 12.50 ms, p95 20.00 ms over 20 calls, 0 errors
`
	assert.Equal(t, want, buf.String())
}

func TestFormatCountsOrdersByCountThenName(t *testing.T) {
	assert.Equal(t, "b x3, a x1, c x1", formatCounts(map[string]int{"a": 1, "b": 3, "c": 1}))
}
