package bench

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/odrflow/odrflow/api"
	"github.com/odrflow/odrflow/api/auth"
)

// principal is the throw-away institution's user and signing key.
type principal struct {
	institutionID string
	keyID         string
	key           *rsa.PrivateKey
	email, phone  string
}

// tokens hands out Authorization values, each with its own freshly signed
// token. Signing RS256 costs about a millisecond of CPU, which is the
// institution's cost, not odrflow's: on a shared machine, signing inside the
// measured window would steal CPU from the server under test. So tokens are
// signed just before a window (prepare) and taken during it; a window that
// outruns its tokens signs on demand and counts it.
type tokens struct {
	p      principal
	inline bool // sign every token when it is taken (--sign-inline)

	mu    sync.Mutex
	ready []string
	// seq makes every token distinct: token n is issued n%60 seconds in the
	// past and lives n/60 seconds longer, so no two carry the same claims
	// and no cache anywhere could answer for a previous one.
	seq    int
	signed atomic.Int64 // signed on demand
}

// tokenLife is how long a token is valid beyond the window it is made for.
const tokenLife = 2 * time.Minute

func (t *tokens) sign(window time.Duration) (string, error) {
	t.mu.Lock()
	n := t.seq
	t.seq++
	t.mu.Unlock()
	now := time.Now().Add(-time.Duration(n%60) * time.Second)
	ttl := window + tokenLife + time.Duration(n/60)*time.Second
	tok, err := auth.SignToken(t.p.key, t.p.keyID, t.p.email, t.p.phone, ttl, now)
	if err != nil {
		return "", err
	}
	return auth.FormatHeader(t.p.keyID, tok, "status"), nil
}

// prepare signs tokens, on all CPUs, until n are ready for a window of the
// given length.
func (t *tokens) prepare(n int, window time.Duration) error {
	if t.inline {
		return nil
	}
	t.mu.Lock()
	missing := n - len(t.ready)
	t.mu.Unlock()
	if missing <= 0 {
		return nil
	}
	out := make([]string, missing)
	errs := make([]error, missing)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), missing) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < missing; i = int(next.Add(1)) - 1 {
				out[i], errs[i] = t.sign(window)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	t.mu.Lock()
	t.ready = append(t.ready, out...)
	t.mu.Unlock()
	return nil
}

// discard drops the prepared tokens, so that none outlives its window.
func (t *tokens) discard() {
	t.mu.Lock()
	t.ready = nil
	t.mu.Unlock()
}

// header returns the Authorization value of the next request.
func (t *tokens) header() (string, error) {
	t.mu.Lock()
	if n := len(t.ready); n > 0 {
		h := t.ready[n-1]
		t.ready = t.ready[:n-1]
		t.mu.Unlock()
		return h, nil
	}
	t.mu.Unlock()
	t.signed.Add(1)
	return t.sign(0)
}

// httpError is a refusal by the API.
type httpError struct {
	status  int
	code    string
	message string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.status, e.code, e.message)
}

// Kind groups refusals by HTTP status and the API's machine-readable code.
func (e *httpError) Kind() string {
	if e.code == "" {
		return fmt.Sprintf("http %d", e.status)
	}
	return fmt.Sprintf("http %d %s", e.status, e.code)
}

// transportError is a request that got no HTTP answer.
type transportError struct{ err error }

func (e *transportError) Error() string { return "transport: " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }
func (e *transportError) Kind() string {
	var ne net.Error
	if errors.Is(e.err, context.DeadlineExceeded) || errors.As(e.err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "transport"
}

// newHTTPClient returns a client that keeps a connection per benchmark
// client alive: the default two idle connections per host would make most
// requests open a new connection and measure TCP setup instead of odrflow.
func newHTTPClient(concurrency int, timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = concurrency + 8
	tr.MaxIdleConnsPerHost = concurrency + 8
	return &http.Client{Transport: tr, Timeout: timeout}
}

// apiChanger sends changes to POST /status of the public API, each with a
// freshly signed token.
type apiChanger struct {
	url         string
	http        *http.Client
	tokens      *tokens
	disputeType string
	userName    string
}

func (a *apiChanger) Change(ctx context.Context, disputeID string, s Step) error {
	body, err := json.Marshal(api.StatusRequest{Dispute: api.StatusChangeBody{
		DisputeID: disputeID, DisputeType: a.disputeType, Role: string(s.Role), UserName: a.userName, Status: string(s.Status),
	}})
	if err != nil {
		return err
	}
	authz, err := a.tokens.header()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", authz)
	return doJSON(a.http, req, http.StatusOK, nil)
}

// doJSON sends req and decodes a JSON answer with status want into out (nil
// to check the seed's success flag only). Any other answer is an
// *httpError; no answer at all is a *transportError.
func doJSON(c *http.Client, req *http.Request, want int, out any) error {
	resp, err := c.Do(req)
	if err != nil {
		return &transportError{err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &transportError{err}
	}
	if resp.StatusCode != want {
		var r api.Response
		if json.Unmarshal(raw, &r) != nil || r.Message == "" {
			r.Message = strings.TrimSpace(string(raw))
		}
		return &httpError{status: resp.StatusCode, code: r.Code, message: r.Message}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decode answer of %s %s: %w", req.Method, req.URL.Path, err)
		}
		return nil
	}
	var r api.Response
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("decode answer of %s %s: %w", req.Method, req.URL.Path, err)
	}
	if !r.Success {
		return &httpError{status: resp.StatusCode, code: "no_success", message: r.Message}
	}
	return nil
}

// adminClient calls the admin API.
type adminClient struct {
	url   string
	token string
	http  *http.Client
}

func (a *adminClient) do(ctx context.Context, method, path string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(a.url, "/")+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return doJSON(a.http, req, want, out)
}

// adminTransferer transfers disputes through POST /admin/v1/disputes.
type adminTransferer struct {
	admin         *adminClient
	institutionID string
	disputeType   string
}

func (t *adminTransferer) Transfer(ctx context.Context, disputeID string) error {
	var out api.DisputeSummary
	return t.admin.do(ctx, http.MethodPost, "/admin/v1/disputes",
		api.TransferRequest{DisputeID: disputeID, InstitutionID: t.institutionID, DisputeType: t.disputeType},
		http.StatusCreated, &out)
}
