package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/odrflow/odrflow/bench"
	"github.com/odrflow/odrflow/bench/embedded"
	"github.com/odrflow/odrflow/devserver"
	"github.com/odrflow/odrflow/engine"
	"github.com/odrflow/odrflow/worker"
)

type benchOptions struct {
	cfg        bench.Config
	jsonOut    bool
	logLevel   string
	cpuProfile string
	memProfile string
	// remote deployment
	url, adminURL, adminToken, registryPath string
	// embedded stack tuning
	dataDir    string
	pollers    int
	maxWFTasks int
	sticky     int
	pragmas    []string
	maxConns   int
	dynamic    []string
}

// embeddedFlags only make sense for the self-contained stack.
var embeddedFlags = []string{"data-dir", "workflow-pollers", "max-workflow-tasks", "sticky-cache", "sqlite-pragma", "sqlite-max-conns", "dynamic-config", "log-level"}

func newBenchCmd() *cobra.Command {
	o := benchOptions{cfg: bench.DefaultConfig()}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a status change end to end, side by side with the Temporal engine underneath",
		Long: `odr bench registers a throw-away institution and key, transfers disputes, and
lets --concurrency clients walk them through legal status changes with freshly
signed tokens for --duration. In the same run and on the same stack it sends
the same number of changes straight to the workflows with the Temporal client
(no HTTP, no signature) at the same concurrency, and compares: throughput,
p50/p95/p99 latency and errors of each, and their throughput ratio.

By default it measures a self-contained stack (embedded Temporal server,
worker and both APIs in this process, data in a temporary directory). With
--url it measures a running deployment instead: --admin-url and the admin
token (--admin-token or ODR_ADMIN_TOKEN) to transfer disputes, --registry (the
file the API follows; it is reloaded within 2 s) to register the institution,
and TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE for the raw side.

--scale N then transfers N more disputes and reports the transfer rate, and,
for the self-contained stack, memory and persistence per open dispute and the
latency of the admin list filtered by status. See BENCHMARKS.md.

` + temporalEnvHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runBench(ctx, cmd, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.cfg.Disputes, "disputes", o.cfg.Disputes, "disputes each side has transferred before the first round (more follow as needed)")
	f.IntVar(&o.cfg.Concurrency, "concurrency", o.cfg.Concurrency, "clients sending changes at once")
	f.DurationVar(&o.cfg.Duration, "duration", o.cfg.Duration, "measured time of the leading side, over all rounds (0: skip, e.g. with --scale)")
	f.IntVar(&o.cfg.Rounds, "rounds", o.cfg.Rounds, "rounds the duration is split into; the side that leads alternates")
	f.DurationVar(&o.cfg.Warmup, "warmup", o.cfg.Warmup, "unmeasured time of each side before the first round")
	f.IntVar(&o.cfg.Scale, "scale", 0, "then transfer this many more disputes and measure the stack holding them open")
	f.IntVar(&o.cfg.ListCalls, "list-calls", o.cfg.ListCalls, "admin list calls timed by --scale")
	f.BoolVar(&o.cfg.SignInline, "sign-inline", false, "sign each token inside the measured window instead of just before it")
	f.DurationVar(&o.cfg.RequestTimeout, "request-timeout", o.cfg.RequestTimeout, "bound of one status change")
	f.BoolVar(&o.jsonOut, "json", false, "print one JSON object instead of tables")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof); with the self-contained stack it covers server, worker and APIs")
	f.StringVar(&o.memProfile, "memprofile", "", "write a heap profile to this file at the end of the run, while its disputes are still open")

	f.StringVar(&o.url, "url", "", "base URL of a running deployment's public API (default: a self-contained stack)")
	f.StringVar(&o.adminURL, "admin-url", "", "base URL of the deployment's admin API (with --url)")
	f.StringVar(&o.adminToken, "admin-token", "", "the deployment's admin bearer token (with --url)")
	f.StringVar(&o.registryPath, "registry", "", "the registry file the deployment's API follows (with --url)")

	f.StringVar(&o.dataDir, "data-dir", "", "keep the self-contained stack's database and log here (default: a temporary directory, removed)")
	f.IntVar(&o.pollers, "workflow-pollers", 0, "self-contained stack: concurrent workflow task polls (0: the worker's default)")
	f.IntVar(&o.maxWFTasks, "max-workflow-tasks", 0, "self-contained stack: workflow tasks run at once (0: the worker's default)")
	f.IntVar(&o.sticky, "sticky-cache", 0, "self-contained stack: workflows kept in the worker's cache (0: the SDK's default)")
	f.StringArrayVar(&o.pragmas, "sqlite-pragma", nil, "self-contained stack: override one SQLite pragma, NAME=VALUE (repeatable)")
	f.IntVar(&o.maxConns, "sqlite-max-conns", 0, "self-contained stack: SQLite connections the server may open (0: Temporal's default, 1)")
	f.StringArrayVar(&o.dynamic, "dynamic-config", nil, "self-contained stack: set one Temporal dynamic config KEY=VALUE (repeatable)")
	f.StringVar(&o.logLevel, "log-level", "info", "self-contained stack: level of its log, written to odr.log in its data directory")
	return cmd
}

