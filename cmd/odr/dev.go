package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/odrflow/odrflow/api"
	"github.com/odrflow/odrflow/api/auth"
	"github.com/odrflow/odrflow/devserver"
	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/engine"
	"github.com/odrflow/odrflow/registry"
	odrworker "github.com/odrflow/odrflow/worker"
	"github.com/odrflow/odrflow/workflows"
)

type devOptions struct {
	dataDir          string
	temporalPort     int
	uiPort           int
	httpAddr         string
	adminAddr        string
	rolePolicy       string
	closeAfter       time.Duration
	logLevel         string
	temporalLogLevel string
	registryPath     string
	auth             authFlags
	rate             rateFlags
}

func newDevCmd() *cobra.Command {
	o := devOptions{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything in one process: embedded Temporal server and Web UI, worker, public and admin API",
		Long: `odr dev needs no setup: it runs a real Temporal server persisting to a SQLite
file in --data-dir, the Temporal Web UI (read-only), the dispute worker and both
HTTP listeners. State survives restarts. Stop it with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDev(ctx, o, cmd)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", "./.odr", "directory for the Temporal database, registry, keys and admin token")
	f.IntVar(&o.temporalPort, "temporal-port", 7233, "gRPC port of the embedded Temporal frontend (loopback)")
	f.IntVar(&o.uiPort, "ui-port", 8233, "port of the Temporal Web UI (loopback); 0 disables it")
	f.StringVar(&o.httpAddr, "http-addr", "127.0.0.1:8080", "address of the public API")
	f.StringVar(&o.adminAddr, "admin-addr", "127.0.0.1:8081", "address of the admin API")
	f.StringVar(&o.rolePolicy, "role-policy", string(dispute.PolicyOpen), "which roles may make which transitions: open or strict")
	f.DurationVar(&o.closeAfter, "close-after", 7*24*time.Hour, "how long a dispute in a final status stays open to answer repeats")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&o.temporalLogLevel, "temporal-log-level", "warn", "log level of the embedded Temporal server")
	f.StringVar(&o.registryPath, "registry", "", "institution registry YAML (default <data-dir>/institutions.yaml; created with a demo institution when missing)")
	o.auth.register(f)
	o.rate.register(f)
	return cmd
}

func runDev(ctx context.Context, o devOptions, cmd *cobra.Command) error {
	logger, err := newLogger(o.logLevel)
	if err != nil {
		return err
	}
	var temporalLevel slog.Level
	if err := temporalLevel.UnmarshalText([]byte(o.temporalLogLevel)); err != nil {
		return fmt.Errorf("temporal log level %q: %w", o.temporalLogLevel, err)
	}
	policy, err := dispute.ParsePolicy(o.rolePolicy)
	if err != nil {
		return err
	}
	wfConfig := workflows.DefaultConfig()
	wfConfig.RolePolicy = policy
	wfConfig.CloseAfter = o.closeAfter
	if err := wfConfig.Validate(); err != nil {
		return err
	}

	dataDir, err := filepath.Abs(o.dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	// Everything started is stopped in reverse order on the way out:
	// listeners first (in-flight requests finish), then the worker drains,
	// then the client, the UI and the server.
	var stack shutdownStack
	defer stack.run()

	publicLn, err := listen("public API (--http-addr)", o.httpAddr)
	if err != nil {
		return err
	}
	stack.push(func() { publicLn.Close() })
	adminLn, err := listen("admin API (--admin-addr)", o.adminAddr)
	if err != nil {
		return err
	}
	stack.push(func() { adminLn.Close() })

	started := time.Now()
	srv, err := devserver.Start(devserver.Options{
		DataDir:          dataDir,
		FrontendPort:     o.temporalPort,
		UIPort:           o.uiPort,
		SearchAttributes: workflows.SearchAttributeTypes(),
		Logger:           logger,
		LogLevel:         &temporalLevel,
	})
	if err != nil {
		return err
	}
	stack.push(func() {
		if err := srv.Stop(); err != nil {
			logger.Warn("temporal server stop", "error", err)
		}
	})

	c, err := engine.Dial(engine.Config{Address: srv.FrontendAddress(), Namespace: srv.Namespace()}, logger)
	if err != nil {
		return err
	}
	stack.push(c.Close)
	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err = engine.WaitReady(readyCtx, c)
	cancel()
	if err != nil {
		return err
	}
	if added, err := engine.EnsureSearchAttributes(ctx, c, srv.Namespace(), workflows.SearchAttributeTypes()); err != nil {
		return err
	} else if len(added) > 0 {
		logger.Info("search attributes added", "names", added)
	}

	w := odrworker.New(c, wfConfig, odrworker.Options{})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	stack.push(w.Stop)

	registryPath := o.registryPath
	if registryPath == "" {
		registryPath = filepath.Join(dataDir, "institutions.yaml")
	}
	demo, err := bootstrapDemoRegistry(dataDir, registryPath)
	if err != nil {
		return err
	}
	reg, err := registry.Open(registryPath, logger)
	if err != nil {
		return err
	}
	watchCtx, stopWatch := context.WithCancel(context.Background())
	go reg.Watch(watchCtx, time.Second)
	stack.push(stopWatch)
	if demo != nil {
		if err := transferDemoDispute(ctx, c); err != nil {
			return fmt.Errorf("demo dispute: %w", err)
		}
	}

	token, generated, err := adminToken(dataDir)
	if err != nil {
		return err
	}
	metrics := api.NewMetrics(prometheus.DefaultRegisterer)
	public := httpServer(api.NewPublic(api.PublicConfig{
		Logger:     logger,
		Engine:     c,
		Verifier:   auth.NewVerifier(reg, o.auth.options()),
		Ready:      func(ctx context.Context) error { return engine.Ready(ctx, c) },
		Build:      buildVersion(),
		Metrics:    metrics,
		RatePerKey: o.rate.perSecond,
		RateBurst:  o.rate.burst,
	}), logger)
	admin := httpServer(api.NewAdmin(api.AdminConfig{
		Logger: logger, Token: token, Engine: c, Institutions: registryDirectory{reg}, Metrics: metrics,
	}), logger)
	errc := make(chan error, 2)
	serve(public, publicLn, errc)
	serve(admin, adminLn, errc)
	stack.push(func() { shutdownHTTP(logger, 30*time.Second, public, admin) })

	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "odr dev ready in %s (data in %s)\n", time.Since(started).Round(time.Millisecond), dataDir)
	fmt.Fprintf(out, "  public API   http://%s\n", publicLn.Addr())
	fmt.Fprintf(out, "  admin API    http://%s\n", adminLn.Addr())
	fmt.Fprintf(out, "  temporal     %s (namespace %s, task queue %s)\n", srv.FrontendAddress(), srv.Namespace(), workflows.TaskQueue)
	if ui := srv.UIAddress(); ui != "" {
		fmt.Fprintf(out, "  web UI       http://%s/namespaces/%s/workflows\n", ui, srv.Namespace())
	}
	if generated {
		fmt.Fprintf(out, "  admin token  %s (new; stored in %s)\n", token, filepath.Join(dataDir, "admin-token"))
	} else {
		fmt.Fprintf(out, "  admin token  in %s or ODR_ADMIN_TOKEN\n", filepath.Join(dataDir, "admin-token"))
	}

	fmt.Fprintf(out, "  registry     %s\n", registryPath)
	if demo != nil {
		fmt.Fprintf(out, "\nDemo: dispute %s is transferred to %s. Move it to CON_INIT with:\n\n  %s\n\n", demoDispute, demoInstitution, demo.command(publicLn.Addr()))
	}

	select {
	case <-ctx.Done():
		logger.Info("shutting down")
		return nil
	case err := <-errc:
		return fmt.Errorf("listener failed: %w", err)
	}
}
