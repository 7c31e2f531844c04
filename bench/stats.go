package bench

import (
	"maps"
	"math"
	"slices"
	"time"
)

// Stats summarises one side of the comparison (the API or the raw engine)
// over all its measured rounds. These five JSON fields are the benchmark's
// contract (issue 8); the others explain them.
type Stats struct {
	// Throughput is accepted status changes per second of wall time.
	Throughput float64 `json:"throughput"`
	// P50, P95 and P99 are latency percentiles of the accepted changes, in
	// milliseconds, as the caller saw them.
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
	// Errors counts the changes that were not accepted, whatever the reason.
	Errors int `json:"errors"`
	// Requests is every change sent: accepted ones plus Errors.
	Requests int `json:"requests"`
	// Seconds is the measured wall time the requests took.
	Seconds float64 `json:"seconds"`
	// ErrorKinds breaks Errors down by cause ("http 409 illegal_transition",
	// "timeout", ...), so a failed run says why.
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
}

// tally collects the outcomes of requests. Each load generator client keeps
// its own and they are merged at the end, so recording takes no lock.
type tally struct {
	latencies []time.Duration // of accepted changes
	errors    map[string]int
	elapsed   time.Duration
}

func (t *tally) ok(d time.Duration) { t.latencies = append(t.latencies, d) }

func (t *tally) fail(kind string) {
	if t.errors == nil {
		t.errors = map[string]int{}
	}
	t.errors[kind]++
}

func (t *tally) requests() int {
	n := len(t.latencies)
	for _, c := range t.errors {
		n += c
	}
	return n
}

// merge adds o's outcomes to t; elapsed times add up, so merging two rounds
// yields the throughput over both.
func (t *tally) merge(o tally) {
	t.latencies = append(t.latencies, o.latencies...)
	for k, c := range o.errors {
		if t.errors == nil {
			t.errors = map[string]int{}
		}
		t.errors[k] += c
	}
	t.elapsed += o.elapsed
}

// stats computes the summary. Percentiles are of accepted changes only:
// a refusal is usually fast and would flatter the latency.
func (t *tally) stats() Stats {
	sorted := slices.Clone(t.latencies)
	slices.Sort(sorted)
	s := Stats{
		P50:      ms(Percentile(sorted, 50)),
		P95:      ms(Percentile(sorted, 95)),
		P99:      ms(Percentile(sorted, 99)),
		Requests: t.requests(),
		Seconds:  t.elapsed.Seconds(),
	}
	if t.elapsed > 0 {
		s.Throughput = float64(len(sorted)) / t.elapsed.Seconds()
	}
	if len(t.errors) > 0 {
		s.ErrorKinds = maps.Clone(t.errors)
		for _, c := range t.errors {
			s.Errors += c
		}
	}
	return s
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted, an
// ascending slice, by the nearest-rank method: the smallest value that at
// least p percent of the values do not exceed. Nearest rank always returns
// an observed latency, never an interpolated one. It returns 0 for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 || p <= 0 {
		return 0
	}
	// rank = ceil(p/100 * n); the epsilon keeps a product that floating
	// point leaves a hair above an integer (99.9% of 1000) on that integer.
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// ms converts a duration to fractional milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
