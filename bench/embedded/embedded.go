// Package embedded starts the self-contained stack that `odr bench`
// measures by default: the embedded Temporal server on a SQLite file, the
// dispute worker, and the public and admin APIs on loopback, all in this
// process and wired as `odr dev` wires them. It is apart from package bench
// so that bench's own tests do not link the Temporal server.
package embedded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/odrflow/odrflow/api"
	"github.com/odrflow/odrflow/api/auth"
	"github.com/odrflow/odrflow/bench"
	"github.com/odrflow/odrflow/devserver"
	"github.com/odrflow/odrflow/engine"
	"github.com/odrflow/odrflow/registry"
	"github.com/odrflow/odrflow/worker"
	"github.com/odrflow/odrflow/workflows"
)

// Options tune the stack under test. Zero values are the defaults of
// `odr dev`, which is what a run without tuning flags measures.
type Options struct {
	// Dir holds the database, registry and log; "" makes a temporary
	// directory that Close removes. A given Dir is kept.
	Dir string
	// Worker tunes the dispute worker.
	Worker worker.Options
	// StickyCacheSize sets the SDK's process-wide workflow cache; 0 keeps
	// the SDK's default of 10,000.
	StickyCacheSize int
	// SQLitePragmas replace devserver.DefaultPragmas when not nil.
	SQLitePragmas map[string]string
	// SQLiteMaxConns and DynamicConfig tune the server (see
	// devserver.Options).
	SQLiteMaxConns int
	DynamicConfig  map[string]any
	// LogLevel is the level of the stack's log (default info, as odr dev);
	// the log goes to Dir/odr.log, so its cost is measured but its lines do
	// not flood the terminal.
	LogLevel slog.Level
}

// Stack is a running self-contained stack.
type Stack struct {
	dir, logPath string
	removeDir    bool
	logFile      *os.File
	srv          *devserver.Server
	client       client.Client // the API's and worker's, as in odr dev
	raw          client.Client // the benchmark's own, for the raw side
	worker       sdkworker.Worker
	servers      []*http.Server
	cancelWatch  context.CancelFunc
	closeMetrics io.Closer
	deployment   bench.Deployment
}

// Start brings the stack up; on error nothing is left running.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	s := &Stack{dir: o.Dir}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close())
		}
	}()
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "odr-bench-"); err != nil {
			return nil, err
		}
		s.removeDir = true
	} else if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, err
	}
	s.logPath = filepath.Join(s.dir, "odr.log")
	if s.logFile, err = os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewJSONHandler(s.logFile, &slog.HandlerOptions{Level: o.LogLevel}))
	serverLevel := slog.LevelWarn

	// The cache is process-wide and created with the first SDK worker,
	// and the server's own system workers are SDK workers: the size must
	// be set before the server starts, or it is silently ignored.
	stickyCache := 10_000 // the SDK's default
	if o.StickyCacheSize > 0 {
		sdkworker.SetStickyWorkflowCacheSize(o.StickyCacheSize)
		stickyCache = o.StickyCacheSize
	}

	pragmas := o.SQLitePragmas
	if pragmas == nil {
		pragmas = devserver.DefaultPragmas()
	}
	if s.srv, err = devserver.Start(devserver.Options{
		DataDir: s.dir, SearchAttributes: workflows.SearchAttributeTypes(),
		Logger: logger, LogLevel: &serverLevel, SQLitePragmas: pragmas,
		SQLiteMaxConns: o.SQLiteMaxConns, DynamicConfig: o.DynamicConfig,
	}); err != nil {
		return nil, err
	}

	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector())
	sdkMetrics, closer := engine.PrometheusMetrics(metrics)
	s.closeMetrics = closer
	temporalConf := engine.Config{Address: s.srv.FrontendAddress(), Namespace: s.srv.Namespace()}
	if s.raw, err = engine.Dial(temporalConf, logger); err != nil {
		return nil, err
	}
	temporalConf.Metrics = sdkMetrics
	if s.client, err = engine.Dial(temporalConf, logger); err != nil {
		return nil, err
	}
	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := engine.WaitReady(readyCtx, s.client); err != nil {
		return nil, err
	}
	if _, err := engine.EnsureSearchAttributes(readyCtx, s.client, s.srv.Namespace(), workflows.SearchAttributeTypes()); err != nil {
		return nil, err
	}
	s.worker = worker.New(s.client, workflows.DefaultConfig(), o.Worker)
	if err := s.worker.Start(); err != nil {
		s.worker = nil
		return nil, fmt.Errorf("start worker: %w", err)
	}

	registryPath := filepath.Join(s.dir, "institutions.yaml")
	if err := os.WriteFile(registryPath, []byte("institutions: []\n"), 0o600); err != nil {
		return nil, err
	}
	store, err := registry.Open(registryPath, logger)
	if err != nil {
		return nil, err
	}
	watchCtx, stopWatch := context.WithCancel(context.Background())
	s.cancelWatch = stopWatch
	go store.Watch(watchCtx, 200*time.Millisecond)

	token, err := randomToken()
	if err != nil {
		return nil, err
	}
	apiMetrics := api.NewMetrics(metrics)
	public := api.NewPublic(api.PublicConfig{
		Logger: logger, Engine: s.client, Verifier: auth.NewVerifier(store, auth.Options{}),
		Ready:   func(ctx context.Context) error { return engine.Ready(ctx, s.client) },
		Build:   "bench",
		Metrics: apiMetrics,
		// No per-key rate limit: the benchmark's one key would hit odr dev's
		// default of 100/s and measure the limiter, not the path.
		RatePerKey: 0,
	})
	admin := api.NewAdmin(api.AdminConfig{
		Logger: logger, Token: token, Engine: s.client, Institutions: directory{store},
		Metrics: apiMetrics, Gatherer: metrics,
	})
	publicURL, err := s.serve(public)
	if err != nil {
		return nil, err
	}
	adminURL, err := s.serve(admin)
	if err != nil {
		return nil, err
	}

	settings := map[string]string{
		"worker.workflow_task_pollers": orDefault(o.Worker.WorkflowTaskPollers, fmt.Sprintf("%d (default)", worker.DefaultWorkflowTaskPollers)),
		"worker.max_workflow_tasks":    orDefault(o.Worker.MaxConcurrentWorkflowTasks, "1000 (SDK default)"),
		"worker.sticky_cache":          strconv.Itoa(stickyCache),
		"api.rate_limit":               "off",
		"log":                          o.LogLevel.String() + " to file",
	}
	for k, v := range pragmas {
		settings["sqlite."+k] = v
	}
	settings["sqlite.max_conns"] = orDefault(o.SQLiteMaxConns, "1 (Temporal default)")
	for k, v := range o.DynamicConfig {
		settings["server."+k] = fmt.Sprint(v)
	}
	s.deployment = bench.Deployment{
		Mode: "embedded", PublicURL: publicURL, AdminURL: adminURL, AdminToken: token,
		RegistryPath: registryPath, Engine: s.raw,
		Gatherer: metrics, Memory: bench.ProcessMemory, PersistenceBytes: s.databaseBytes, CPU: bench.ProcessCPU,
		Settings: settings, StickyCacheSize: stickyCache,
	}
	return s, nil
}

