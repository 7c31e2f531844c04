package bench

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// series selects the histogram series of one metric whose labels include
// all of labels.
type series struct {
	name   string
	labels map[string]string
}

// The stack's histograms the breakdown reads. The SDK's worker metrics are
// tally timers exported as Prometheus histograms in seconds.
var (
	httpStatusSeries   = series{"odr_http_requests_seconds", map[string]string{"route": "/status"}}
	updateCallSeries   = series{"odr_temporal_call_seconds", map[string]string{"op": "update"}}
	taskScheduleSeries = series{"temporal_workflow_task_schedule_to_start_latency_seconds", nil}
	taskExecSeries     = series{"temporal_workflow_task_execution_latency_seconds", nil}
)

var breakdownSeries = []series{httpStatusSeries, updateCallSeries, taskScheduleSeries, taskExecSeries}

// histo is the sample count and sum of a histogram.
type histo struct {
	count uint64
	sum   float64
}

func (h histo) sub(o histo) histo { return histo{h.count - o.count, h.sum - o.sum} }
func (h histo) add(o histo) histo { return histo{h.count + o.count, h.sum + o.sum} }

// meanMS is the mean observation in milliseconds, 0 without observations.
func (h histo) meanMS() float64 {
	if h.count == 0 {
		return 0
	}
	return h.sum / float64(h.count) * 1000
}

// snapshot is the state of the breakdown's histograms at one moment.
type snapshot map[string]histo

// takeSnapshot reads the histograms of breakdownSeries from g; a nil g
// yields an empty snapshot.
func takeSnapshot(g prometheus.Gatherer) (snapshot, error) {
	snap := snapshot{}
	if g == nil {
		return snap, nil
	}
	families, err := g.Gather()
	if err != nil {
		return nil, err
	}
	for _, s := range breakdownSeries {
		snap[s.name] = histogramTotal(families, s)
	}
	return snap, nil
}

// histogramTotal sums the matching series of a histogram family.
func histogramTotal(families []*dto.MetricFamily, s series) histo {
	var h histo
	for _, f := range families {
		if f.GetName() != s.name || f.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		for _, m := range f.GetMetric() {
			if !hasLabels(m, s.labels) {
				continue
			}
			h.count += m.GetHistogram().GetSampleCount()
			h.sum += m.GetHistogram().GetSampleSum()
		}
	}
	return h
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	matched := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			matched++
		}
	}
	return matched == len(want)
}

// delta returns after minus before, series by series.
func delta(before, after snapshot) snapshot {
	d := snapshot{}
	for name, h := range after {
		d[name] = h.sub(before[name])
	}
	return d
}

// accumulate adds d into s.
func (s snapshot) accumulate(d snapshot) {
	for name, h := range d {
		s[name] = s[name].add(h)
	}
}

// phaseTimes turns the histograms accumulated over one side's windows into
// mean milliseconds per change; changes is that side's accepted changes.
func phaseTimes(s snapshot, clientMean float64, changes int) PhaseTimes {
	p := PhaseTimes{
		ClientMS:                      clientMean,
		HTTPServerMS:                  s[httpStatusSeries.name].meanMS(),
		UpdateMS:                      s[updateCallSeries.name].meanMS(),
		WorkflowTaskScheduleToStartMS: s[taskScheduleSeries.name].meanMS(),
		WorkflowTaskExecutionMS:       s[taskExecSeries.name].meanMS(),
	}
	if changes > 0 {
		p.WorkflowTasksPerChange = float64(s[taskExecSeries.name].count) / float64(changes)
	}
	return p
}
