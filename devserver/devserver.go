// Package devserver runs a complete Temporal service in-process: the server
// (frontend, history, matching and worker services) persisting to one SQLite
// file, and optionally the Temporal Web UI pointed at it. It is what makes
// `odr dev` a zero-setup command; production deployments use a real cluster.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

const (
	loopback    = "127.0.0.1"
	clusterName = "active"
	// DatabaseFile is the name of the SQLite file inside the data directory.
	DatabaseFile = "temporal.db"
)

// Options configure the embedded server.
type Options struct {
	// DataDir holds the SQLite database; it is created if missing.
	DataDir string
	// FrontendPort is the gRPC port of the frontend on loopback (0 picks a free one).
	FrontendPort int
	// UIPort is the Web UI's port on loopback; 0 disables the UI.
	UIPort int
	// Namespace is registered on first start (default "default").
	Namespace string
	// SearchAttributes are registered with the namespace when it is created.
	// Callers add them idempotently to existing namespaces through the
	// operator API, because the SQLite bootstrap only applies on creation.
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives the server's own log lines at LogLevel and above.
	Logger *slog.Logger
	// LogLevel filters Temporal's chatter; the zero value means warnings.
	LogLevel *slog.Level
	// SQLitePragmas override the default pragmas (see DefaultPragmas).
	SQLitePragmas map[string]string
	// SQLiteMaxConns bounds the SQLite connections all services share; 0
	// keeps Temporal's default of one. More than one needs WAL journaling.
	SQLiteMaxConns int
	// DynamicConfig adds to or overrides the server's dynamic configuration,
	// by the keys of Temporal's dynamicconfig package (for example
	// "matching.numTaskqueueReadPartitions"). For tuning experiments.
	DynamicConfig map[string]any
}

// DefaultPragmas keep every acknowledged write durable across a crash of the
// process or the machine: WAL journaling with synchronous=FULL fsyncs the
// log on every commit, so a workflow update acknowledged to a caller is on disk.
func DefaultPragmas() map[string]string {
	return map[string]string{
		"journal_mode": "wal",
		"synchronous":  "FULL",
		"busy_timeout": "10000",
	}
}

// Server is a running embedded Temporal server and UI.
type Server struct {
	server       temporal.Server
	ui           *uiserver.Server
	uiDone       chan struct{}
	frontendAddr string
	uiAddr       string
	namespace    string
}

// ErrPortInUse reports a port that another process already listens on.
var ErrPortInUse = errors.New("port already in use")

// Start brings up the server and, if configured, the UI. It returns when the
// frontend accepts connections.
func Start(opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("devserver: data directory is required")
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	level := slog.LevelWarn
	if opts.LogLevel != nil {
		level = *opts.LogLevel
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("devserver: create data directory: %w", err)
	}

	frontendPort := opts.FrontendPort
	var err error
	if frontendPort == 0 {
		if frontendPort, err = FreePort(); err != nil {
			return nil, err
		}
	} else if err := CheckPortFree(frontendPort); err != nil {
		return nil, fmt.Errorf("temporal frontend: %w", err)
	}
	if opts.UIPort != 0 {
		if err := CheckPortFree(opts.UIPort); err != nil {
			return nil, fmt.Errorf("temporal web UI: %w", err)
		}
	}

	sqlConf, err := prepareDatabase(opts)
	if err != nil {
		return nil, err
	}
	conf, err := serverConfig(frontendPort, sqlConf)
	if err != nil {
		return nil, err
	}
	logger := newServerLogger(opts.Logger, level)
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("devserver: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("devserver: claim mapper: %w", err)
	}
	hosts := make(map[primitives.ServiceName]static.Hosts, len(conf.Services))
	for name, svc := range conf.Services {
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(net.JoinHostPort(loopback, strconv.Itoa(svc.RPC.GRPCPort)))
	}
	dyn := dynamicconfig.StaticClient{
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 1000,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8192,
		// New tasks go to one partition of their task queue: partitions
		// spread a queue over matching hosts, and this server has one. With
		// the default four, tasks wait in partitions no poll is on until
		// they are forwarded: the first workflow tasks of 2,000 transfers
		// took 30-65 s to run instead of 13-14 s (odr bench --scale,
		// BENCHMARKS.md). Reads keep the default four, so tasks a database
		// already holds in the other partitions are still delivered.
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): 1,
	}
	for k, v := range opts.DynamicConfig {
		dyn[dynamicconfig.MakeKey(k)] = v
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("devserver: build server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("devserver: start server: %w", err)
	}
	s := &Server{
		server:       srv,
		frontendAddr: net.JoinHostPort(loopback, strconv.Itoa(frontendPort)),
		namespace:    opts.Namespace,
	}
	if opts.UIPort != 0 {
		s.startUI(opts.UIPort, opts.Logger)
	}
	return s, nil
}

