package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the API's Prometheus series. A nil *Metrics records nothing.
type Metrics struct {
	requests        *prometheus.HistogramVec
	transitions     *prometheus.CounterVec
	rejections      *prometheus.CounterVec
	authFailures    *prometheus.CounterVec
	temporalLatency *prometheus.HistogramVec
}

// NewMetrics creates the series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "odr_http_requests_seconds", Help: "HTTP requests by route and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "code"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "odr_transitions_accepted_total", Help: "Status changes accepted by dispute workflows through the API.",
		}, []string{"from", "to"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "odr_status_rejections_total", Help: "Refused status change requests by reason.",
		}, []string{"reason"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "odr_auth_failures_total", Help: "Failed signature authentications by the check that failed.",
		}, []string{"reason"}),
		temporalLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "odr_temporal_call_seconds", Help: "Latency of calls to Temporal by operation and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"op", "outcome"}),
	}
	reg.MustRegister(m.requests, m.transitions, m.rejections, m.authFailures, m.temporalLatency)
	return m
}

func (m *Metrics) request(route string, code int, d time.Duration) {
	if m != nil {
		m.requests.WithLabelValues(route, strconv.Itoa(code)).Observe(d.Seconds())
	}
}

func (m *Metrics) accepted(from, to string) {
	if m != nil {
		m.transitions.WithLabelValues(from, to).Inc()
	}
}

func (m *Metrics) rejected(reason string) {
	if m != nil {
		m.rejections.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) authFailed(reason string) {
	if m != nil {
		m.authFailures.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) observeTemporal(op string, started time.Time, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = classify(err).code
	}
	m.temporalLatency.WithLabelValues(op, outcome).Observe(time.Since(started).Seconds())
}

// routePattern is the chi route that matched r, to keep label cardinality
// bounded; unmatched paths share one label.
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}
