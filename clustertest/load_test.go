//go:build cluster

package clustertest

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/odrflow/odrflow/api"
	"github.com/odrflow/odrflow/api/auth"
	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/workflows"
)

// endpoint is one `odr api` process as the load clients see it.
type endpoint struct {
	name          string
	public, admin string // base URLs

	// out takes the API out of rotation, as a load balancer's health check
	// would once the process is gone.
	out atomic.Bool
	// termAt is when the API was sent SIGTERM (Unix nanoseconds; 0 before).
	termAt atomic.Int64
	// Requests in flight when SIGTERM arrived that were answered, and that
	// failed after reaching the API: a graceful shutdown has none of the
	// latter.
	drained, cut atomic.Int64
}

// observe accounts a request to e that started at started and just ended.
func (e *endpoint) observe(started time.Time, err error) {
	at := e.termAt.Load()
	if at == 0 || started.UnixNano() >= at {
		return
	}
	switch {
	case err == nil:
		e.drained.Add(1)
	case !isDialError(err):
		e.cut.Add(1)
	}
}

// signer signs tokens as the institution's user, as `odr client` does.
type signer struct {
	key                 *rsa.PrivateKey
	keyID, email, phone string
}

func (s signer) authorization() (string, error) {
	tok, err := auth.SignToken(s.key, s.keyID, s.email, s.phone, 5*time.Minute, time.Now())
	if err != nil {
		return "", err
	}
	return auth.FormatHeader(s.keyID, tok, "status"), nil
}

// tally counts what the clients sent and got.
type tally struct {
	mu         sync.Mutex
	requests   int         // HTTP requests sent, retries included
	codes      map[int]int // answers by HTTP status
	connErrors int         // requests that got no HTTP answer
	retries    int
	gaveUp     int
	latencies  []time.Duration // per operation, first attempt to definite answer
	samples    []string        // the first few odd answers, for the report
}

func (t *tally) request(code int, err error, body []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.requests++
	if err != nil {
		t.connErrors++
		return
	}
	if t.codes == nil {
		t.codes = map[int]int{}
	}
	t.codes[code]++
	if code >= 500 && code != http.StatusServiceUnavailable && len(t.samples) < 5 {
		t.samples = append(t.samples, fmt.Sprintf("HTTP %d: %s", code, bytes.TrimSpace(body)))
	}
}

// byCode lists the answers by HTTP status, "200: 12, 503: 1".
func (t *tally) byCode() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byCodeLocked()
}

func (t *tally) byCodeLocked() string {
	codes := slices.Sorted(maps.Keys(t.codes))
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%d: %d", c, t.codes[c])
	}
	return strings.Join(parts, ", ")
}

func (t *tally) add(f func(t *tally)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(t)
}

// answer is one HTTP answer.
type answer struct {
	code       int
	body       []byte
	retryAfter time.Duration
}

// loadClient plays the institution (status changes) and the operator
// (transfers) against every API in rotation.
type loadClient struct {
	endpoints   []*endpoint
	rr          atomic.Uint64
	http        *http.Client
	signer      signer
	adminToken  string
	institution string
	limiter     *rate.Limiter
	tally       *tally
	// budget bounds the retries of one operation: past it, the operation
	// has no definite answer and the run fails.
	budget time.Duration
}

// pick returns the next API in rotation.
func (c *loadClient) pick() *endpoint {
	for range 2 * len(c.endpoints) {
		e := c.endpoints[c.rr.Add(1)%uint64(len(c.endpoints))]
		if !e.out.Load() {
			return e
		}
	}
	return c.endpoints[0]
}

// send makes one request to e.
func (c *loadClient) send(ctx context.Context, e *endpoint, method, url string, header http.Header, body []byte) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header = header
	started := time.Now()
	resp, err := c.http.Do(req)
	var a answer
	if err == nil {
		a.code = resp.StatusCode
		a.body, err = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if s, convErr := strconv.Atoi(resp.Header.Get("Retry-After")); convErr == nil {
			a.retryAfter = time.Duration(s) * time.Second
		}
	}
	e.observe(started, err)
	c.tally.request(a.code, err, a.body)
	return a, err
}

// retry repeats attempt, on the next API in rotation each time, until it
// gets a definite answer: anything but a lost connection, a 5xx or a 429.
// It honours Retry-After up to 2 s. It returns the answer and how many
// attempts it took.
func (c *loadClient) retry(ctx context.Context, attempt func(e *endpoint) (answer, error)) (answer, int, error) {
	started := time.Now()
	backoff := 100 * time.Millisecond
	for n := 1; ; n++ {
		a, err := attempt(c.pick())
		if err == nil && a.code < 500 && a.code != http.StatusTooManyRequests {
			c.tally.add(func(t *tally) { t.latencies = append(t.latencies, time.Since(started)) })
			return a, n, nil
		}
		if ctx.Err() != nil {
			return a, n, ctx.Err()
		}
		if time.Since(started) > c.budget {
			c.tally.add(func(t *tally) { t.gaveUp++ })
			if err == nil {
				err = fmt.Errorf("HTTP %d %s", a.code, bytes.TrimSpace(a.body))
			}
			return a, n, fmt.Errorf("no definite answer after %d attempts in %s: last %w", n, c.budget, err)
		}
		c.tally.add(func(t *tally) { t.retries++ })
		wait := backoff
		if a.retryAfter > 0 {
			wait = min(a.retryAfter, 2*time.Second)
		}
		time.Sleep(wait)
		backoff = min(2*backoff, 2*time.Second)
	}
}