// Deployment is the stack as the benchmark sees it.
func (s *Stack) Deployment() bench.Deployment {
	d := s.deployment
	d.Settings = maps.Clone(d.Settings)
	return d
}

// Dir is the stack's data directory, LogPath its log file.
func (s *Stack) Dir() string     { return s.dir }
func (s *Stack) LogPath() string { return s.logPath }

// serve serves h on a new loopback port and returns its base URL.
func (s *Stack) serve(h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), nil
}

// databaseBytes is the size of the SQLite database and its write-ahead log.
func (s *Stack) databaseBytes() (int64, error) {
	var total int64
	for _, name := range []string{devserver.DatabaseFile, devserver.DatabaseFile + "-wal"} {
		fi, err := os.Stat(filepath.Join(s.dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		total += fi.Size()
	}
	return total, nil
}

// Close stops everything in the reverse order of Start and removes a
// temporary directory.
func (s *Stack) Close() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		errs = append(errs, srv.Shutdown(ctx))
	}
	s.servers = nil
	if s.cancelWatch != nil {
		s.cancelWatch()
	}
	if s.worker != nil {
		s.worker.Stop()
		s.worker = nil
	}
	for _, c := range []client.Client{s.client, s.raw} {
		if c != nil {
			c.Close()
		}
	}
	s.client, s.raw = nil, nil
	if s.closeMetrics != nil {
		errs = append(errs, s.closeMetrics.Close())
		s.closeMetrics = nil
	}
	if s.srv != nil {
		errs = append(errs, s.srv.Stop())
		s.srv = nil
	}
	if s.logFile != nil {
		errs = append(errs, s.logFile.Close())
		s.logFile = nil
	}
	if s.removeDir && s.dir != "" {
		errs = append(errs, os.RemoveAll(s.dir))
		s.removeDir = false
	}
	return errors.Join(errs...)
}

// directory lets the admin API check institutions against the registry.
type directory struct{ store *registry.Store }

func (d directory) HasInstitution(id string) bool {
	_, ok := d.store.Current().Institution(id)
	return ok
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func orDefault(v int, def string) string {
	if v == 0 {
		return def
	}
	return strconv.Itoa(v)
}
