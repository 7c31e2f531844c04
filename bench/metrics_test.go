package bench

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSnapshotReadsHistogramsByLabel(t *testing.T) {
	reg := prometheus.NewRegistry()
	calls := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "odr_temporal_call_seconds"}, []string{"op", "outcome"})
	tasks := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "temporal_workflow_task_execution_latency_seconds"}, []string{"task_queue"})
	reg.MustRegister(calls, tasks)

	calls.WithLabelValues("update", "ok").Observe(0.010)
	calls.WithLabelValues("update", "illegal_transition").Observe(0.030)
	calls.WithLabelValues("query", "ok").Observe(5) // another op: not counted
	tasks.WithLabelValues("disputes").Observe(0.001)
	tasks.WithLabelValues("sticky-1").Observe(0.003)

	before, err := takeSnapshot(reg)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), before[updateCallSeries.name].count)
	assert.InDelta(t, 0.040, before[updateCallSeries.name].sum, 1e-12)
	assert.Equal(t, uint64(2), before[taskExecSeries.name].count, "all task queues together")
	assert.Equal(t, histo{}, before[httpStatusSeries.name], "a missing metric reads as nothing")

	calls.WithLabelValues("update", "ok").Observe(0.020)
	tasks.WithLabelValues("sticky-1").Observe(0.002)
	after, err := takeSnapshot(reg)
	require.NoError(t, err)

	d := delta(before, after)
	assert.Equal(t, uint64(1), d[updateCallSeries.name].count)
	assert.InDelta(t, 20.0, d[updateCallSeries.name].meanMS(), 1e-9)

	total := snapshot{}
	total.accumulate(d)
	total.accumulate(d)
	p := phaseTimes(total, 25, 2)
	assert.InDelta(t, 20.0, p.UpdateMS, 1e-9)
	assert.InDelta(t, 2.0, p.WorkflowTaskExecutionMS, 1e-9)
	assert.Equal(t, 1.0, p.WorkflowTasksPerChange)
	assert.Equal(t, 25.0, p.ClientMS)
	assert.Equal(t, 0.0, p.HTTPServerMS)
}

func TestSnapshotWithoutGathererIsEmpty(t *testing.T) {
	s, err := takeSnapshot(nil)
	require.NoError(t, err)
	assert.Empty(t, s)
}

func TestSidePhaseTimesChargesCPUPerAcceptedChange(t *testing.T) {
	s := &side{times: snapshot{}, cpu: 20 * time.Millisecond}
	for _, d := range millis(10, 20, 30, 40) {
		s.total.ok(d)
	}
	s.total.fail("timeout") // refused changes are not what the CPU bought
	p := s.phaseTimes()
	assert.Equal(t, 5.0, p.CPUMS)
	assert.Equal(t, 25.0, p.ClientMS)
}

func TestProcessCPUAdvances(t *testing.T) {
	before, err := ProcessCPU()
	require.NoError(t, err)
	deadline := time.Now().Add(30 * time.Millisecond)
	for n := 0; time.Now().Before(deadline); n++ {
		_ = n * n
	}
	after, err := ProcessCPU()
	require.NoError(t, err)
	assert.Greater(t, after, before)
}
