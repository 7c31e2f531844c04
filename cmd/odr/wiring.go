package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/odrflow/odrflow/activities"
	"github.com/odrflow/odrflow/api"
	"github.com/odrflow/odrflow/api/auth"
	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/engine"
	"github.com/odrflow/odrflow/registry"
	odrworker "github.com/odrflow/odrflow/worker"
	"github.com/odrflow/odrflow/workflows"
)

// The pieces `odr dev` runs in one process and `odr api` / `odr worker` run
// separately, wired here once.

// apiFlags configure the public and admin APIs.
type apiFlags struct {
	httpAddr      string
	adminAddr     string
	registryPath  string
	requireExp    bool
	maxTokenAge   time.Duration
	ratePerKey    float64
	rateBurst     int
	updateTimeout time.Duration
}

func (a *apiFlags) register(f *pflag.FlagSet, registryHelp string) {
	f.StringVar(&a.httpAddr, "http-addr", "127.0.0.1:8080", "address of the public API")
	f.StringVar(&a.adminAddr, "admin-addr", "127.0.0.1:8081", "address of the admin API (and /metrics)")
	f.StringVar(&a.registryPath, "registry", "", registryHelp)
	f.BoolVar(&a.requireExp, "require-exp", false, "refuse signed tokens without an exp claim")
	f.DurationVar(&a.maxTokenAge, "max-token-age", 0, "refuse tokens issued longer ago than this, or valid for longer (0: no bound)")
	f.Float64Var(&a.ratePerKey, "rate-limit", 100, "requests per second allowed per signing key (0: unlimited)")
	f.IntVar(&a.rateBurst, "rate-burst", 200, "burst of requests allowed per signing key")
	f.DurationVar(&a.updateTimeout, "update-timeout", 10*time.Second, "how long a request waits for its workflow before answering 503")
}

// listen binds both listeners before anything else starts.
func (a *apiFlags) listen(stack *shutdownStack) (net.Listener, net.Listener, error) {
	public, err := listen("public API (--http-addr)", a.httpAddr)
	if err != nil {
		return nil, nil, err
	}
	stack.push(func() { public.Close() })
	admin, err := listen("admin API (--admin-addr)", a.adminAddr)
	if err != nil {
		return nil, nil, err
	}
	stack.push(func() { admin.Close() })
	return public, admin, nil
}

// openRegistry loads the registry and keeps it current until the stack runs.
func openRegistry(path string, logger *slog.Logger, stack *shutdownStack) (*registry.Store, error) {
	reg, err := registry.Open(path, logger)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	go reg.Watch(ctx, time.Second)
	stack.push(stop)
	return reg, nil
}

// apiDeps are what the APIs are served with.
type apiDeps struct {
	logger   *slog.Logger
	client   client.Client
	registry *registry.Store
	token    string
	metrics  *prometheus.Registry
}

// serveAPIs serves both APIs on their listeners; stopping the stack lets
// in-flight requests finish first. A listener failure is sent to errc.
func (a *apiFlags) serveAPIs(d apiDeps, publicLn, adminLn net.Listener, stack *shutdownStack, errc chan<- error) {
	m := api.NewMetrics(d.metrics)
	public := httpServer(api.NewPublic(api.PublicConfig{
		Logger:        d.logger,
		Engine:        d.client,
		Verifier:      auth.NewVerifier(d.registry, auth.Options{RequireExp: a.requireExp, MaxTokenAge: a.maxTokenAge}),
		Ready:         func(ctx context.Context) error { return engine.Ready(ctx, d.client) },
		Build:         buildVersion(),
		Metrics:       m,
		RatePerKey:    a.ratePerKey,
		RateBurst:     a.rateBurst,
		UpdateTimeout: a.updateTimeout,
	}), d.logger)
	admin := httpServer(api.NewAdmin(api.AdminConfig{
		Logger: d.logger, Token: d.token, Engine: d.client, Institutions: registryDirectory{d.registry},
		Metrics: m, Gatherer: d.metrics,
	}), d.logger)
	serve(public, publicLn, errc)
	serve(admin, adminLn, errc)
	stack.push(func() { shutdownHTTP(d.logger, 30*time.Second, public, admin) })
}

