package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/odrflow/odrflow/engine"
	"github.com/odrflow/odrflow/workflows"
)

// The production processes: odr api and odr worker run separately against a
// real Temporal cluster located by TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_TLS_CERT/_KEY/_CA, TEMPORAL_TLS_SERVER_NAME and TEMPORAL_API_KEY.

const temporalEnvHelp = `The Temporal cluster is located by TEMPORAL_ADDRESS (default localhost:7233) and
TEMPORAL_NAMESPACE (default "default"); TLS by TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY,
TEMPORAL_TLS_CA and TEMPORAL_TLS_SERVER_NAME; Temporal Cloud by TEMPORAL_API_KEY.`

// dialCluster builds the process's one client from the TEMPORAL_* variables;
// stopping the stack closes it.
func dialCluster(logger *slog.Logger, metrics client.MetricsHandler, stack *shutdownStack) (client.Client, engine.Config, error) {
	cfg := engine.ConfigFromEnv()
	cfg.Metrics = metrics
	c, err := engine.Dial(cfg, logger)
	if err != nil {
		return nil, cfg, err
	}
	stack.push(c.Close)
	return c, cfg, nil
}

func newAPICmd() *cobra.Command {
	var (
		a        apiFlags
		logLevel string
	)
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Serve the public and admin APIs against a Temporal cluster",
		Long: "odr api serves POST /status and the admin API. It needs --registry and the admin\n" +
			"token in ODR_ADMIN_TOKEN. /readyz follows the cluster.\n\n" + temporalEnvHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			logger, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			if a.registryPath == "" {
				return errors.New("--registry (ODR_REGISTRY) is required")
			}
			token := os.Getenv("ODR_ADMIN_TOKEN")
			if token == "" {
				return errors.New("ODR_ADMIN_TOKEN is required: the admin API's bearer token")
			}
			var stack shutdownStack
			defer stack.run()
			publicLn, adminLn, err := a.listen(&stack)
			if err != nil {
				return err
			}
			reg, err := openRegistry(a.registryPath, logger, &stack)
			if err != nil {
				return err
			}
			metrics, sdkMetrics := newMetricsRegistry(&stack)
			// Lazy: the API starts while the cluster is down and answers
			// 503 until it is back; /readyz tells load balancers.
			c, cfg, err := dialCluster(logger, sdkMetrics, &stack)
			if err != nil {
				return err
			}
			errc := make(chan error, 2)
			a.serveAPIs(apiDeps{logger: logger, client: c, registry: reg, token: token, metrics: metrics}, publicLn, adminLn, &stack, errc)
			logger.Info("odr api serving", "public", publicLn.Addr().String(), "admin", adminLn.Addr().String(),
				"temporal", cfg.Address, "namespace", cfg.Namespace)
			select {
			case <-ctx.Done():
				logger.Info("shutting down: finishing in-flight requests")
				return nil
			case err := <-errc:
				return fmt.Errorf("listener failed: %w", err)
			}
		},
	}
	a.register(cmd.Flags(), "institution registry YAML (required)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}

func newWorkerCmd() *cobra.Command {
	var (
		w           workerFlags
		logLevel    string
		metricsAddr string
		wait        time.Duration
	)
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run the dispute workflows (task queue disputes) against a Temporal cluster",
		Long:  "odr worker polls task queue disputes. SIGTERM drains it: running tasks finish.\n\n" + temporalEnvHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			logger, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			wfConfig, err := w.config()
			if err != nil {
				return err
			}
			var stack shutdownStack
			defer stack.run()
			metrics, sdkMetrics := newMetricsRegistry(&stack)
			var metricsLn net.Listener
			if metricsAddr != "" {
				l, err := listen("worker metrics (--metrics-addr)", metricsAddr)
				if err != nil {
					return err
				}
				stack.push(func() { l.Close() })
				metricsLn = l
			}
			c, cfg, err := dialCluster(logger, sdkMetrics, &stack)
			if err != nil {
				return err
			}
			waitCtx, cancel := context.WithTimeout(ctx, wait)
			err = engine.WaitReady(waitCtx, c)
			cancel()
			if err != nil {
				return err
			}
			errc := make(chan error, 1)
			if metricsLn != nil {
				mux := http.NewServeMux()
				mux.Handle("/metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
				mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
				srv := httpServer(mux, logger)
				serve(srv, metricsLn, errc)
				stack.push(func() { shutdownHTTP(logger, 5*time.Second, srv) })
			}
			if _, err := w.startWorker(c, wfConfig, &stack); err != nil {
				return err
			}
			logger.Info("odr worker running", "task_queue", workflows.TaskQueue, "temporal", cfg.Address,
				"namespace", cfg.Namespace, "role_policy", wfConfig.RolePolicy)
			select {
			case <-ctx.Done():
				logger.Info("shutting down: draining the worker")
				return nil
			case err := <-errc:
				return fmt.Errorf("metrics listener failed: %w", err)
			}
		},
	}
	w.register(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&metricsAddr, "metrics-addr", "127.0.0.1:9464", "address serving /metrics (Prometheus) and /healthz; empty disables")
	f.DurationVar(&wait, "wait", 2*time.Minute, "how long to wait for the cluster at start")
	return cmd
}

func newSetupCmd() *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Check the namespace and add odrflow's search attributes (idempotent)",
		Long:  "odr setup verifies that the namespace exists and adds the search attributes the\ndispute workflows use, leaving existing ones alone. Safe to run on every deploy.\n\n" + temporalEnvHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger("warn")
			if err != nil {
				return err
			}
			cfg := engine.ConfigFromEnv()
			c, err := engine.Dial(cfg, logger)
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), wait)
			defer cancel()
			if err := engine.WaitReady(ctx, c); err != nil {
				return err
			}
			if err := engine.CheckNamespace(ctx, c, cfg.Namespace); err != nil {
				return err
			}
			added, err := engine.EnsureSearchAttributes(ctx, c, cfg.Namespace, workflows.SearchAttributeTypes())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(added) == 0 {
				fmt.Fprintf(out, "namespace %s at %s: search attributes already in place\n", cfg.Namespace, cfg.Address)
			} else {
				fmt.Fprintf(out, "namespace %s at %s: added search attributes %v\n", cfg.Namespace, cfg.Address, added)
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 2*time.Minute, "how long to wait for the cluster")
	return cmd
}
