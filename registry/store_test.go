package registry

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuffer collects log output written concurrently by Watch.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) count(substr string) int {
	return strings.Count(b.String(), substr)
}

// eventually polls cond every 5 ms until it holds or timeout passes, and
// reports how long that took.
func eventually(timeout time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > timeout {
			return time.Since(start), false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// replaceFile swaps in new content atomically, so that the concurrent
// Watch sees either the old or the new file, as with an editor's save.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	if err := writeAtomic(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func watch(t *testing.T, s *Store, interval time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Watch(ctx, interval)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func TestOpenFailsWithoutAGoodRegistry(t *testing.T) {
	path := tempPath(t)
	if _, err := Open(path, nil); err == nil || !strings.HasPrefix(err.Error(), "open registry: open "+path) {
		t.Errorf("Open of a missing file: %v", err)
	}
	writeFile(t, path, "institutions: {}\n")
	want := "open registry " + path + ": line 1: institutions: expected a list"
	if _, err := Open(path, nil); err == nil || err.Error() != want {
		t.Errorf("Open of an invalid file: %v, want %s", err, want)
	}
}

// TestWatchPicksUpChangesWithinTwoSeconds checks SPEC §5's promise with the
// default poll interval.
func TestWatchPicksUpChangesWithinTwoSeconds(t *testing.T) {
	k := testKeys(t)
	path := tempPath(t)
	if err := AddInstitution(path, demoInput); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	s, err := Open(path, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	watch(t, s, 0)

	if _, err := AddKey(path, "DEMO-ODRI", []byte(pemOf(t, k[0])), "k1"); err != nil {
		t.Fatal(err)
	}
	took, ok := eventually(2*time.Second, func() bool { _, ok := s.Current().Key("k1"); return ok })
	if !ok {
		t.Fatalf("new key not visible after %v", took)
	}
	t.Logf("new key visible after %v", took)

	if err := RevokeKey(path, "k1"); err != nil {
		t.Fatal(err)
	}
	if took, ok := eventually(2*time.Second, func() bool { k, _ := s.Current().Key("k1"); return k.Revoked }); !ok {
		t.Fatalf("revocation not visible after %v", took)
	}
	if n := logs.count(`level=INFO msg="registry reloaded"`); n != 2 {
		t.Errorf("%d reload messages for 2 changes:\n%s", n, logs.String())
	}
}

func TestBrokenFileKeepsLastGoodRegistry(t *testing.T) {
	k := testKeys(t)
	path := tempPath(t)
	if err := AddInstitution(path, demoInput); err != nil {
		t.Fatal(err)
	}
	if _, err := AddKey(path, "DEMO-ODRI", []byte(pemOf(t, k[0])), "k1"); err != nil {
		t.Fatal(err)
	}
	good := readFile(t, path)
	var logs logBuffer
	s, err := Open(path, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	first := s.Current()
	watch(t, s, 10*time.Millisecond)

	const errMsg = `level=ERROR msg="registry not reloaded; the last good registry stays in force"`
	steps := []struct {
		name   string
		change func()
		logs   int    // error messages expected after the change
		detail string // in the last error message
	}{
		{"syntax error", func() { replaceFile(t, path, "institutions: [\n") }, 1, "parse YAML: yaml: line"},
		{"weak key", func() {
			replaceFile(t, path, strings.Replace(good, indent(pemOf(t, k[0]), 10), indent(pemOf(t, weakKey), 10), 1))
		}, 2, "publicKey: RSA key has 1024 bits, at least 2048 required"},
		{"file removed", func() {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, 3, "read registry: open " + path + ": no such file or directory"},
	}
	for _, step := range steps {
		step.change()
		if _, ok := eventually(2*time.Second, func() bool { return logs.count(errMsg) == step.logs }); !ok {
			t.Fatalf("%s: %d error messages, want %d:\n%s", step.name, logs.count(errMsg), step.logs, logs.String())
		}
		// Many more polls of the same broken state: still reported once.
		time.Sleep(100 * time.Millisecond)
		if n := logs.count(errMsg); n != step.logs {
			t.Fatalf("%s: %d error messages after repeated polls, want %d", step.name, n, step.logs)
		}
		if !strings.Contains(logs.String(), step.detail) {
			t.Errorf("%s: log does not say %q:\n%s", step.name, step.detail, logs.String())
		}
		if s.Current() != first {
			t.Fatalf("%s: the registry in force was replaced", step.name)
		}
		if err := s.Reload(); err == nil || !strings.Contains(err.Error(), step.detail) {
			t.Errorf("%s: Reload() = %v, want the problem", step.name, err)
		}
	}

	// A valid file again: it is installed and reported.
	replaceFile(t, path, strings.Replace(good, "revoked: false", "revoked: true", 1))
	if took, ok := eventually(2*time.Second, func() bool { k, _ := s.Current().Key("k1"); return k.Revoked }); !ok {
		t.Fatalf("repaired file not installed after %v", took)
	}
	if err := s.Reload(); err != nil {
		t.Errorf("Reload() of a good file = %v", err)
	}
}

func TestReloadDropsRemovedKey(t *testing.T) {
	k := testKeys(t)
	path := tempPath(t)
	if err := AddInstitution(path, demoInput); err != nil {
		t.Fatal(err)
	}
	withoutKey := readFile(t, path)
	if _, err := AddKey(path, "DEMO-ODRI", []byte(pemOf(t, k[0])), "k1"); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Current().Key("k1"); !ok {
		t.Fatal("key missing after Open")
	}
	before := s.Current()
	if err := s.Reload(); err != nil || s.Current() != before {
		t.Fatalf("Reload of an unchanged file = %v, replaced=%v; want nothing to happen", err, s.Current() != before)
	}
	writeFile(t, path, withoutKey)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Current().Key("k1"); ok {
		t.Error("key removed from the file is still known")
	}
	if _, ok := before.Key("k1"); !ok {
		t.Error("the old snapshot changed; snapshots must be immutable")
	}
}
