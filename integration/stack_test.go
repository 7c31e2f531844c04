// Package integration drives odrflow end to end against a real Temporal
// server embedded in the test process (devserver), through real HTTP. All
// tests that link the Temporal server live here, so it compiles once.
package integration

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/odrflow/odrflow/devserver"
	"github.com/odrflow/odrflow/engine"
	odrworker "github.com/odrflow/odrflow/worker"
	"github.com/odrflow/odrflow/workflows"
)

// stack is one embedded Temporal server with a connected client and a worker.
type stack struct {
	t      *testing.T
	dir    string
	srv    *devserver.Server
	client client.Client
	worker sdkworker.Worker
}

type stackOptions struct {
	dir      string // reuse a data directory; default a new temp dir
	uiPort   int
	wfConfig *workflows.Config
	worker   odrworker.Options
}

func testLogger() *slog.Logger {
	if os.Getenv("ODR_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startStack starts server, client and worker, and registers cleanup.
func startStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	cfg := workflows.DefaultConfig()
	if o.wfConfig != nil {
		cfg = *o.wfConfig
	}
	logger := testLogger()
	srv, err := devserver.Start(devserver.Options{
		DataDir:          o.dir,
		UIPort:           o.uiPort,
		SearchAttributes: workflows.SearchAttributeTypes(),
		Logger:           logger,
	})
	require.NoError(t, err)
	s := &stack{t: t, dir: o.dir, srv: srv}
	c, err := engine.Dial(engine.Config{Address: srv.FrontendAddress(), Namespace: srv.Namespace()}, logger)
	require.NoError(t, err)
	s.client = c
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, engine.WaitReady(ctx, c))
	_, err = engine.EnsureSearchAttributes(ctx, c, srv.Namespace(), workflows.SearchAttributeTypes())
	require.NoError(t, err)
	s.worker = odrworker.New(c, cfg, o.worker)
	require.NoError(t, s.worker.Start())
	t.Cleanup(s.stop)
	return s
}

// stop shuts the stack down; it is safe to call twice.
func (s *stack) stop() {
	if s.srv == nil {
		return
	}
	s.worker.Stop()
	s.client.Close()
	require.NoError(s.t, s.srv.Stop())
	s.srv = nil
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s: %s", timeout, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