func runBench(ctx context.Context, cmd *cobra.Command, o benchOptions) error {
	if err := o.cfg.Validate(); err != nil {
		return err
	}
	o.cfg.Progress = cmd.ErrOrStderr()
	var (
		d   bench.Deployment
		err error
	)
	if o.url != "" {
		for _, name := range embeddedFlags {
			if cmd.Flags().Changed(name) {
				return fmt.Errorf("--%s tunes the self-contained stack and cannot be used with --url", name)
			}
		}
		if d, err = o.remote(); err != nil {
			return err
		}
		defer d.Engine.Close()
	} else {
		stack, err := o.startEmbedded(ctx)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := stack.Close(); cerr != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning: stopping the stack:", cerr)
			}
		}()
		d = stack.Deployment()
	}
	if o.cpuProfile != "" {
		stopProfile, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	res, err := bench.Run(ctx, d, o.cfg)
	if err != nil {
		if o.url == "" && o.dataDir == "" {
			// The stack's log goes with its temporary directory.
			return fmt.Errorf("%w (rerun with --data-dir DIR to keep the stack's log in DIR/odr.log)", err)
		}
		return err
	}
	if o.memProfile != "" {
		if err := writeHeapProfile(o.memProfile); err != nil {
			return err
		}
	}
	out := cmd.OutOrStdout()
	if o.jsonOut {
		return res.WriteJSON(out)
	}
	return res.WriteTable(out)
}

// remote describes the deployment given by --url and friends.
func (o benchOptions) remote() (bench.Deployment, error) {
	var missing []string
	for _, f := range []struct{ name, val string }{
		{"--admin-url", o.adminURL}, {"--admin-token (or ODR_ADMIN_TOKEN)", o.adminToken}, {"--registry", o.registryPath},
	} {
		if f.val == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return bench.Deployment{}, fmt.Errorf("with --url, also give %s", strings.Join(missing, ", "))
	}
	c, err := engine.Dial(engine.ConfigFromEnv(), slog.New(slog.DiscardHandler))
	if err != nil {
		return bench.Deployment{}, err
	}
	return bench.Deployment{
		Mode: "remote", PublicURL: o.url, AdminURL: o.adminURL, AdminToken: o.adminToken,
		RegistryPath: o.registryPath, Engine: c,
	}, nil
}

// startEmbedded starts the self-contained stack with the tuning flags.
func (o benchOptions) startEmbedded(ctx context.Context) (*embedded.Stack, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", o.logLevel)
	}
	pragmas := devserver.DefaultPragmas()
	for _, p := range o.pragmas {
		name, value, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, errors.New("--sqlite-pragma wants NAME=VALUE, e.g. synchronous=NORMAL")
		}
		pragmas[strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	dynamic := map[string]any{}
	for _, kv := range o.dynamic {
		key, value, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(key) == "" {
			return nil, errors.New("--dynamic-config wants KEY=VALUE, e.g. matching.numTaskqueueReadPartitions=1")
		}
		dynamic[strings.TrimSpace(key)] = dynamicValue(strings.TrimSpace(value))
	}
	return embedded.Start(ctx, embedded.Options{
		Dir:             o.dataDir,
		Worker:          worker.Options{WorkflowTaskPollers: o.pollers, MaxConcurrentWorkflowTasks: o.maxWFTasks},
		StickyCacheSize: o.sticky,
		SQLitePragmas:   pragmas,
		SQLiteMaxConns:  o.maxConns,
		DynamicConfig:   dynamic,
		LogLevel:        level,
	})
}

// dynamicValue types a dynamic config value from the command line: an
// integer, a number, a boolean or a duration when it reads as one, since
// Temporal's settings do not convert strings.
func dynamicValue(s string) any {
	if i, err := strconv.Atoi(s); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	if b, err := strconv.ParseBool(s); err == nil {
		return b
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d
	}
	return s
}

// startCPUProfile profiles this process into path until the returned stop.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// writeHeapProfile writes the live heap, after a collection, to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}
