//go:build cluster

package clustertest

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/odrflow/odrflow/dispute"
)

const (
	namespace   = "default"
	institution = "CLUSTER-ODRI"
	userEmail   = "load@cluster-odri.example"
	userPhone   = "+919800000042"
	adminToken  = "cluster-test-admin-token"
)

// The load and the fault schedule. The rate is what two cores carry with
// PostgreSQL, the Temporal server, two workers, two APIs and the clients
// on them; the pauses leave each fault time to show and to heal.
const (
	walkers     = 8
	targetRate  = 25 // operations per second, all walkers together
	opBudget    = 3 * time.Minute
	drainProbes = 4 // requests held in flight across api-1's SIGTERM

	warmup         = 15 * time.Second
	workerDown     = 10 * time.Second
	temporalDown   = 10 * time.Second
	betweenFaults  = 15 * time.Second
	afterLastFault = 15 * time.Second
)

// temporalServer is the Temporal server process and where it serves.
type temporalServer struct {
	proc     *proc
	frontend string // host:port of the frontend's gRPC API
	httpURL  string // base URL of the frontend's HTTP API
}

// serving waits until the frontend answers GetClusterInfo over HTTP: the
// compose file's health check of the temporal service.
func (s *temporalServer) serving(timeout time.Duration) (time.Duration, error) {
	return waitStatus(s.httpURL+"/api/v1/cluster-info", http.StatusOK, timeout)
}

// fault is one thing the test did to the cluster, and when.
type fault struct {
	at   time.Duration // since the load started
	wall time.Time
	what string
}

