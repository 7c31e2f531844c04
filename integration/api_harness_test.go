package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/odrflow/odrflow/api"
	"github.com/odrflow/odrflow/api/auth"
	"github.com/odrflow/odrflow/registry"
	"github.com/odrflow/odrflow/workflows"
)

const adminTestToken = "admin-test-token-0123456789"

// institution is a registered test institution with one user and key.
type institution struct {
	id, email, phone, keyID string
	key                     *rsa.PrivateKey
}

var (
	keysOnce sync.Once
	testRSA  [4]*rsa.PrivateKey
)

// rsaKeys generates the package's RSA keys once: 2048-bit generation is slow.
func rsaKeys(t *testing.T) [4]*rsa.PrivateKey {
	keysOnce.Do(func() {
		for i := range testRSA {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testRSA[i] = k
		}
	})
	return testRSA
}

func publicPEM(t *testing.T, k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// apiEnv is a stack with both APIs served over real HTTP and a registry of
// two institutions (A and B) plus a revoked key of A.
type apiEnv struct {
	*stack
	registryPath string
	store        *registry.Store
	public       *httptest.Server
	admin        *httptest.Server
	a, b         institution
	revoked      institution // A's revoked key
	publicCfg    api.PublicConfig
}

type apiOptions struct {
	stackOptions
	public func(*api.PublicConfig) // adjusts the public API's config
}

func newAPIEnv(t *testing.T, o apiOptions) *apiEnv {
	t.Helper()
	s := startStack(t, o.stackOptions)
	keys := rsaKeys(t)
	e := &apiEnv{stack: s, registryPath: filepath.Join(t.TempDir(), "institutions.yaml")}
	e.a = institution{id: "INST-A", email: "case.manager@a.example", phone: "+919800000011", key: keys[0]}
	e.b = institution{id: "INST-B", email: "ops@b.example", phone: "9800000022", key: keys[1]}
	e.revoked = institution{id: "INST-A", email: e.a.email, phone: e.a.phone, key: keys[2]}
	for _, inst := range []*institution{&e.a, &e.b} {
		require.NoError(t, registry.AddInstitution(e.registryPath, registry.InstitutionInput{
			ID: inst.id, Name: "Institution " + inst.id, Email: inst.email, Phone: inst.phone,
		}))
		kid, err := registry.AddKey(e.registryPath, inst.id, publicPEM(t, inst.key), "")
		require.NoError(t, err)
		inst.keyID = kid
	}
	kid, err := registry.AddKey(e.registryPath, "INST-A", publicPEM(t, e.revoked.key), "")
	require.NoError(t, err)
	require.NoError(t, registry.RevokeKey(e.registryPath, kid))
	e.revoked.keyID = kid

	e.store, err = registry.Open(e.registryPath, testLogger())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go e.store.Watch(ctx, 200*time.Millisecond)

	reg := prometheus.NewRegistry()
	metrics := api.NewMetrics(reg)
	e.publicCfg = api.PublicConfig{
		Logger:   testLogger(),
		Engine:   s.client,
		Verifier: auth.NewVerifier(e.store, auth.Options{}),
		Ready:    func(ctx context.Context) error { _, err := s.client.CheckHealth(ctx, nil); return err },
		Build:    "test",
		Metrics:  metrics,
	}
	if o.public != nil {
		o.public(&e.publicCfg)
	}
	e.public = httptest.NewServer(api.NewPublic(e.publicCfg))
	t.Cleanup(e.public.Close)
	e.admin = httptest.NewServer(api.NewAdmin(api.AdminConfig{
		Logger: testLogger(), Token: adminTestToken, Engine: s.client,
		Institutions: storeDirectory{e.store}, Metrics: metrics, Gatherer: reg,
	}))
	t.Cleanup(e.admin.Close)
	return e
}

type storeDirectory struct{ s *registry.Store }

func (d storeDirectory) HasInstitution(id string) bool {
	_, ok := d.s.Current().Institution(id)
	return ok
}

// header signs a fresh token for inst.
func (inst institution) header(t *testing.T) string {
	t.Helper()
	tok, err := auth.SignToken(inst.key, inst.keyID, inst.email, inst.phone, 5*time.Minute, time.Now())
	require.NoError(t, err)
	return auth.FormatHeader(inst.keyID, tok, "status")
}

// reply is a decoded HTTP answer.
type reply struct {
	code   int
	header http.Header
	body   api.Response
	raw    []byte
}

// do sends a request and validates request and response against the
// OpenAPI document.
func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := specCheckingClient(t).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := reply{code: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func statusBody(disputeID, status, role string) string {
	return fmt.Sprintf(`{"dispute":{"disputeId":%q,"disputetype":"conciliation","role":%q,"userName":"Bruce Wayne","status":%q}}`, disputeID, role, status)
}

// post sends POST /status with body, signed by inst (no header when inst is nil).
func (e *apiEnv) post(t *testing.T, inst *institution, body string, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.public.URL+"/status", bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if inst != nil {
		req.Header.Set("Authorization", inst.header(t))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return do(t, req)
}

// setStatus moves a dispute and requires success.
func (e *apiEnv) setStatus(t *testing.T, inst institution, disputeID, status string) {
	t.Helper()
	r := e.post(t, &inst, statusBody(disputeID, status, "CASEMANAGER"))
	require.Equal(t, http.StatusOK, r.code, "%s -> %s: %s", disputeID, status, r.raw)
}

// adminDo calls the admin API with the right token and decodes into out.
func (e *apiEnv) adminDo(t *testing.T, method, path string, body any) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.admin.URL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminTestToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(t, req)
}

// transferTo transfers a dispute through the admin API.
func (e *apiEnv) transferTo(t *testing.T, inst institution, disputeID string) {
	t.Helper()
	r := e.adminDo(t, http.MethodPost, "/admin/v1/disputes", api.TransferRequest{DisputeID: disputeID, InstitutionID: inst.id, DisputeType: "conciliation"})
	require.Equal(t, http.StatusCreated, r.code, string(r.raw))
}

// state reads a dispute's state through the admin API.
func (e *apiEnv) state(t *testing.T, disputeID string) workflows.State {
	t.Helper()
	r := e.adminDo(t, http.MethodGet, "/admin/v1/disputes/"+disputeID, nil)
	require.Equal(t, http.StatusOK, r.code, string(r.raw))
	var st workflows.State
	require.NoError(t, json.Unmarshal(r.raw, &st))
	return st
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