// status reports disputeID's change to status to, with an Idempotency-Key
// that stays the same across the operation's retries.
func (c *loadClient) status(ctx context.Context, disputeID string, to dispute.Status, idempotencyKey string) (answer, error) {
	if err := c.limiter.Wait(ctx); err != nil {
		return answer{}, err
	}
	a, _, err := c.retry(ctx, func(e *endpoint) (answer, error) {
		return c.sendStatus(ctx, e, disputeID, to, idempotencyKey)
	})
	return a, err
}

// sendStatus makes one signed POST /v1/status request to e.
func (c *loadClient) sendStatus(ctx context.Context, e *endpoint, disputeID string, to dispute.Status, idempotencyKey string) (answer, error) {
	body, err := json.Marshal(api.StatusRequest{Dispute: api.StatusChangeBody{
		DisputeID: disputeID, DisputeType: "conciliation", Role: string(roleFor(to)),
		UserName: "Cluster Load", Status: string(to),
	}})
	if err != nil {
		return answer{}, err
	}
	authz, err := c.signer.authorization()
	if err != nil {
		return answer{}, err
	}
	h := http.Header{}
	h.Set("Authorization", authz)
	h.Set("Content-Type", "application/json")
	h.Set("Idempotency-Key", idempotencyKey)
	return c.send(ctx, e, http.MethodPost, e.public+"/v1/status", h, body)
}

// roleFor is a role the strict policy would also allow.
func roleFor(to dispute.Status) dispute.Role {
	switch to {
	case dispute.ConInit, dispute.ConProg, dispute.ConFail, dispute.ConRes:
		return dispute.Mediator
	case dispute.ArbInit, dispute.ArbProg, dispute.ArbRes:
		return dispute.Arbitrator
	default:
		return dispute.CaseManager
	}
}

// transfer transfers a new dispute to the institution through the admin API.
// A 409 after a lost answer means the lost attempt succeeded.
func (c *loadClient) transfer(ctx context.Context, disputeID string) error {
	if err := c.limiter.Wait(ctx); err != nil {
		return err
	}
	body, err := json.Marshal(api.TransferRequest{DisputeID: disputeID, InstitutionID: c.institution, DisputeType: "conciliation"})
	if err != nil {
		return err
	}
	a, attempts, err := c.retry(ctx, func(e *endpoint) (answer, error) {
		return c.send(ctx, e, http.MethodPost, e.admin+"/admin/v1/disputes", c.adminHeader(), body)
	})
	switch {
	case err != nil:
		return err
	case a.code == http.StatusCreated, a.code == http.StatusConflict && attempts > 1:
		return nil
	default:
		return fmt.Errorf("transfer %s: HTTP %d %s", disputeID, a.code, bytes.TrimSpace(a.body))
	}
}

// show returns a dispute's state from the admin API.
func (c *loadClient) show(ctx context.Context, disputeID string) (workflows.State, error) {
	a, _, err := c.retry(ctx, func(e *endpoint) (answer, error) {
		return c.send(ctx, e, http.MethodGet, e.admin+"/admin/v1/disputes/"+disputeID, c.adminHeader(), nil)
	})
	if err != nil {
		return workflows.State{}, err
	}
	if a.code != http.StatusOK {
		return workflows.State{}, fmt.Errorf("show %s: HTTP %d %s", disputeID, a.code, bytes.TrimSpace(a.body))
	}
	var st workflows.State
	return st, json.Unmarshal(a.body, &st)
}

// count returns how many of the institution's disputes the admin list
// shows in status, page by page.
func (c *loadClient) count(ctx context.Context, status dispute.Status) (int, error) {
	n, token := 0, ""
	for {
		q := url.Values{"status": {string(status)}, "institution": {c.institution}, "pageSize": {"100"}}
		if token != "" {
			q.Set("pageToken", token)
		}
		a, _, err := c.retry(ctx, func(e *endpoint) (answer, error) {
			return c.send(ctx, e, http.MethodGet, e.admin+"/admin/v1/disputes?"+q.Encode(), c.adminHeader(), nil)
		})
		if err != nil {
			return 0, err
		}
		if a.code != http.StatusOK {
			return 0, fmt.Errorf("list %s: HTTP %d %s", status, a.code, bytes.TrimSpace(a.body))
		}
		var page api.DisputeList
		if err := json.Unmarshal(a.body, &page); err != nil {
			return 0, err
		}
		n += len(page.Disputes)
		if page.NextPageToken == "" {
			return n, nil
		}
		token = page.NextPageToken
	}
}

func (c *loadClient) adminHeader() http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+c.adminToken)
	h.Set("Content-Type", "application/json")
	return h
}