func TestClusterSurvivesFaults(t *testing.T) {
	logDir := os.Getenv("CLUSTERTEST_LOG_DIR")
	if logDir == "" {
		logDir = t.TempDir()
	} else if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	odr, serverBin, sqlTool := buildBinaries(t, t.TempDir())
	var ps ports
	var procs []*proc // everything long-running, for the logs of a failed run
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, p := range procs {
			t.Logf("---- last lines of %s (%s)\n%s", p.name, p.log, p.tail(40))
		}
	})

	pg := startPostgres(t, logDir, ps.next(t))
	procs = append(procs, pg.proc)
	setupStarted := time.Now()
	// Twice: the compose file runs the same steps on every `up`, so they
	// must be idempotent.
	for range 2 {
		setupSchema(t, sqlTool, pg)
	}
	t.Logf("schema set up twice in %s", time.Since(setupStarted).Round(time.Millisecond))

	srv := startTemporal(t, serverBin, pg, &ps, logDir)
	procs = append(procs, srv.proc)
	registerNamespace(t, srv.frontend)
	temporalEnv := childEnv("TEMPORAL_ADDRESS="+srv.frontend, "TEMPORAL_NAMESPACE="+namespace)
	odrSetup(t, odr, temporalEnv, srv.frontend)

	regPath, sign := registerInstitution(t, odr, t.TempDir())

	workers := make([]*proc, 2)
	workerHealth := make([]string, 2)
	for i := range workers {
		addr := fmt.Sprintf("127.0.0.1:%d", ps.next(t))
		workers[i] = &proc{
			name: fmt.Sprintf("worker-%d", i+1), bin: odr,
			args: []string{"worker", "--metrics-addr", addr},
			env:  temporalEnv, log: filepath.Join(logDir, fmt.Sprintf("worker-%d.log", i+1)),
		}
		workerHealth[i] = "http://" + addr + "/healthz"
		startAndWait(t, workers[i], workerHealth[i])
		procs = append(procs, workers[i])
	}
	apis := make([]*proc, 2)
	endpoints := make([]*endpoint, 2)
	for i := range apis {
		public, admin := fmt.Sprintf("127.0.0.1:%d", ps.next(t)), fmt.Sprintf("127.0.0.1:%d", ps.next(t))
		apis[i] = &proc{
			name: fmt.Sprintf("api-%d", i+1), bin: odr,
			args: []string{"api", "--http-addr", public, "--admin-addr", admin, "--registry", regPath},
			env:  append(slices.Clone(temporalEnv), "ODR_ADMIN_TOKEN="+adminToken),
			log:  filepath.Join(logDir, fmt.Sprintf("api-%d.log", i+1)),
		}
		endpoints[i] = &endpoint{name: apis[i].name, public: "http://" + public, admin: "http://" + admin}
		startAndWait(t, apis[i], endpoints[i].public+"/readyz")
		procs = append(procs, apis[i])
	}
	t.Logf("cluster up in %s: postgres %d, temporal %s, workers %v, apis %v",
		time.Since(setupStarted).Round(time.Second), pg.port, srv.frontend, workerHealth, []string{endpoints[0].public, endpoints[1].public})

	// The load: walkers transfer disputes and walk them along legal paths,
	// paced together at targetRate operations per second.
	tl := &tally{}
	lc := &loadClient{
		endpoints: endpoints,
		http: &http.Client{
			Timeout:   30 * time.Second, // past the API's own 10 s wait on Temporal
			Transport: &http.Transport{MaxIdleConnsPerHost: walkers},
		},
		signer:      sign,
		adminToken:  adminToken,
		institution: institution,
		limiter:     rate.NewLimiter(targetRate, 1),
		tally:       tl,
		budget:      opBudget,
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stop := make(chan struct{})
	recordsc := make(chan *disputeRecord, 64)
	var records []*disputeRecord
	collected := make(chan struct{})
	go func() {
		for r := range recordsc {
			records = append(records, r)
		}
		close(collected)
	}()
	runID := strconv.FormatInt(time.Now().Unix()%100000, 10)

	// The disputes that probe api-1's graceful stop, transferred first. The
	// first transfers also tell when the cluster accepts disputes: a little
	// after `odr setup`, once the frontend has refreshed the namespace's
	// search attributes. They are counted apart from the load.
	gateTally := &tally{}
	lc.tally = gateTally
	probes := make([]*disputeRecord, drainProbes)
	gateStarted := time.Now()
	for i := range probes {
		probes[i] = &disputeRecord{id: fmt.Sprintf("CT-%s-drain-%d", runID, i)}
		if err := lc.transfer(ctx, probes[i].id); err != nil {
			t.Fatal(err)
		}
		probes[i].transferred = true
	}
	gate := fmt.Sprintf("%d transfers accepted %s after odr setup, with %d retries (answers: %s)",
		len(probes), time.Since(gateStarted).Round(time.Millisecond), gateTally.retries, gateTally.byCode())
	t.Log(gate)
	lc.tally = tl

	var wg sync.WaitGroup
	loadStarted := time.Now()
	for g := range walkers {
		wg.Go(func() { lc.walker(ctx, g, runID, stop, recordsc) })
	}

	var faults []fault
	note := func(format string, args ...any) {
		f := fault{at: time.Since(loadStarted), wall: time.Now(), what: fmt.Sprintf(format, args...)}
		faults = append(faults, f)
		t.Logf("%8s  %s", f.at.Round(100*time.Millisecond), f.what)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	time.Sleep(warmup)

	// A worker dies mid-task: its workflows move to the other worker once
	// their sticky queue times out.
	pid := workers[0].pid()
	must(workers[0].kill9())
	note("kill -9 worker-1 (pid %d)", pid)
	time.Sleep(workerDown)
	must(workers[0].start())
	d, err := waitStatus(workerHealth[0], http.StatusOK, time.Minute)
	must(err)
	note("worker-1 restarted (pid %d), /healthz 200 after %s", workers[0].pid(), d.Round(time.Millisecond))
	time.Sleep(betweenFaults)

	// The Temporal server dies: the APIs answer 503 (clients retry) and
	// /readyz says so; everything recovers when it is back.
	pid = srv.proc.pid()
	must(srv.proc.kill9())
	note("kill -9 temporal-server (pid %d)", pid)
	for _, e := range endpoints {
		d, err := waitStatus(e.public+"/readyz", http.StatusServiceUnavailable, 30*time.Second)
		must(err)
		note("%s /readyz 503 after %s", e.name, d.Round(time.Millisecond))
	}
	time.Sleep(temporalDown)
	must(srv.proc.start())
	d, err = srv.serving(2 * time.Minute)
	must(err)
	note("temporal-server restarted (pid %d), serving after %s", srv.proc.pid(), d.Round(time.Millisecond))
	for _, e := range endpoints {
		d, err := waitStatus(e.public+"/readyz", http.StatusOK, time.Minute)
		must(err)
		note("%s /readyz 200 after %s", e.name, d.Round(time.Millisecond))
	}
	time.Sleep(betweenFaults)

	// One API is stopped: it finishes what it has in flight and exits 0;
	// clients carry on with the other.
	// One API is stopped while requests wait in it: the workers are frozen
	// (SIGSTOP), so the probes' status changes block in api-1 until the
	// workers thaw, after its SIGTERM. It must answer them all and exit 0;
	// clients carry on with the other API.
	api1 := endpoints[0]
	t.Cleanup(func() {
		for _, w := range workers {
			_ = w.signal(syscall.SIGCONT)
		}
	})
	for _, w := range workers {
		must(w.signal(syscall.SIGSTOP))
	}
	note("SIGSTOP worker-1, worker-2: status changes wait for their workflows")
	type probeAnswer struct {
		i   int
		a   answer
		err error
	}
	probeAnswers := make(chan probeAnswer, len(probes))
	for i, p := range probes {
		go func() {
			a, err := lc.sendStatus(ctx, api1, p.id, dispute.ConInit, p.id+"/0")
			probeAnswers <- probeAnswer{i, a, err}
		}()
	}
	time.Sleep(time.Second)
	api1.termAt.Store(time.Now().UnixNano())
	must(apis[0].signal(syscall.SIGTERM))
	note("SIGTERM api-1 (pid %d) with %d probe requests in flight", apis[0].pid(), len(probes))
	time.Sleep(2 * time.Second)
	for _, w := range workers {
		must(w.signal(syscall.SIGCONT))
	}
	note("SIGCONT worker-1, worker-2")
	answered := 0
	for range probes {
		pa := <-probeAnswers
		if pa.err != nil || pa.a.code != http.StatusOK {
			t.Errorf("probe %s in flight at api-1's SIGTERM: %s, want HTTP 200", probes[pa.i].id, describe(pa.a, pa.err))
			continue
		}
		probes[pa.i].accepted = []transition{{dispute.Transferred, dispute.ConInit}}
		answered++
	}
	code, err := apis[0].wait(time.Minute)
	must(err)
	api1.out.Store(true)
	note("api-1 exited with status %d %s after SIGTERM; answered %d/%d probes 200; %d requests in flight at SIGTERM answered, %d cut",
		code, time.Duration(time.Now().UnixNano()-api1.termAt.Load()).Round(time.Millisecond),
		answered, len(probes), api1.drained.Load(), api1.cut.Load())
	if code != 0 {
		t.Errorf("api-1 exited with status %d after SIGTERM, want 0", code)
	}
	if n := api1.cut.Load(); n != 0 {
		t.Errorf("%d requests in flight at api-1's SIGTERM lost their answer", n)
	}
	time.Sleep(afterLastFault)

	close(stop)
	wg.Wait()
	loadTime := time.Since(loadStarted)
	close(recordsc)
	<-collected
	records = append(records, probes...)
	note("load stopped")

	// Every dispute, as the surviving API reports it, against what its
	// client was told.
	var (
		problems                                          []string
		transferred, accepted, repeats, refused, finished int
	)
	byStatus := map[dispute.Status]int{}
	checkCtx, checkCancel := context.WithTimeout(ctx, 5*time.Minute)
	defer checkCancel()
	for _, rec := range records {
		if rec.problem != "" {
			problems = append(problems, rec.id+": "+rec.problem)
		}
		accepted += len(rec.accepted)
		repeats += rec.repeats
		refused += rec.refused
		if rec.refused > 0 {
			finished++
		}
		if !rec.transferred {
			continue
		}
		transferred++
		st, err := lc.show(checkCtx, rec.id)
		if err != nil {
			problems = append(problems, rec.id+": "+err.Error())
			continue
		}
		problems = append(problems, rec.check(st, institution, sign)...)
		byStatus[st.Status]++
	}
	// Visibility, which the admin list, the UI and case managers' filters
	// read, agrees with the states once it has caught up.
	visibility, err := waitVisibility(checkCtx, lc, byStatus, time.Minute)
	if err != nil {
		problems = append(problems, err.Error())
	}

	// The rest stops gracefully: workers drain, the API finishes.
	for _, p := range []*proc{workers[0], workers[1], apis[1]} {
		must(p.signal(syscall.SIGTERM))
		code, err := p.wait(time.Minute)
		must(err)
		if code != 0 {
			t.Errorf("%s exited with status %d after SIGTERM, want 0", p.name, code)
		}
	}
	note("workers and api-2 stopped with SIGTERM, exit status 0")

	report(gate, loadTime, tl, faults, transferred, finished, accepted, repeats, refused, visibility, len(problems))
	if len(problems) > 0 {
		t.Errorf("%d problems:\n%s", len(problems), strings.Join(problems[:min(len(problems), 30)], "\n"))
	}
	if tl.gaveUp > 0 {
		t.Errorf("%d operations got no definite answer within %s", tl.gaveUp, opBudget)
	}
	if accepted == 0 || finished == 0 {
		t.Errorf("the load accepted %d changes and finished %d disputes: no load was held", accepted, finished)
	}
}

// setupSchema creates Temporal's two databases and migrates them, with the
// commands of the compose file's temporal-schema service.
func setupSchema(t *testing.T, sqlTool string, pg *postgres) {
	t.Helper()
	env := childEnv("SQL_PLUGIN=postgres12", "SQL_HOST=127.0.0.1", "SQL_PORT="+strconv.Itoa(pg.port),
		"SQL_USER="+pg.user, "SQL_PASSWORD="+pg.password)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, schema := range []string{"temporal", "visibility"} {
		db := "temporal"
		if schema == "visibility" {
			db = "temporal_visibility"
		}
		for _, args := range [][]string{
			{"--db", db, "create-database"},
			{"--db", db, "setup-schema", "-v", "0.0"},
			{"--db", db, "update-schema", "--schema-name", "postgresql/v12/" + schema},
		} {
			if _, err := runCmd(ctx, env, sqlTool, args...); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// startTemporal starts the server the way the temporalio/server image does:
// `temporal-server start` with the configuration template built into the
// server, filled from the compose file's variables (loopback addresses and
// free ports instead of container names), and the compose file's dynamic
// config.
func startTemporal(t *testing.T, bin string, pg *postgres, ps *ports, logDir string) *temporalServer {
	t.Helper()
	dynamicConfig, err := filepath.Abs("../deploy/temporal/dynamicconfig.yaml")
	if err != nil {
		t.Fatal(err)
	}
	grpc, httpPort := ps.next(t), ps.next(t)
	env := []string{
		"DB=postgres12", "DB_PORT=" + strconv.Itoa(pg.port), "POSTGRES_SEEDS=127.0.0.1",
		"POSTGRES_USER=" + pg.user, "POSTGRES_PWD=" + pg.password,
		"BIND_ON_IP=127.0.0.1", "NUM_HISTORY_SHARDS=4", "DYNAMIC_CONFIG_FILE_PATH=" + dynamicConfig,
		"LOG_LEVEL=warn",
		"FRONTEND_GRPC_PORT=" + strconv.Itoa(grpc), "FRONTEND_HTTP_PORT=" + strconv.Itoa(httpPort),
	}
	for _, svc := range []string{"FRONTEND_MEMBERSHIP", "HISTORY_GRPC", "HISTORY_MEMBERSHIP", "MATCHING_GRPC",
		"MATCHING_MEMBERSHIP", "WORKER_GRPC", "WORKER_MEMBERSHIP"} {
		env = append(env, svc+"_PORT="+strconv.Itoa(ps.next(t)))
	}
	s := &temporalServer{
		proc: &proc{
			name: "temporal-server", bin: bin, args: []string{"start"},
			env: childEnv(env...), log: filepath.Join(logDir, "temporal-server.log"),
		},
		frontend: fmt.Sprintf("127.0.0.1:%d", grpc),
		httpURL:  fmt.Sprintf("http://127.0.0.1:%d", httpPort),
	}
	if err := s.proc.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.proc.stop(syscall.SIGTERM, 30*time.Second) })
	d, err := s.serving(2 * time.Minute)
	if err != nil {
		t.Fatalf("%v\n%s", err, s.proc.tail(30))
	}
	t.Logf("temporal-server serving at %s after %s", s.frontend, d.Round(time.Millisecond))
	return s
}

// registerNamespace creates the namespace, as the compose file's
// temporal-namespace job does with the CLI.
func registerNamespace(t *testing.T, frontend string) {
	t.Helper()
	nc, err := client.NewNamespaceClient(client.Options{
		HostPort: frontend,
		Logger:   sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        namespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(30 * 24 * time.Hour),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		t.Fatalf("register namespace %s: %v", namespace, err)
	}
}

// odrSetup runs `odr setup` twice: the first run adds the search
// attributes, the second finds them in place.
func odrSetup(t *testing.T, odr string, env []string, frontend string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := runCmd(ctx, env, odr, "setup")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("namespace %s at %s: added search attributes [DisputeDeadlineBreached DisputeInstitution DisputeStatus DisputeType DisputeUpdatedAt]\n", namespace, frontend)
	if out != want {
		t.Fatalf("odr setup printed %q, want %q", out, want)
	}
	out, err = runCmd(ctx, env, odr, "setup")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("namespace %s at %s: search attributes already in place\n", namespace, frontend); out != want {
		t.Fatalf("odr setup, again, printed %q, want %q", out, want)
	}
}

// registerInstitution writes the registry with the CLI an operator uses:
// one institution, one user, one key from `odr client keygen`.
func registerInstitution(t *testing.T, odr, dir string) (string, signer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg := filepath.Join(dir, "institutions.yaml")
	keys := filepath.Join(dir, "keys")
	env := childEnv()
	for _, args := range [][]string{
		{"institution", "add", "--registry", reg, "--id", institution, "--name", "Cluster Test ODR Institution",
			"--email", userEmail, "--phone", userPhone},
		{"client", "keygen", "--out", keys},
	} {
		if _, err := runCmd(ctx, env, odr, args...); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runCmd(ctx, env, odr, "key", "add", "--registry", reg, "--institution", institution,
		"--public-key", filepath.Join(keys, "public.pem"))
	if err != nil {
		t.Fatal(err)
	}
	keyID := strings.TrimSpace(out)
	b, err := os.ReadFile(filepath.Join(keys, "private.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("private.pem holds no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("private.pem holds a %T, want an RSA key", k)
	}
	return reg, signer{key: key, keyID: keyID, email: userEmail, phone: userPhone}
}

// startAndWait starts p and waits until url answers 200.
func startAndWait(t *testing.T, p *proc, url string) {
	t.Helper()
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop(syscall.SIGTERM, 30*time.Second) })
	if _, err := waitStatus(url, http.StatusOK, 2*time.Minute); err != nil {
		t.Fatalf("%s: %v\n%s", p.name, err, p.tail(30))
	}
}

// report prints what the run did: the load held, the faults, the counts.
func report(gate string, loadTime time.Duration, tl *tally, faults []fault, disputes, finished, accepted, repeats, refused int, visibility string, problems int) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	lat := slices.Clone(tl.latencies)
	slices.Sort(lat)
	secs := loadTime.Seconds()
	var b strings.Builder
	fmt.Fprintf(&b, "\n==== cluster test: odr api x2, odr worker x2, Temporal server, PostgreSQL ====\n")
	fmt.Fprintf(&b, "ready     %s\n", gate)
	fmt.Fprintf(&b, "load      %s, %d clients paced at %d ops/s: held %.1f ops/s, %.1f HTTP requests/s\n",
		loadTime.Round(time.Second), walkers, targetRate, float64(len(lat))/secs, float64(tl.requests)/secs)
	fmt.Fprintf(&b, "latency   per operation incl. retries: p50 %s, p95 %s, p99 %s, max %s\n",
		percentile(lat, 50).Round(time.Millisecond), percentile(lat, 95).Round(time.Millisecond),
		percentile(lat, 99).Round(time.Millisecond), percentile(lat, 100).Round(time.Millisecond))
	fmt.Fprintf(&b, "requests  %d sent, %d answered (%s), %d without an answer, %d retries, %d gave up\n",
		tl.requests, tl.requests-tl.connErrors, tl.byCodeLocked(), tl.connErrors, tl.retries, tl.gaveUp)
	for _, s := range tl.samples {
		fmt.Fprintf(&b, "          e.g. %s\n", s)
	}
	fmt.Fprintf(&b, "faults\n")
	for _, f := range faults {
		fmt.Fprintf(&b, "  +%-8s %s  %s\n", f.at.Round(100*time.Millisecond), f.wall.UTC().Format("15:04:05.000"), f.what)
	}
	fmt.Fprintf(&b, "disputes  %d transferred, %d walked to a final status\n", disputes, finished)
	fmt.Fprintf(&b, "checked   against each dispute's state: %d changes answered 200 (each must be in the history once),\n"+
		"          %d repeats answered 200 (recorded nowhere), %d illegal changes answered 409 (recorded nowhere)\n",
		accepted, repeats, refused)
	fmt.Fprintf(&b, "          visibility lists the same statuses (%s)\n", visibility)
	fmt.Fprintf(&b, "problems  %d\n", problems)
	fmt.Print(b.String())
}

// waitVisibility waits until the admin list, filtered by status, counts
// want's disputes in each status, and returns the counts it saw.
func waitVisibility(ctx context.Context, lc *loadClient, want map[dispute.Status]int, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		var got, mismatch []string
		for _, s := range dispute.AllStatuses() {
			n, err := lc.count(ctx, s)
			if err != nil {
				return "", err
			}
			if n > 0 || want[s] > 0 {
				got = append(got, fmt.Sprintf("%s: %d", s, n))
			}
			if n != want[s] {
				mismatch = append(mismatch, fmt.Sprintf("%s: listed %d, states %d", s, n, want[s]))
			}
		}
		if len(mismatch) == 0 {
			return strings.Join(got, ", "), nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("visibility disagrees with the states after %s: %s", timeout, strings.Join(mismatch, "; "))
		}
		time.Sleep(time.Second)
	}
}
