//go:build cluster

package clustertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is one child process of the cluster, which the test starts, signals
// and restarts. Every run appends its output to the same log file.
type proc struct {
	name string
	bin  string
	args []string
	env  []string
	log  string
	// cred runs the process as another user (PostgreSQL as postgres).
	cred *syscall.Credential
	// deathSig is what the process gets if the test process dies first, so
	// that a crashed or timed-out test leaves nothing running.
	deathSig syscall.Signal

	mu  sync.Mutex
	cur *procRun
}

// procRun is one start of a proc.
type procRun struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, set before done closes
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil && !p.cur.exited() {
		return fmt.Errorf("%s is already running", p.name)
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "==== %s: %s %s\n", time.Now().Format(time.RFC3339Nano), p.bin, strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = f, f
	sig := p.deathSig
	if sig == 0 {
		sig = syscall.SIGKILL
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: sig, Credential: p.cred}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	r := &procRun{cmd: cmd, done: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		f.Close()
		close(r.done)
	}()
	p.cur = r
	return nil
}

func (r *procRun) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

func (p *proc) run() *procRun {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// pid is the current run's process id.
func (p *proc) pid() int {
	if r := p.run(); r != nil {
		return r.cmd.Process.Pid
	}
	return 0
}

// signal sends sig to the running process.
func (p *proc) signal(sig syscall.Signal) error {
	r := p.run()
	if r == nil || r.exited() {
		return fmt.Errorf("%s is not running", p.name)
	}
	return r.cmd.Process.Signal(sig)
}

// wait waits up to timeout for the current run to exit and returns its
// exit code (-1 when a signal ended it).
func (p *proc) wait(timeout time.Duration) (int, error) {
	r := p.run()
	if r == nil {
		return 0, fmt.Errorf("%s never started", p.name)
	}
	select {
	case <-r.done:
		return r.cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		return 0, fmt.Errorf("%s (pid %d) still running after %s", p.name, r.cmd.Process.Pid, timeout)
	}
}

// kill9 kills the process outright, as a crash or the OOM killer would,
// and waits until it is gone.
func (p *proc) kill9() error {
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	_, err := p.wait(30 * time.Second)
	return err
}

// stop ends the process: sig first, SIGKILL after grace. It is what
// cleanup runs on everything still alive, failed test or not.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	r := p.run()
	if r == nil || r.exited() {
		return
	}
	_ = r.cmd.Process.Signal(sig)
	if _, err := p.wait(grace); err != nil {
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// tail returns the last n lines of the process's log.
func (p *proc) tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// childEnv is the test's environment without the variables that configure
// odr and Temporal clients, plus extra: a child sees only what the test
// means it to.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TEMPORAL_") || strings.HasPrefix(kv, "ODR_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// ports hands out free loopback ports below the kernel's ephemeral range
// (32768 and up), so that no outgoing connection can take one between the
// test picking it and a process restarting on it. The range also suits the
// Temporal server's membership ports, which the PostgreSQL schema stores as
// a smallint (at most 32767).
type ports struct {
	mu   sync.Mutex
	used map[int]bool
}

func (ps *ports) next(t *testing.T) int {
	t.Helper()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.used == nil {
		ps.used = map[int]bool{}
	}
	for range 1000 {
		p := 20000 + rand.IntN(12000)
		if ps.used[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		ps.used[p] = true
		return p
	}
	t.Fatal("no free loopback port in 20000-31999")
	return 0
}

// buildBinaries compiles what the cluster runs into dir: odr from this
// module, and the Temporal server and its SQL tool from the
// go.temporal.io/server version go.mod requires (go.mod's tool directives
// keep their dependencies).
func buildBinaries(t *testing.T, dir string) (odr, server, sqlTool string) {
	t.Helper()
	odr, server, sqlTool = filepath.Join(dir, "odr"), filepath.Join(dir, "temporal-server"), filepath.Join(dir, "temporal-sql-tool")
	for _, b := range []struct{ out, pkg string }{
		{odr, "./cmd/odr"},
		{server, "go.temporal.io/server/cmd/server"},
		{sqlTool, "go.temporal.io/server/cmd/tools/sql"},
	} {
		started := time.Now()
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Dir = ".." // the module root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, out)
		}
		t.Logf("built %s in %s", b.pkg, time.Since(started).Round(time.Second))
	}
	return odr, server, sqlTool
}

// runCmd runs a short-lived command to completion and returns its stdout.
func runCmd(ctx context.Context, env []string, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\n%s%s", filepath.Base(bin), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// httpStatus GETs url and returns the status code, or an error when nothing
// answered.
func httpStatus(url string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// waitStatus polls url until it answers want, and returns how long that took.
func waitStatus(url string, want int, timeout time.Duration) (time.Duration, error) {
	started := time.Now()
	var last string
	for time.Since(started) < timeout {
		code, err := httpStatus(url)
		if err == nil && code == want {
			return time.Since(started), nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("HTTP %d", code)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return 0, fmt.Errorf("GET %s: no %d within %s (last: %s)", url, want, timeout, last)
}

// isDialError reports whether err happened before a request was sent, so
// that the server cannot have seen it.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
