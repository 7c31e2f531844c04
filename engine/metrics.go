package engine

import (
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// PrometheusMetrics returns a metrics handler for the Temporal client and
// worker (the SDK's temporal_* series: workflow task latency, poller counts,
// activity outcomes...) that reports into reg. Close the returned Closer on
// shutdown to flush the last interval.
func PrometheusMetrics(reg prometheus.Registerer) (client.MetricsHandler, io.Closer) {
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer: reg,
		// The SDK's timers become histograms with these buckets (seconds).
		DefaultTimerType:        tallyprom.HistogramTimerType,
		DefaultHistogramBuckets: tallyprom.DefaultHistogramBuckets(),
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &tallyprom.DefaultSanitizerOpts,
	}, time.Second)
	return sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), closer
}