func prepareDatabase(opts Options) (*config.SQL, error) {
	file := filepath.Join(opts.DataDir, DatabaseFile)
	conf := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		DatabaseName:      file,
		ConnectAttributes: map[string]string{"mode": "rwc"},
		MaxConns:          opts.SQLiteMaxConns,
		MaxIdleConns:      opts.SQLiteMaxConns,
	}
	pragmas := opts.SQLitePragmas
	if pragmas == nil {
		pragmas = DefaultPragmas()
	}
	for k, v := range pragmas {
		conf.ConnectAttributes[k] = v
	}
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		if err := sqliteschema.SetupSchema(conf); err != nil {
			// Leave no half-initialised file behind: the next start would
			// skip schema setup and fail obscurely.
			_ = os.Remove(file)
			return nil, fmt.Errorf("devserver: set up schema in %s: %w", file, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("devserver: %w", err)
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("devserver: namespace config: %w", err)
	}
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("devserver: create namespace %q: %w", opts.Namespace, err)
	}
	return conf, nil
}

func serverConfig(frontendPort int, sqlConf *config.SQL) (*config.Config, error) {
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = loopback
	conf.Persistence.DefaultStore = "sqlite"
	conf.Persistence.VisibilityStore = "sqlite"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: sqlConf}}

	frontendHTTPPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	frontendAddr := net.JoinHostPort(loopback, strconv.Itoa(frontendPort))
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontendAddr,
				HTTPAddress:            net.JoinHostPort(loopback, strconv.Itoa(frontendHTTPPort)),
				// Fixed, so the cluster keeps its identity across restarts.
				ClusterID: "6f0d2c1e-8a4b-4f3e-9d57-0d6e1b2a3c4f",
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = loopback
		if name == "frontend" {
			svc.RPC.GRPCPort = frontendPort
			svc.RPC.HTTPPort = frontendHTTPPort
		} else if svc.RPC.GRPCPort, err = FreePort(); err != nil {
			return nil, err
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontendAddr
	return &conf, nil
}

// startUI serves the Web UI read-only: case managers inspect disputes there,
// but every state change must go through the API, so all write actions
// (signal, update, reset, terminate, cancel, start, batch, pause, activity
// commands) are disabled both in the UI and in its HTTP API.
func (s *Server) startUI(port int, logger *slog.Logger) {
	s.uiAddr = net.JoinHostPort(loopback, strconv.Itoa(port))
	s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
		Host:                          loopback,
		Port:                          port,
		TemporalGRPCAddress:           s.frontendAddr,
		EnableUI:                      true,
		DefaultNamespace:              s.namespace,
		CORS:                          uiconfig.CORS{CookieInsecure: true},
		HideLogs:                      true,
		DisableNewsFetch:              true,
		DisableWriteActions:           true,
		WorkflowTerminateDisabled:     true,
		WorkflowCancelDisabled:        true,
		WorkflowSignalDisabled:        true,
		WorkflowUpdateDisabled:        true,
		WorkflowResetDisabled:         true,
		WorkflowPauseDisabled:         true,
		BatchActionsDisabled:          true,
		StartWorkflowDisabled:         true,
		ActivityCommandsDisabled:      true,
		RefreshWorkflowCountsDisabled: false,
	}))
	s.uiDone = make(chan struct{})
	go func() {
		defer close(s.uiDone)
		// Start blocks until Stop; the port was checked free beforehand.
		if err := s.ui.Start(); err != nil {
			logger.Error("temporal web UI stopped", "error", err)
		}
	}()
}

// FrontendAddress is the host:port of the gRPC frontend.
func (s *Server) FrontendAddress() string { return s.frontendAddr }

// UIAddress is the host:port of the Web UI, or "" when it is disabled.
func (s *Server) UIAddress() string { return s.uiAddr }

// Namespace is the namespace the server was started with.
func (s *Server) Namespace() string { return s.namespace }

// WaitUI blocks until the UI answers HTTP or ctx ends; it returns nil at once
// when the UI is disabled.
func (s *Server) WaitUI(ctx context.Context) error {
	if s.ui == nil {
		return nil
	}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.uiAddr+"/", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("web UI on %s not ready: %w", s.uiAddr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stopUI stops the Web UI; Stop calls it first.
func (s *Server) stopUI() {
	if s.ui != nil {
		s.ui.Stop()
		<-s.uiDone
		s.ui = nil
	}
}

// Stop stops the UI and then the server, flushing the database.
func (s *Server) Stop() error {
	s.stopUI()
	return s.server.Stop()
}

// CheckPortFree returns ErrPortInUse (wrapped with the address) when port
// cannot be bound on loopback. Checking up front turns a busy port into a
// clear message instead of a failure deep inside a server's start.
func CheckPortFree(port int) error {
	addr := net.JoinHostPort(loopback, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", addr, ErrPortInUse)
	}
	return l.Close()
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
