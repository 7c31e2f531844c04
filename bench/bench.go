// Package bench measures what a dispute status change costs end to end and
// compares it, in the same run and on the same stack, with the engine
// underneath: the same number of changes sent straight to the workflows with
// the Temporal client, at the same concurrency. It is the engine of
// `odr bench`; BENCHMARKS.md reports its figures.
//
// A run registers a throw-away institution and key, transfers disputes, and
// lets concurrent clients walk them through the legal path Walk. It is made
// of short rounds; in each round one side (alternately the API and the raw
// engine) runs for its share of the duration and the other then sends
// exactly as many changes. So both sides send the same number of changes,
// the order alternates (API first, then raw first) so that neither side
// always meets a warmer or fuller stack, and both sample the same moments of
// a machine whose load varies. Everything that is not a status change
// (transfers, signing tokens, waiting for new workflows' first tasks)
// happens between the measured windows.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/odrflow/odrflow/api/auth"
	"github.com/odrflow/odrflow/registry"
	"github.com/odrflow/odrflow/workflows"
)

// Deployment is the odrflow under test.
type Deployment struct {
	// Mode names the deployment in the report: "embedded" or "remote".
	Mode string
	// PublicURL and AdminURL are the base URLs of the two APIs.
	PublicURL string
	AdminURL  string
	// AdminToken is the admin API's bearer token.
	AdminToken string
	// RegistryPath is the registry file the API follows; the run adds its
	// institution there.
	RegistryPath string
	// Engine reaches the Temporal namespace the workers serve, for the raw
	// side. The caller owns it.
	Engine client.Client

	// The rest is available only when the stack runs in this process.

	// Gatherer serves the stack's metrics, for the breakdown.
	Gatherer prometheus.Gatherer
	// Memory measures the process that runs the worker.
	Memory func() (Memory, error)
	// PersistenceBytes returns the size of the stack's database files.
	PersistenceBytes func() (int64, error)
	// CPU returns the CPU time used so far by the process that runs the
	// stack (ProcessCPU when it is this one).
	CPU func() (time.Duration, error)
	// Settings describe the stack's tuning, for the report.
	Settings map[string]string
	// StickyCacheSize is the worker's workflow cache size, for the report.
	StickyCacheSize int
}

// Config says how hard and how long to measure.
type Config struct {
	// Disputes is how many disputes each side has transferred before the
	// first round (more are transferred between rounds as needed).
	Disputes int
	// Concurrency is the number of clients sending changes at once.
	Concurrency int
	// Duration is the measured time of the leading sides, over all rounds.
	Duration time.Duration
	// Rounds splits Duration; the side that leads alternates.
	Rounds int
	// Warmup runs both sides, unmeasured, before the first round.
	Warmup time.Duration
	// Scale, if positive, transfers that many more disputes after the
	// rounds and measures the stack holding them open.
	Scale int
	// ListCalls is how many admin list calls the scale figures time.
	ListCalls int
	// SignInline signs each token in the measured window, as a client on
	// the same machine would, instead of just before it.
	SignInline bool
	// RequestTimeout bounds one change; the API's own bound (--update-timeout)
	// is 10 s by default.
	RequestTimeout time.Duration
	// Progress receives one line per stage; nil discards them.
	Progress io.Writer
}

// DefaultConfig returns the defaults of `odr bench` (issue 8).
func DefaultConfig() Config {
	return Config{
		Disputes:       200,
		Concurrency:    32,
		Duration:       20 * time.Second,
		Rounds:         8,
		Warmup:         3 * time.Second,
		ListCalls:      20,
		RequestTimeout: 15 * time.Second,
	}
}

// Validate reports a configuration that cannot run.
func (c Config) Validate() error {
	var errs []error
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency %d: want at least 1", c.Concurrency))
	}
	if c.Disputes < 0 || c.Scale < 0 || c.ListCalls < 0 {
		errs = append(errs, errors.New("disputes, scale and list calls must not be negative"))
	}
	if c.Duration < 0 || c.Warmup < 0 {
		errs = append(errs, errors.New("duration and warm-up must not be negative"))
	}
	if c.Duration > 0 && c.Rounds < 1 {
		errs = append(errs, fmt.Errorf("rounds %d: want at least 1", c.Rounds))
	}
	if c.Duration == 0 && c.Scale == 0 {
		errs = append(errs, errors.New("nothing to measure: duration and scale are both 0"))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, errors.New("request timeout must be positive"))
	}
	return errors.Join(errs...)
}

// Limits on the stages between windows.
const (
	setupTimeout    = 2 * time.Minute // key reload, transfers, settling
	transferTimeout = 30 * time.Second
	// pause lets background work of the previous window (visibility
	// updates, the new workflows' first tasks) drain before a window.
	pause = 500 * time.Millisecond
	// headroom over the expected changes of a leading window when
	// preparing disputes and tokens for it.
	headroom = 1.25
	// assumedRate sizes the warm-up's tokens and disputes before any rate
	// was measured.
	assumedRate = 300.0
)