// paths are the legal walks the clients take, from TRANSFERRED to a final
// status, longest first.
var paths = [][]dispute.Status{
	{dispute.ConInit, dispute.ConProg, dispute.ConFail, dispute.ArbInit, dispute.ArbProg, dispute.ArbRes},
	{dispute.ConInit, dispute.ConProg, dispute.ConRes},
	{dispute.ArbInit, dispute.ArbProg, dispute.ArbRes},
	{dispute.ConInit, dispute.WD},
	{dispute.PreconRes},
}

type transition struct{ from, to dispute.Status }

func (t transition) String() string { return string(t.from) + "->" + string(t.to) }

// disputeRecord is what one client did to one dispute and what it was told.
type disputeRecord struct {
	id          string
	transferred bool
	// accepted are the changes answered 200 as changes, in order.
	accepted []transition
	// repeats are reports of the current status answered 200: recorded
	// nowhere.
	repeats int
	// refused are illegal changes answered 409.
	refused int
	// problem is the first answer that broke the walk, if any.
	problem string
}

// walker is one client: it transfers disputes one after another and walks
// each along its path until stop closes, recording what was answered.
func (c *loadClient) walker(ctx context.Context, g int, runID string, stop <-chan struct{}, out chan<- *disputeRecord) {
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return ctx.Err() != nil
		}
	}
	for n := 0; !stopped(); n++ {
		rec := &disputeRecord{id: fmt.Sprintf("CT-%s-%02d-%04d", runID, g, n)}
		c.walk(ctx, rec, paths[(g+n)%len(paths)], stopped)
		out <- rec
	}
}

func (c *loadClient) walk(ctx context.Context, rec *disputeRecord, path []dispute.Status, stopped func() bool) {
	if err := c.transfer(ctx, rec.id); err != nil {
		rec.problem = "transfer: " + err.Error()
		return
	}
	rec.transferred = true
	from := dispute.Transferred
	for i, to := range path {
		if stopped() {
			return
		}
		a, err := c.status(ctx, rec.id, to, fmt.Sprintf("%s/%d", rec.id, i))
		if err != nil || a.code != http.StatusOK {
			rec.problem = fmt.Sprintf("%s->%s: %s", from, to, describe(a, err))
			return
		}
		rec.accepted = append(rec.accepted, transition{from, to})
		from = to
		if i == 0 {
			// The same status again, as a new report: a repeat, answered
			// 200 and recorded nowhere.
			a, err := c.status(ctx, rec.id, to, rec.id+"/repeat")
			if err != nil || a.code != http.StatusOK {
				rec.problem = fmt.Sprintf("repeat of %s: %s", to, describe(a, err))
				return
			}
			rec.repeats++
		}
	}
	// Past a final status everything else is refused.
	a, err := c.status(ctx, rec.id, dispute.ConInit, rec.id+"/illegal")
	if err != nil || a.code != http.StatusConflict {
		rec.problem = fmt.Sprintf("%s->%s after the end: %s, want 409", from, dispute.ConInit, describe(a, err))
		return
	}
	rec.refused++
}

func describe(a answer, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("HTTP %d %s", a.code, bytes.TrimSpace(a.body))
}

// check compares a dispute's state with what its client was told, and
// returns what is wrong: every change answered 200 is in the history
// exactly once and nothing else is; the history is a legal chain from
// TRANSFERRED; the status is where the chain ends.
func (rec *disputeRecord) check(st workflows.State, institution string, s signer) []string {
	var bad []string
	failf := func(format string, args ...any) {
		bad = append(bad, rec.id+": "+fmt.Sprintf(format, args...))
	}
	if st.DisputeID != rec.id || st.InstitutionID != institution {
		failf("state is of dispute %q of %q", st.DisputeID, st.InstitutionID)
	}
	history := make([]transition, len(st.History))
	at := dispute.Transferred
	for i, h := range st.History {
		history[i] = transition{h.From, h.To}
		if h.From != at {
			failf("history[%d] %s starts from %s, the dispute was in %s", i, history[i], h.From, at)
		}
		if !dispute.Legal(h.From, h.To) {
			failf("history[%d] %s is not a legal transition", i, history[i])
		}
		if h.KeyID != s.keyID || h.Email != s.email {
			failf("history[%d] attributed to key %q, %q", i, h.KeyID, h.Email)
		}
		at = h.To
	}
	for _, tr := range rec.accepted {
		if n := count(history, tr); n != 1 {
			failf("%s was answered 200 and is in the history %d times", tr, n)
		}
	}
	if !slices.Equal(history, rec.accepted) {
		failf("history %v, answered 200: %v", history, rec.accepted)
	}
	if st.Status != at {
		failf("status %s, but the history ends in %s", st.Status, at)
	}
	if st.Closed != at.Final() {
		failf("closed=%v in status %s", st.Closed, at)
	}
	return bad
}

func count(ts []transition, t transition) int {
	n := 0
	for _, x := range ts {
		if x == t {
			n++
		}
	}
	return n
}

// percentile returns the p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(sorted)-1))
	return sorted[i]
}