// workerFlags configure the dispute worker.
type workerFlags struct {
	rolePolicy  string
	closeAfter  time.Duration
	pollers     int
	stopTimeout time.Duration

	conciliationDeadline     time.Duration
	conciliationExtensionMax time.Duration
	arbitrationDeadline      time.Duration
	webhookURL               string
	webhookSecret            string
}

func (w *workerFlags) register(f *pflag.FlagSet) {
	f.StringVar(&w.rolePolicy, "role-policy", string(dispute.PolicyOpen), "which roles may make which transitions: open or strict (frozen into each new dispute)")
	f.DurationVar(&w.closeAfter, "close-after", 7*24*time.Hour, "how long a dispute in a final status stays open to answer repeats")
	f.IntVar(&w.pollers, "workflow-pollers", 0, fmt.Sprintf("concurrent workflow task polls (0: the worker's default, %d)", odrworker.DefaultWorkflowTaskPollers))
	f.DurationVar(&w.stopTimeout, "stop-timeout", 10*time.Second, "how long shutdown waits for running activities")
	def := workflows.DefaultConfig()
	f.DurationVar(&w.conciliationDeadline, "conciliation-deadline", def.ConciliationDeadline, "how long after CON_INIT conciliation must end (frozen into each new dispute)")
	f.DurationVar(&w.conciliationExtensionMax, "conciliation-extension-max", def.ConciliationExtensionMax, "total extension of the conciliation deadline the admin API may grant, in whole days (frozen into each new dispute)")
	f.DurationVar(&w.arbitrationDeadline, "arbitration-deadline", def.ArbitrationDeadline, "how long after ARB_INIT the arbitration award is due (frozen into each new dispute)")
	f.StringVar(&w.webhookURL, "webhook-url", "", "receiver of the signed status_changed and deadline_missed webhooks (empty: no webhooks)")
	f.StringVar(&w.webhookSecret, "webhook-secret", "", "HMAC-SHA256 key of the X-ODR-Signature header; prefer ODR_WEBHOOK_SECRET, command lines are visible to other users")
}

func (w *workerFlags) webhook() activities.WebhookConfig {
	return activities.WebhookConfig{URL: w.webhookURL, Secret: w.webhookSecret}
}

// config validates the flags into the workflows' Config.
func (w *workerFlags) config() (workflows.Config, error) {
	policy, err := dispute.ParsePolicy(w.rolePolicy)
	if err != nil {
		return workflows.Config{}, err
	}
	cfg := workflows.DefaultConfig()
	cfg.RolePolicy = policy
	cfg.CloseAfter = w.closeAfter
	cfg.ConciliationDeadline = w.conciliationDeadline
	cfg.ConciliationExtensionMax = w.conciliationExtensionMax
	cfg.ArbitrationDeadline = w.arbitrationDeadline
	if err := w.webhook().Validate(); err != nil {
		return workflows.Config{}, err
	}
	return cfg, cfg.Validate()
}

// startWorker starts the dispute worker; stopping the stack drains it.
func (w *workerFlags) startWorker(c client.Client, cfg workflows.Config, stack *shutdownStack) (sdkworker.Worker, error) {
	wk := odrworker.New(c, cfg, odrworker.Options{WorkflowTaskPollers: w.pollers, StopTimeout: w.stopTimeout, Webhook: w.webhook()})
	if err := wk.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	stack.push(wk.Stop)
	return wk, nil
}

// newMetricsRegistry is a process's Prometheus registry with Go runtime and
// process collectors, plus the SDK's metrics handler reporting into it.
func newMetricsRegistry(stack *shutdownStack) (*prometheus.Registry, client.MetricsHandler) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	handler, closer := engine.PrometheusMetrics(reg)
	stack.push(func() { closer.Close() })
	return reg, handler
}

// registryDirectory lets the admin API check institutions against the
// registry's current snapshot.
type registryDirectory struct{ store *registry.Store }

func (d registryDirectory) HasInstitution(id string) bool {
	_, ok := d.store.Current().Institution(id)
	return ok
}
