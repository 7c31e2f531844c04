package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func millis(vs ...int) []time.Duration {
	out := make([]time.Duration, len(vs))
	for i, v := range vs {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestPercentileNearestRank(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value is every percentile", millis(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p95 of 1..100", hundred, 95, 95 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100 is the maximum", hundred, 100, 100 * time.Millisecond},
		{"p50 of three rounds up to the second", millis(1, 2, 3), 50, 2 * time.Millisecond},
		{"p99 of three is the third", millis(1, 2, 3), 99, 3 * time.Millisecond},
		{"p95 of twenty is the nineteenth, not the twentieth", millis(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20), 95, 19 * time.Millisecond},
		{"p50 of four is the second", millis(10, 20, 30, 40), 50, 20 * time.Millisecond},
		{"tiny p is the minimum", millis(10, 20, 30, 40), 0.1, 10 * time.Millisecond},
		{"p at or below 0 is 0", millis(10, 20), 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Percentile(tt.sorted, tt.p))
		})
	}
}

func TestPercentileOfNonIntegerRankStaysOnTheInteger(t *testing.T) {
	thousand := make([]time.Duration, 1000)
	for i := range thousand {
		thousand[i] = time.Duration(i + 1)
	}
	// 99.9% of 1000 is 999 exactly, though 99.9*1000 is a hair above it
	// in floating point.
	assert.Equal(t, time.Duration(999), Percentile(thousand, 99.9))
}

func TestTallyStats(t *testing.T) {
	var a tally
	for _, d := range millis(40, 10, 30, 20) {
		a.ok(d)
	}
	a.fail("http 409 illegal_transition")
	a.elapsed = 2 * time.Second

	s := a.stats()
	assert.Equal(t, Stats{
		Throughput: 2, // four accepted changes in two seconds; the refusal does not count
		P50:        20,
		P95:        40,
		P99:        40,
		Errors:     1,
		Requests:   5,
		Seconds:    2,
		ErrorKinds: map[string]int{"http 409 illegal_transition": 1},
	}, s)
	assert.Equal(t, millis(40, 10, 30, 20), a.latencies, "stats must not reorder the recorded latencies")
}

func TestTallyMergeAddsOutcomesAndTime(t *testing.T) {
	var a, b tally
	a.ok(10 * time.Millisecond)
	a.fail("timeout")
	a.elapsed = time.Second
	b.ok(30 * time.Millisecond)
	b.ok(50 * time.Millisecond)
	b.fail("timeout")
	b.fail("transport")
	b.elapsed = 3 * time.Second

	var total tally
	total.merge(a)
	total.merge(b)
	s := total.stats()
	assert.Equal(t, 4*time.Second, total.elapsed)
	assert.Equal(t, 6, s.Requests)
	assert.Equal(t, 3, s.Errors)
	assert.Equal(t, map[string]int{"timeout": 2, "transport": 1}, s.ErrorKinds)
	assert.InDelta(t, 0.75, s.Throughput, 1e-12) // three accepted in four seconds
	assert.Equal(t, 30.0, s.P50)
	// merging must not alias the source's map
	require.Equal(t, 1, a.errors["timeout"])
}

func TestEmptyTallyHasZeroStats(t *testing.T) {
	var empty tally
	assert.Equal(t, Stats{}, empty.stats())
}

// BenchmarkTallyStats measures summarising a long run (100,000 changes):
// the report must not take noticeable time next to the run.
func BenchmarkTallyStats(b *testing.B) {
	var t tally
	for i := range 100_000 {
		t.ok(time.Duration((i*7919)%100_000) * time.Microsecond)
	}
	t.elapsed = time.Minute
	b.ReportAllocs()
	for b.Loop() {
		_ = t.stats()
	}
}