// side is one of the two ways a change is delivered.
type side struct {
	name   string
	ch     Changer
	pool   *pool
	tokens *tokens // the API's; nil for raw
	total  tally
	times  snapshot
	cpu    time.Duration // of the stack's process in measured windows
}

// runner is one run's state.
type runner struct {
	d        Deployment
	cfg      Config
	progress io.Writer
	api, raw *side
	admin    *adminClient
	p        principal
	disputes int // transferred for the rounds
}

// Run measures d as cfg says. The caller owns d's resources.
func Run(ctx context.Context, d Deployment, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &runner{d: d, cfg: cfg, progress: cfg.Progress}
	if r.progress == nil {
		r.progress = io.Discard
	}
	res := &Result{Run: RunInfo{
		Mode: d.Mode, Concurrency: cfg.Concurrency, Rounds: cfg.Rounds,
		DurationS: cfg.Duration.Seconds(), WarmupS: cfg.Warmup.Seconds(),
		CPUs: runtime.NumCPU(), LoadBefore: loadAverage(), Settings: d.Settings,
	}}
	if cfg.Duration == 0 {
		res.Run.Rounds, res.Run.WarmupS = 0, 0
	}
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	defer r.revokeKey()

	if cfg.Duration > 0 {
		if err := r.rounds(ctx, res); err != nil {
			return nil, err
		}
	}
	if cfg.Scale > 0 {
		s, err := r.scale(ctx)
		if err != nil {
			return nil, err
		}
		res.Scale = s
	}
	res.Run.LoadAfter = loadAverage()
	return res, nil
}

// setup registers the institution and builds both sides.
func (r *runner) setup(ctx context.Context) error {
	runID, err := newRunID()
	if err != nil {
		return err
	}
	fmt.Fprintf(r.progress, "registering institution BENCH-%s in %s\n", runID, r.d.RegistryPath)
	if r.p, err = registerInstitution(r.d.RegistryPath, runID); err != nil {
		return err
	}
	const disputeType = "bench"
	httpClient := newHTTPClient(r.cfg.Concurrency, r.cfg.RequestTimeout)
	toks := &tokens{p: r.p, inline: r.cfg.SignInline}
	apiCh := &apiChanger{
		url: trimSlash(r.d.PublicURL) + "/status", http: httpClient, tokens: toks,
		disputeType: disputeType, userName: "odr bench",
	}
	admin := &adminClient{url: r.d.AdminURL, token: r.d.AdminToken, http: httpClient}
	r.admin = admin
	r.api = &side{name: "api", ch: apiCh, tokens: toks, times: snapshot{},
		pool: newPool(&adminTransferer{admin: admin, institutionID: r.p.institutionID, disputeType: disputeType},
			"bench-"+runID+"-api", transferTimeout)}
	r.raw = &side{name: "raw", times: snapshot{},
		ch: &rawChanger{engine: r.d.Engine, change: workflows.StatusChange{
			UserName: "odr bench", DisputeType: disputeType,
			// What the API attaches after verifying the signature.
			InstitutionID: r.p.institutionID, KeyID: r.p.keyID, Email: registry.NormalizeEmail(r.p.email),
		}},
		pool: newPool(&engineTransferer{engine: r.d.Engine, institutionID: r.p.institutionID, disputeType: disputeType},
			"bench-"+runID+"-raw", transferTimeout)}
	return awaitKey(ctx, apiCh, 10*time.Second)
}

// revokeKey revokes the throw-away key so that it is useless after the run.
func (r *runner) revokeKey() {
	if err := registry.RevokeKey(r.d.RegistryPath, r.p.keyID); err != nil {
		fmt.Fprintf(r.progress, "warning: revoke benchmark key %s: %v\n", r.p.keyID, err)
	}
}

// prepare readies disputes (and tokens, for the API) for s to send the
// given number of changes in a window, then waits for the new workflows'
// first tasks and the pause.
func (r *runner) prepare(ctx context.Context, s *side, changes int, window time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	want := max(r.cfg.Disputes, ceilDiv(changes, len(Walk))+r.cfg.Concurrency)
	ids, err := s.pool.fill(ctx, want, r.cfg.Concurrency)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	r.disputes += len(ids)
	if err := settle(ctx, r.d.Engine, ids, r.cfg.Concurrency, setupTimeout); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	if s.tokens != nil {
		if err := s.tokens.prepare(changes+r.cfg.Concurrency, window); err != nil {
			return err
		}
	}
	time.Sleep(pause)
	return nil
}

