package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/odrflow/odrflow/devserver"
	"github.com/odrflow/odrflow/engine"
	"github.com/odrflow/odrflow/workflows"
)

type devOptions struct {
	dataDir          string
	temporalPort     int
	uiPort           int
	logLevel         string
	temporalLogLevel string
	api              apiFlags
	worker           workerFlags
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
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			return runDev(ctx, o, cmd)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", "./.odr", "directory for the Temporal database, registry, keys and admin token")
	f.IntVar(&o.temporalPort, "temporal-port", 7233, "gRPC port of the embedded Temporal frontend (loopback)")
	f.IntVar(&o.uiPort, "ui-port", 8233, "port of the Temporal Web UI (loopback); 0 disables it")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&o.temporalLogLevel, "temporal-log-level", "warn", "log level of the embedded Temporal server")
	o.api.register(f, "institution registry YAML (default <data-dir>/institutions.yaml; created with a demo institution when missing)")
	o.worker.register(f)
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
	wfConfig, err := o.worker.config()
	if err != nil {
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
	publicLn, adminLn, err := o.api.listen(&stack)
	if err != nil {
		return err
	}

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

	metrics, sdkMetrics := newMetricsRegistry(&stack)
	c, err := engine.Dial(engine.Config{Address: srv.FrontendAddress(), Namespace: srv.Namespace(), Metrics: sdkMetrics}, logger)
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
	if _, err := o.worker.startWorker(c, wfConfig, &stack); err != nil {
		return err
	}

	registryPath := o.api.registryPath
	if registryPath == "" {
		registryPath = filepath.Join(dataDir, "institutions.yaml")
	}
	demo, err := bootstrapDemoRegistry(dataDir, registryPath)
	if err != nil {
		return err
	}
	reg, err := openRegistry(registryPath, logger, &stack)
	if err != nil {
		return err
	}
	if demo != nil {
		if err := transferDemoDispute(ctx, c); err != nil {
			return fmt.Errorf("demo dispute: %w", err)
		}
	}
	token, generated, err := adminToken(dataDir)
	if err != nil {
		return err
	}
	errc := make(chan error, 2)
	o.api.serveAPIs(apiDeps{logger: logger, client: c, registry: reg, token: token, metrics: metrics}, publicLn, adminLn, &stack, errc)

	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "odr dev ready in %s (data in %s)\n", time.Since(started).Round(time.Millisecond), dataDir)
	fmt.Fprintf(out, "  public API   http://%s\n", dialable(publicLn.Addr()))
	fmt.Fprintf(out, "  admin API    http://%s\n", dialable(adminLn.Addr()))
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
