package bench

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/odrflow/odrflow/api"
	"github.com/odrflow/odrflow/api/auth"
	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/registry"
)

// registered registers a benchmark institution in a fresh registry file and
// returns it with a verifier following that file.
func registered(t *testing.T) (principal, *auth.Verifier, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "institutions.yaml")
	p, err := registerInstitution(path, "0a1b2c3d")
	require.NoError(t, err)
	store, err := registry.Open(path, nil)
	require.NoError(t, err)
	return p, auth.NewVerifier(store, auth.Options{}), path
}

func TestRegisterInstitutionWritesAUsableInstitution(t *testing.T) {
	p, _, path := registered(t)
	reg, err := registry.Load(path)
	require.NoError(t, err)
	inst, ok := reg.Institution("BENCH-0A1B2C3D")
	require.True(t, ok)
	assert.Equal(t, p.institutionID, inst.ID)
	assert.True(t, inst.HasUser("bench-0a1b2c3d@odrflow.example", "+919800000000"))
	key, ok := reg.Key(p.keyID)
	require.True(t, ok)
	assert.Equal(t, inst.ID, key.InstitutionID)
	assert.False(t, key.Revoked)
}

// TestAPIChangerSendsWhatTheAPIAccepts checks the request against the real
// body decoder's contract and the real signature verifier, and that every
// request carries a token of its own.
func TestAPIChangerSendsWhatTheAPIAccepts(t *testing.T) {
	p, verifier, _ := registered(t)
	var (
		mu      sync.Mutex
		headers = map[string]bool{}
		bodies  []api.StatusRequest
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/status", r.URL.Path)
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		principal, err := verifier.Authenticate(r.Header.Get("Authorization"), "status")
		if !assert.NoError(t, err) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		assert.Equal(t, p.institutionID, principal.InstitutionID)
		var body api.StatusRequest
		raw, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(raw, &body))
		mu.Lock()
		headers[r.Header.Get("Authorization")] = true
		bodies = append(bodies, body)
		mu.Unlock()
		_ = json.NewEncoder(w).Encode(api.Response{Success: true, Message: "Update to the Dispute " + body.Dispute.DisputeID + " received"})
	}))
	defer srv.Close()

	toks := &tokens{p: p}
	require.NoError(t, toks.prepare(4, time.Minute))
	ch := &apiChanger{url: srv.URL + "/status", http: newHTTPClient(2, 5*time.Second), tokens: toks, disputeType: "bench", userName: "odr bench"}
	for _, s := range Walk {
		require.NoError(t, ch.Change(context.Background(), "D-1", s))
	}
	assert.Len(t, headers, len(Walk), "every request has its own token")
	assert.Equal(t, int64(2), toks.signed.Load(), "four prepared, two signed on demand")
	require.Len(t, bodies, len(Walk))
	assert.Equal(t, api.StatusChangeBody{DisputeID: "D-1", DisputeType: "bench", Role: "MEDIATOR", UserName: "odr bench", Status: "CON_INIT"}, bodies[0].Dispute)
	assert.Equal(t, api.StatusChangeBody{DisputeID: "D-1", DisputeType: "bench", Role: "ARBITRATOR", UserName: "odr bench", Status: "ARB_RES"}, bodies[5].Dispute)
}

func TestAPIChangerReportsRefusalsByStatusAndCode(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusConflict)
		_ = json.NewEncoder(w).Encode(api.Response{Success: false, Code: "illegal_transition", Message: "Illegal transition for Dispute D-1: TRANSFERRED -> CON_PROG"})
	}))
	defer srv.Close()
	p, _, _ := registered(t)
	ch := &apiChanger{url: srv.URL + "/status", http: newHTTPClient(1, 5*time.Second), tokens: &tokens{p: p}}
	err := ch.Change(context.Background(), "D-1", Step{dispute.ConProg, dispute.Mediator})
	require.Error(t, err)
	assert.Equal(t, "http 409 illegal_transition", errorKind(err))
	assert.Equal(t, "HTTP 409 illegal_transition: Illegal transition for Dispute D-1: TRANSFERRED -> CON_PROG", err.Error())
}

func TestAPIChangerRefusesA200WithoutSuccess(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(api.Response{Success: false, Message: "odd"})
	}))
	defer srv.Close()
	p, _, _ := registered(t)
	ch := &apiChanger{url: srv.URL, http: newHTTPClient(1, 5*time.Second), tokens: &tokens{p: p}}
	err := ch.Change(context.Background(), "D-1", Walk[0])
	assert.Equal(t, "http 200 no_success", errorKind(err))
}

func TestTokensAreDistinctAndValid(t *testing.T) {
	p, verifier, _ := registered(t)
	toks := &tokens{p: p}
	require.NoError(t, toks.prepare(130, time.Minute))
	seen := map[string]bool{}
	for range 130 {
		h, err := toks.header()
		require.NoError(t, err)
		assert.False(t, seen[h], "token handed out twice")
		seen[h] = true
		_, err = verifier.Authenticate(h, "status")
		require.NoError(t, err)
	}
	assert.Equal(t, int64(0), toks.signed.Load())
}

func TestAwaitKeyWaitsForTheAPIToLoadTheKey(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(api.Response{Code: "unknown_key", Message: "no key"})
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(api.Response{Code: "dispute_not_found", Message: "Dispute not found"})
	}))
	defer srv.Close()
	p, _, _ := registered(t)
	ch := &apiChanger{url: srv.URL, http: newHTTPClient(1, 5*time.Second), tokens: &tokens{p: p}}
	require.NoError(t, awaitKey(context.Background(), ch, 5*time.Second))
	assert.Equal(t, int32(3), calls.Load())
}

func TestAwaitKeyGivesUp(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	p, _, _ := registered(t)
	ch := &apiChanger{url: srv.URL, http: newHTTPClient(1, 5*time.Second), tokens: &tokens{p: p}}
	err := awaitKey(context.Background(), ch, 300*time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not load the benchmark key")
}

func TestAdminTransfererPostsTheTransfer(t *testing.T) {
	var got api.TransferRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, http.MethodPost, r.Method)
		assert.Equal(t, "/admin/v1/disputes", r.URL.Path)
		assert.Equal(t, "Bearer secret", r.Header.Get("Authorization"))
		require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(api.DisputeSummary{DisputeID: got.DisputeID, Status: "TRANSFERRED"})
	}))
	defer srv.Close()
	tr := &adminTransferer{admin: &adminClient{url: srv.URL + "/", token: "secret", http: newHTTPClient(1, 5*time.Second)},
		institutionID: "BENCH-X", disputeType: "bench"}
	require.NoError(t, tr.Transfer(context.Background(), "bench-x-api-000001"))
	assert.Equal(t, api.TransferRequest{DisputeID: "bench-x-api-000001", InstitutionID: "BENCH-X", DisputeType: "bench"}, got)
}
