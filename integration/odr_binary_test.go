package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/odrflow/odrflow/devserver"
)

var (
	buildOnce sync.Once
	odrBin    string
	buildErr  error
)

// odrBinary builds cmd/odr once per test run.
func odrBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "odr-bin-")
		if err != nil {
			buildErr = err
			return
		}
		odrBin = filepath.Join(dir, "odr")
		out, err := exec.Command("go", "build", "-o", odrBin, "../cmd/odr").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return odrBin
}

func freePort(t *testing.T) int {
	p, err := devserver.FreePort()
	require.NoError(t, err)
	return p
}

// devProcess is a running `odr dev`.
type devProcess struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *strings.Builder
	done   chan error
}

func startDev(t *testing.T, dataDir string, env []string, args ...string) *devProcess {
	t.Helper()
	cmd := exec.Command(odrBinary(t), append([]string{"dev", "--data-dir", dataDir}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &devProcess{cmd: cmd, lines: make(chan string, 100), stderr: &strings.Builder{}, done: make(chan error, 1)}
	cmd.Stderr = &lockedWriter{b: p.stderr}
	require.NoError(t, cmd.Start())
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	return p
}

// waitLine returns the first stdout line containing substr.
func (p *devProcess) waitLine(t *testing.T, substr string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("odr dev exited before printing %q; stderr:\n%s", substr, p.stderr.String())
			}
			if strings.Contains(l, substr) {
				return l
			}
		case <-deadline:
			t.Fatalf("odr dev did not print %q within %s; stderr:\n%s", substr, timeout, p.stderr.String())
		}
	}
}

func (p *devProcess) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.done:
		require.NoError(t, err, "odr dev exits 0 on SIGTERM; stderr:\n%s", p.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("odr dev did not stop within 60s of SIGTERM")
	}
}

type lockedWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// The command `odr dev` prints works as printed, state survives a restart,
// and flags read their ODR_* variables.
func TestOdrDevDemoCommandWorksAsPrinted(t *testing.T) {
	dataDir := t.TempDir()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env := []string{"ODR_HTTP_ADDR=" + httpAddr, "ODR_ADMIN_TOKEN="}
	args := []string{"--temporal-port", fmt.Sprint(freePort(t)), "--ui-port", "0", "--admin-addr", adminAddr}
	dev := startDev(t, dataDir, env, args...)
	dev.waitLine(t, "odr dev ready", 3*time.Minute)
	demo := strings.TrimSpace(dev.waitLine(t, " client status ", 30*time.Second))
	assert.Contains(t, demo, "--url http://"+httpAddr)

	out, err := exec.Command("sh", "-c", demo).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "HTTP 200")
	assert.Contains(t, string(out), `"message":"Update to the Dispute MII-INV-2024-01-781096 received"`)

	show := func() string {
		out, err := exec.Command(odrBinary(t), "dispute", "show", "MII-INV-2024-01-781096", "--admin-url", "http://"+adminAddr, "--data-dir", dataDir).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	assert.Contains(t, show(), `"status": "CON_INIT"`)
	// Sending it again is an idempotent repeat.
	out, err = exec.Command("sh", "-c", demo).CombinedOutput()
	require.NoError(t, err, "%s", out)
	dev.stop(t)

	dev = startDev(t, dataDir, env, args...)
	dev.waitLine(t, "odr dev ready", 3*time.Minute)
	assert.Equal(t, demo, strings.TrimSpace(dev.waitLine(t, " client status ", 30*time.Second)), "same demo after restart")
	st := show()
	assert.Contains(t, st, `"status": "CON_INIT"`)
	assert.Equal(t, 1, strings.Count(st, `"to": "CON_INIT"`), "recorded once")
	dev.stop(t)
}

// A busy port is a clear message and exit status 1, not a stack trace.
func TestOdrDevBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	for _, flag := range []string{"--http-addr", "--admin-addr", "--temporal-port", "--ui-port"} {
		t.Run(flag, func(t *testing.T) {
			value := l.Addr().String()
			if strings.HasSuffix(flag, "-port") {
				value = fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
			}
			args := map[string]string{
				"--http-addr":     fmt.Sprintf("127.0.0.1:%d", freePort(t)),
				"--admin-addr":    fmt.Sprintf("127.0.0.1:%d", freePort(t)),
				"--temporal-port": fmt.Sprint(freePort(t)),
				"--ui-port":       fmt.Sprint(freePort(t)),
			}
			args[flag] = value
			argv := []string{"dev", "--data-dir", t.TempDir()}
			for k, v := range args {
				argv = append(argv, k, v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, odrBinary(t), argv...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "%s", out)
			assert.Equal(t, 1, exit.ExitCode())
			assert.Contains(t, string(out), "in use")
			assert.NotContains(t, string(out), "goroutine ")
			assert.NotContains(t, string(out), "panic")
		})
	}
}