// window runs one measured (or warm-up) window of s and adds its outcome to
// the side's totals when measured.
func (r *runner) window(ctx context.Context, s *side, b budget, measured bool) (tally, error) {
	before, err := takeSnapshot(r.d.Gatherer)
	if err != nil {
		return tally{}, err
	}
	cpuBefore, err := r.cpu()
	if err != nil {
		return tally{}, err
	}
	t := drive(ctx, s.ch, s.pool, r.cfg.Concurrency, r.cfg.RequestTimeout, b)
	cpuAfter, err := r.cpu()
	if err != nil {
		return tally{}, err
	}
	after, err := takeSnapshot(r.d.Gatherer)
	if err != nil {
		return tally{}, err
	}
	if s.tokens != nil {
		s.tokens.discard()
	}
	if err := ctx.Err(); err != nil {
		return tally{}, err
	}
	st := t.stats()
	fmt.Fprintf(r.progress, "  %s: %d changes in %.1fs, %.1f/s, p50 %.1f ms, p99 %.1f ms, %d errors\n",
		s.name, st.Requests, st.Seconds, st.Throughput, st.P50, st.P99, st.Errors)
	if measured {
		s.total.merge(t)
		s.times.accumulate(delta(before, after))
		s.cpu += cpuAfter - cpuBefore
	}
	return t, nil
}

// pair runs a leading window of lead for d and then exactly as many
// changes of follow.
func (r *runner) pair(ctx context.Context, lead, follow *side, d time.Duration, rate float64, measured bool) (tally, error) {
	label := "warm-up"
	if measured {
		label = "measure"
	}
	if err := r.prepare(ctx, lead, int(math.Ceil(rate*d.Seconds()*headroom)), d); err != nil {
		return tally{}, err
	}
	fmt.Fprintf(r.progress, "%s: %s for %s\n", label, lead.name, d)
	lt, err := r.window(ctx, lead, deadline(time.Now().Add(d)), measured)
	if err != nil {
		return tally{}, err
	}
	n := lt.requests()
	if err := r.prepare(ctx, follow, n, d); err != nil {
		return tally{}, err
	}
	fmt.Fprintf(r.progress, "%s: %s, the same %d changes\n", label, follow.name, n)
	if _, err := r.window(ctx, follow, newCounted(n), measured); err != nil {
		return tally{}, err
	}
	return lt, nil
}

// rounds runs the warm-up and the measured rounds and fills res.
func (r *runner) rounds(ctx context.Context, res *Result) error {
	rate := assumedRate
	observe := func(t tally) {
		if t.elapsed > 0 && len(t.latencies) > 0 {
			rate = float64(t.requests()) / t.elapsed.Seconds()
		}
	}
	if r.cfg.Warmup > 0 {
		t, err := r.pair(ctx, r.api, r.raw, r.cfg.Warmup, rate, false)
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		observe(t)
	}
	onDemandBefore := r.api.pool.onDemand.Load() + r.raw.pool.onDemand.Load()
	signedBefore := r.api.tokens.signed.Load()
	share := r.cfg.Duration / time.Duration(r.cfg.Rounds)
	for i := range r.cfg.Rounds {
		lead, follow := r.api, r.raw
		if i%2 == 1 {
			lead, follow = r.raw, r.api
		}
		fmt.Fprintf(r.progress, "round %d/%d\n", i+1, r.cfg.Rounds)
		t, err := r.pair(ctx, lead, follow, share, rate, true)
		if err != nil {
			return fmt.Errorf("round %d: %w", i+1, err)
		}
		observe(t)
	}
	res.API, res.Raw = r.api.total.stats(), r.raw.total.stats()
	res.Ratio = safeDiv(res.API.Throughput, res.Raw.Throughput)
	res.Run.Disputes = r.disputes
	res.Run.OnDemandTransfers = int(r.api.pool.onDemand.Load() + r.raw.pool.onDemand.Load() - onDemandBefore)
	res.Run.InlineSigned = int(r.api.tokens.signed.Load() - signedBefore)
	if r.d.Gatherer != nil {
		verify, err := r.timeVerify()
		if err != nil {
			return err
		}
		res.Breakdown = &Breakdown{
			VerifyMS: verify,
			API:      r.api.phaseTimes(),
			Raw:      r.raw.phaseTimes(),
		}
	}
	return nil
}

// cpu is the stack's CPU time so far, 0 when it cannot be measured.
func (r *runner) cpu() (time.Duration, error) {
	if r.d.CPU == nil {
		return 0, nil
	}
	return r.d.CPU()
}

// timeVerify times the API's signature check of fresh tokens in this
// process, for the breakdown.
func (r *runner) timeVerify() (float64, error) {
	store, err := registry.Open(r.d.RegistryPath, nil)
	if err != nil {
		return 0, err
	}
	v := auth.NewVerifier(store, auth.Options{})
	const n = 200
	headers := make([]string, n)
	for i := range headers {
		if headers[i], err = r.api.tokens.sign(time.Minute); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	for _, h := range headers {
		if _, err := v.Authenticate(h, "status"); err != nil {
			return 0, fmt.Errorf("verify a benchmark token: %w", err)
		}
	}
	return ms(time.Since(start)) / n, nil
}

// phaseTimes is the side's breakdown over its measured windows.
func (s *side) phaseTimes() PhaseTimes {
	n := len(s.total.latencies)
	p := phaseTimes(s.times, mean(s.total.latencies), n)
	if n > 0 {
		p.CPUMS = ms(s.cpu) / float64(n)
	}
	return p
}

func mean(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return ms(sum) / float64(len(ds))
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func trimSlash(s string) string { return strings.TrimRight(s, "/") }
