//go:build cluster

package clustertest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// postgres is a throwaway PostgreSQL server on a loopback port.
type postgres struct {
	proc     *proc
	port     int
	user     string
	password string
}

// postgresBin finds the directory of initdb and postgres: on PATH, or where
// Debian's packages put them (/usr/lib/postgresql/<major>/bin, not on PATH).
func postgresBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return majorOf(a) - majorOf(b) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("PostgreSQL's initdb is neither on PATH nor in /usr/lib/postgresql/*/bin: install PostgreSQL (apt-get install postgresql)")
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// startPostgres initialises a cluster in a fresh directory and starts it on
// port, with password authentication for user temporal, as the compose
// file's postgres image does. PostgreSQL refuses to run as root, so under
// root it runs as the postgres user. Cleanup stops it and removes its
// directory.
//
// It runs with fsync off: the test kills Temporal and odr processes, never
// PostgreSQL or the machine, and a running server's writes are safe in the
// page cache; durability of the database itself is PostgreSQL's business.
func startPostgres(t *testing.T, logDir string, port int) *postgres {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		t.Fatal(err)
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not t.TempDir: its parent is private to root, and the postgres user
	// must reach this directory.
	root, err := os.MkdirTemp("", "odr-clustertest-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	pg := &postgres{port: port, user: "temporal", password: "clustertest-" + strconv.Itoa(os.Getpid())}
	pwFile := filepath.Join(root, "pwfile")
	if err := os.WriteFile(pwFile, []byte(pg.password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		for _, p := range []string{root, pwFile} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	data := filepath.Join(root, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "--pgdata", data, "--username", pg.user,
		"--pwfile", pwFile, "--auth", "scram-sha-256", "--encoding", "UTF8", "--locale", "C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	pg.proc = &proc{
		name: "postgres",
		bin:  filepath.Join(bin, "postgres"),
		args: []string{"-D", data, "-p", strconv.Itoa(port),
			"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + root,
			"-c", "max_connections=300", "-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off"},
		env:  childEnv(),
		log:  filepath.Join(logDir, "postgres.log"),
		cred: cred,
		// Immediate shutdown if the test dies: backends follow the postmaster.
		deathSig: syscall.SIGQUIT,
	}
	if err := pg.proc.start(); err != nil {
		t.Fatal(err)
	}
	// SIGINT is PostgreSQL's fast shutdown: disconnect clients, checkpoint.
	t.Cleanup(func() { pg.proc.stop(syscall.SIGINT, 30*time.Second) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(pg.proc.log)
		if strings.Contains(string(b), "database system is ready to accept connections") {
			return pg
		}
		if r := pg.proc.run(); r.exited() || time.Now().After(deadline) {
			t.Fatalf("PostgreSQL did not become ready:\n%s", pg.proc.tail(30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
