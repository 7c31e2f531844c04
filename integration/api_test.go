package integration

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/odrflow/odrflow/api"
	"github.com/odrflow/odrflow/api/auth"
	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/engine"
	"github.com/odrflow/odrflow/workflows"
)

// TestPublicAPI runs every row of SPEC §3 against one embedded server.
func TestPublicAPI(t *testing.T) {
	e := newAPIEnv(t, apiOptions{})

	t.Run("seed example body", func(t *testing.T) {
		const id = "MII-INV-2024-01-781096"
		e.transferTo(t, e.a, id)
		e.setStatus(t, e.a, id, "ARB_INIT")
		// The seed's own example, verbatim (RESPONDENT reporting ARB_PROG).
		seed := `{
"dispute": {
"disputeId": "MII-INV-2024-01-781096",
"userName": "Bruce Wayne",
"role": "RESPONDENT",
"disputetype": "conciliation",
"status": "ARB_PROG"
}
}`
		r := e.post(t, &e.a, seed)
		require.Equal(t, http.StatusOK, r.code, string(r.raw))
		assert.Equal(t, api.Response{Success: true, Message: "Update to the Dispute MII-INV-2024-01-781096 received"}, r.body)
		st := e.state(t, id)
		assert.Equal(t, dispute.ArbProg, st.Status)
		require.Len(t, st.History, 2)
		last := st.History[1]
		assert.Equal(t, workflows.HistoryEntry{
			From: dispute.ArbInit, To: dispute.ArbProg, Role: dispute.Respondent, UserName: "Bruce Wayne",
			Email: e.a.email, KeyID: e.a.keyID, At: last.At,
		}, last)
	})

	t.Run("v1 path, lower-case role and status", func(t *testing.T) {
		const id = "MII-LOWER-1"
		e.transferTo(t, e.a, id)
		req, _ := http.NewRequest(http.MethodPost, e.public.URL+"/v1/status", strings.NewReader(statusBody(id, "con_init", "mediator")))
		req.Header.Set("Authorization", e.a.header(t))
		r := do(t, req) // no Content-Type at all is accepted
		require.Equal(t, http.StatusOK, r.code, string(r.raw))
		st := e.state(t, id)
		assert.Equal(t, dispute.ConInit, st.Status)
		assert.Equal(t, dispute.Mediator, st.History[0].Role)
	})

	t.Run("dispute as a JSON string", func(t *testing.T) {
		const id = "MII-STRING-1"
		e.transferTo(t, e.a, id)
		inner := fmt.Sprintf(`{"disputeId":%q,"disputetype":"conciliation","role":"MEDIATOR","userName":"Bruce Wayne","status":"CON_INIT"}`, id)
		body, err := json.Marshal(map[string]string{"dispute": inner})
		require.NoError(t, err)
		r := e.post(t, &e.a, string(body))
		require.Equal(t, http.StatusOK, r.code, string(r.raw))
	})

	t.Run("repeat is 200 and recorded once", func(t *testing.T) {
		const id = "MII-REPEAT-1"
		e.transferTo(t, e.a, id)
		e.setStatus(t, e.a, id, "CON_INIT")
		e.setStatus(t, e.a, id, "con_init")
		st := e.state(t, id)
		assert.Len(t, st.History, 1)
	})

	t.Run("400 names the field", func(t *testing.T) {
		const id = "MII-BAD-1"
		e.transferTo(t, e.a, id)
		cases := []struct{ name, body, field string }{
			{"malformed JSON", `{"dispute":`, "malformed JSON"},
			{"not an object", `[]`, "malformed JSON"},
			{"trailing data", statusBody(id, "CON_INIT", "MEDIATOR") + `{}`, "malformed JSON"},
			{"no dispute", `{"other":1}`, "dispute: is required"},
			{"dispute null", `{"dispute":null}`, "dispute: is required"},
			{"missing disputeId", `{"dispute":{"disputetype":"c","role":"MEDIATOR","userName":"u","status":"CON_INIT"}}`, "dispute.disputeId: is required"},
			{"empty disputetype", `{"dispute":{"disputeId":"` + id + `","disputetype":" ","role":"MEDIATOR","userName":"u","status":"CON_INIT"}}`, "dispute.disputetype: is required"},
			{"missing role", `{"dispute":{"disputeId":"` + id + `","disputetype":"c","userName":"u","status":"CON_INIT"}}`, "dispute.role: is required"},
			{"missing userName", `{"dispute":{"disputeId":"` + id + `","disputetype":"c","role":"MEDIATOR","status":"CON_INIT"}}`, "dispute.userName: is required"},
			{"missing status", `{"dispute":{"disputeId":"` + id + `","disputetype":"c","role":"MEDIATOR","userName":"u"}}`, "dispute.status: is required"},
			{"number disputeId", `{"dispute":{"disputeId":42,"disputetype":"c","role":"MEDIATOR","userName":"u","status":"CON_INIT"}}`, "dispute.disputeId: must be a string"},
			{"unknown status", statusBody(id, "DONE", "MEDIATOR"), "dispute.status:"},
			{"internal status", statusBody(id, "TRANSFERRED", "MEDIATOR"), "dispute.status:"},
			{"unknown role", statusBody(id, "CON_INIT", "JUDGE"), "dispute.role:"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.post(t, &e.a, c.body)
				assert.Equal(t, http.StatusBadRequest, r.code, string(r.raw))
				assert.False(t, r.body.Success)
				assert.Contains(t, r.body.Message, c.field)
			})
		}
		assert.Equal(t, dispute.Transferred, e.state(t, id).Status, "nothing applied")
	})

	t.Run("401 for every failed check", func(t *testing.T) {
		const id = "MII-AUTH-1"
		e.transferTo(t, e.a, id)
		body := statusBody(id, "CON_INIT", "MEDIATOR")
		now := time.Now()
		tokenFor := func(inst institution, claims jwt.MapClaims) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
			tok.Header["kid"] = inst.keyID
			s, err := tok.SignedString(inst.key)
			require.NoError(t, err)
			return s
		}
		valid := func() jwt.MapClaims {
			return jwt.MapClaims{"email": e.a.email, "phone": e.a.phone, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
		}
		good := tokenFor(e.a, valid())
		parts := strings.Split(good, ".")
		tampered := parts[0] + "." + strings.TrimRight(base64URL(`{"email":"`+e.b.email+`","phone":"`+e.b.phone+`"}`), "=") + "." + parts[2]
		expired := valid()
		expired["exp"] = now.Add(-10 * time.Minute).Unix()
		future := valid()
		future["nbf"] = now.Add(10 * time.Minute).Unix()
		stranger := valid()
		stranger["email"] = "someone@else.example"
		noneTok := base64URL(`{"alg":"none","typ":"JWT"}`) + "." + base64URL(`{"email":"`+e.a.email+`","phone":"`+e.a.phone+`"}`) + "."
		cases := []struct{ name, header, check string }{
			{"missing", "", "missing"},
			{"not a signature", "Bearer abc", ""},
			{"malformed", `Signature keyId="unterminated`, ""},
			{"wrong algorithm", fmt.Sprintf(`Signature keyId="%s|%s|RS256" algorithm="HS256" type="status"`, e.a.keyID, good), "algorithm"},
			{"wrong type", fmt.Sprintf(`Signature keyId="%s|%s|RS256" algorithm="RS256" type="payment"`, e.a.keyID, good), "type"},
			{"unknown key", auth.FormatHeader("0123456789abcdef0123456789abcdef", good, "status"), "key"},
			{"revoked key", e.revoked.header(t), "revoked"},
			{"bad signature", auth.FormatHeader(e.a.keyID, tampered, "status"), ""},
			{"signed by another institution's key", auth.FormatHeader(e.a.keyID, tokenFor(institution{keyID: e.a.keyID, key: e.b.key}, valid()), "status"), ""},
			{"alg none", auth.FormatHeader(e.a.keyID, noneTok, "status"), ""},
			{"expired", auth.FormatHeader(e.a.keyID, tokenFor(e.a, expired), "status"), "expired"},
			{"not yet valid", auth.FormatHeader(e.a.keyID, tokenFor(e.a, future), "status"), "valid"},
			{"not a user of the institution", auth.FormatHeader(e.a.keyID, tokenFor(e.a, stranger), "status"), "user"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var r reply
				if c.header == "" {
					r = e.post(t, nil, body)
				} else {
					r = e.post(t, nil, body, "Authorization", c.header)
				}
				assert.Equal(t, http.StatusUnauthorized, r.code, string(r.raw))
				assert.Equal(t, "Signature", r.header.Get("WWW-Authenticate"))
				assert.False(t, r.body.Success)
				assert.Contains(t, strings.ToLower(r.body.Message), c.check)
			})
		}
		assert.Equal(t, dispute.Transferred, e.state(t, id).Status, "nothing applied")
	})

	t.Run("404 for unknown and for another institution's dispute, same body", func(t *testing.T) {
		const id = "MII-OTHER-1"
		e.transferTo(t, e.b, id)
		other := e.post(t, &e.a, statusBody(id, "CON_INIT", "MEDIATOR"))
		assert.Equal(t, http.StatusNotFound, other.code)
		assert.Equal(t, api.Response{Success: false, Message: "Dispute MII-OTHER-1 not found", Code: "not_found"}, other.body)
		unknown := e.post(t, &e.a, statusBody("MII-OTHER-2", "CON_INIT", "MEDIATOR"))
		assert.Equal(t, http.StatusNotFound, unknown.code)
		assert.Equal(t, api.Response{Success: false, Message: "Dispute MII-OTHER-2 not found", Code: "not_found"}, unknown.body)
		assert.Equal(t, dispute.Transferred, e.state(t, id).Status)
		e.setStatus(t, e.b, id, "CON_INIT") // its own institution may
	})

	t.Run("409 illegal transition and closed dispute", func(t *testing.T) {
		const id = "MII-ILLEGAL-1"
		e.transferTo(t, e.a, id)
		e.setStatus(t, e.a, id, "CON_INIT")
		r := e.post(t, &e.a, statusBody(id, "ARB_PROG", "ARBITRATOR"))
		assert.Equal(t, http.StatusConflict, r.code)
		assert.Equal(t, api.Response{Success: false, Message: "Illegal transition for Dispute MII-ILLEGAL-1: CON_INIT -> ARB_PROG", Code: "illegal_transition"}, r.body)
		e.setStatus(t, e.a, id, "WD")
		r = e.post(t, &e.a, statusBody(id, "CON_PROG", "MEDIATOR"))
		assert.Equal(t, http.StatusConflict, r.code)
		assert.Equal(t, "dispute_closed", r.body.Code)
		assert.Equal(t, "Dispute MII-ILLEGAL-1 is closed (status WD)", r.body.Message)
		e.setStatus(t, e.a, id, "WD") // a repeat of the final status is fine
		st := e.state(t, id)
		assert.True(t, st.Closed)
		assert.Len(t, st.History, 2)
	})

	t.Run("413 and 415", func(t *testing.T) {
		big := `{"dispute":{"disputeId":"x","disputetype":"` + strings.Repeat("a", api.MaxBodyBytes) + `","role":"MEDIATOR","userName":"u","status":"CON_INIT"}}`
		r := e.post(t, &e.a, big)
		assert.Equal(t, http.StatusRequestEntityTooLarge, r.code)
		assert.False(t, r.body.Success)
		r = e.post(t, &e.a, statusBody("x", "CON_INIT", "MEDIATOR"), "Content-Type", "text/plain")
		assert.Equal(t, http.StatusUnsupportedMediaType, r.code)
		assert.False(t, r.body.Success)
		r = e.post(t, &e.a, statusBody("x", "CON_INIT", "MEDIATOR"), "Content-Type", "application/json; charset=utf-8")
		assert.Equal(t, http.StatusNotFound, r.code, "a JSON content type with parameters passes")
	})

	t.Run("20 identical concurrent requests are recorded once", func(t *testing.T) {
		const id = "MII-CONC-1"
		e.transferTo(t, e.a, id)
		codes := concurrently(20, func(int) int {
			return e.post(t, &e.a, statusBody(id, "CON_INIT", "MEDIATOR")).code
		})
		for _, c := range codes {
			assert.Equal(t, http.StatusOK, c)
		}
		st := e.state(t, id)
		assert.Len(t, st.History, 1)
	})

	t.Run("racing conflicting outcomes: one wins, the loser gets 409", func(t *testing.T) {
		for i := range 5 {
			id := fmt.Sprintf("MII-RACE-%d", i)
			e.transferTo(t, e.a, id)
			outcomes := []string{"PRECON_RES", "WD"}
			codes := concurrently(len(outcomes), func(j int) int {
				return e.post(t, &e.a, statusBody(id, outcomes[j], "CASEMANAGER")).code
			})
			st := e.state(t, id)
			require.Len(t, st.History, 1, id)
			for j, c := range codes {
				if dispute.Status(outcomes[j]) == st.Status {
					assert.Equal(t, http.StatusOK, c, "winner %s", outcomes[j])
				} else {
					assert.Equal(t, http.StatusConflict, c, "loser %s", outcomes[j])
				}
			}
		}
	})

	t.Run("Idempotency-Key applies a retried request once", func(t *testing.T) {
		const id = "MII-IDEM-1"
		e.transferTo(t, e.a, id)
		r := e.post(t, &e.a, statusBody(id, "CON_INIT", "MEDIATOR"), "Idempotency-Key", "req-1")
		require.Equal(t, http.StatusOK, r.code)
		e.setStatus(t, e.a, id, "CON_PROG")
		// A late retry of the first request is answered with its original
		// outcome instead of being judged again (it would now be illegal).
		r = e.post(t, &e.a, statusBody(id, "CON_INIT", "MEDIATOR"), "Idempotency-Key", "req-1")
		assert.Equal(t, http.StatusOK, r.code, string(r.raw))
		r = e.post(t, &e.a, statusBody(id, "CON_INIT", "MEDIATOR"), "Idempotency-Key", "req-2")
		assert.Equal(t, http.StatusConflict, r.code, string(r.raw))
		assert.Len(t, e.state(t, id).History, 2)
	})

	t.Run("health, readiness, version, openapi", func(t *testing.T) {
		for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/version": 200, "/openapi.yaml": 200} {
			req, _ := http.NewRequest(http.MethodGet, e.public.URL+path, nil)
			r := do(t, req)
			assert.Equal(t, want, r.code, path)
		}
		req, _ := http.NewRequest(http.MethodGet, e.public.URL+"/openapi.yaml", nil)
		assert.Equal(t, api.OpenAPISpec(), do(t, req).raw)
	})
}

func base64URL(s string) string {
	return strings.TrimRight(base64.URLEncoding.EncodeToString([]byte(s)), "=")
}

// concurrently runs f(0..n-1) at once and returns the results in order.
func concurrently(n int, f func(i int) int) []int {
	out := make([]int, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			out[i] = f(i)
		}()
	}
	start.Done()
	wg.Wait()
	return out
}

// Rate limits, an unreachable Temporal, the strict policy and completed
// workflows each need an API or worker configured differently.
func TestRateLimitPerKey(t *testing.T) {
	e := newAPIEnv(t, apiOptions{public: func(c *api.PublicConfig) { c.RatePerKey = 0.01; c.RateBurst = 2 }})
	const id = "MII-RATE-1"
	e.transferTo(t, e.a, id)
	assert.Equal(t, http.StatusOK, e.post(t, &e.a, statusBody(id, "CON_INIT", "MEDIATOR")).code)
	assert.Equal(t, http.StatusOK, e.post(t, &e.a, statusBody(id, "CON_INIT", "MEDIATOR")).code)
	r := e.post(t, &e.a, statusBody(id, "CON_PROG", "MEDIATOR"))
	assert.Equal(t, http.StatusTooManyRequests, r.code)
	assert.Equal(t, "1", r.header.Get("Retry-After"))
	assert.False(t, r.body.Success)
	// Another key has its own bucket.
	const other = "MII-RATE-2"
	e.transferTo(t, e.b, other)
	assert.Equal(t, http.StatusOK, e.post(t, &e.b, statusBody(other, "CON_INIT", "MEDIATOR")).code)
	assert.Equal(t, dispute.ConInit, e.state(t, id).Status, "the limited request was not applied")
}

func TestTemporalUnavailableIs503(t *testing.T) {
	e := newAPIEnv(t, apiOptions{})
	const id = "MII-DOWN-1"
	e.transferTo(t, e.a, id)
	dead, err := engine.Dial(engine.Config{Address: "127.0.0.1:1", Namespace: "default"}, testLogger())
	require.NoError(t, err)
	t.Cleanup(dead.Close)
	cfg := e.publicCfg
	cfg.Engine = dead
	cfg.UpdateTimeout = 2 * time.Second
	cfg.Ready = func(ctx context.Context) error { return engine.Ready(ctx, dead) }
	down := httptestServer(t, api.NewPublic(cfg))
	req, _ := http.NewRequest(http.MethodPost, down+"/status", strings.NewReader(statusBody(id, "CON_INIT", "MEDIATOR")))
	req.Header.Set("Authorization", e.a.header(t))
	r := do(t, req)
	assert.Equal(t, http.StatusServiceUnavailable, r.code, string(r.raw))
	assert.Equal(t, "2", r.header.Get("Retry-After"))
	assert.False(t, r.body.Success)
	req, _ = http.NewRequest(http.MethodGet, down+"/readyz", nil)
	assert.Equal(t, http.StatusServiceUnavailable, do(t, req).code)
	assert.Equal(t, dispute.Transferred, e.state(t, id).Status, "nothing recorded")
}

func TestStrictPolicyAndCompletedDisputes(t *testing.T) {
	cfg := workflows.DefaultConfig()
	cfg.RolePolicy = dispute.PolicyStrict
	cfg.CloseAfter = time.Second
	e := newAPIEnv(t, apiOptions{stackOptions: stackOptions{wfConfig: &cfg}})

	const id = "MII-STRICT-1"
	e.transferTo(t, e.a, id)
	r := e.post(t, &e.a, statusBody(id, "ARB_INIT", "MEDIATOR"))
	assert.Equal(t, http.StatusForbidden, r.code)
	assert.Equal(t, api.Response{Success: false, Code: "role_forbidden", Message: "Role MEDIATOR may not set status ARB_INIT under the strict policy"}, r.body)
	assert.Equal(t, http.StatusForbidden, e.post(t, &e.a, statusBody(id, "CON_INIT", "RESPONDENT")).code)
	assert.Equal(t, http.StatusOK, e.post(t, &e.a, statusBody(id, "CON_INIT", "MEDIATOR")).code)
	assert.Equal(t, http.StatusOK, e.post(t, &e.a, statusBody(id, "WD", "PETITIONER")).code)

	// After --close-after the workflow completes; its final status can
	// still be repeated, nothing else is accepted, and other institutions
	// still see nothing.
	eventually(t, 20*time.Second, func() bool {
		d, err := e.client.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(id), "")
		return err == nil && d.GetWorkflowExecutionInfo().GetCloseTime() != nil
	}, "workflow completes after close-after")
	assert.Equal(t, http.StatusOK, e.post(t, &e.a, statusBody(id, "wd", "petitioner")).code)
	r = e.post(t, &e.a, statusBody(id, "CON_PROG", "MEDIATOR"))
	assert.Equal(t, http.StatusConflict, r.code)
	assert.Equal(t, api.Response{Success: false, Code: "dispute_closed", Message: "Dispute MII-STRICT-1 is closed (status WD)"}, r.body)
	r = e.post(t, &e.b, statusBody(id, "WD", "CASEMANAGER"))
	assert.Equal(t, http.StatusNotFound, r.code)
	assert.Equal(t, "Dispute MII-STRICT-1 not found", r.body.Message)

	st := e.state(t, id) // the admin API reads completed disputes too
	assert.Equal(t, dispute.WD, st.Status)
	assert.True(t, st.Closed)
	assert.Len(t, st.History, 2)
}

// TestAdminAPI covers every endpoint of SPEC §4.
func TestAdminAPI(t *testing.T) {
	e := newAPIEnv(t, apiOptions{})

	t.Run("bearer token required", func(t *testing.T) {
		for _, h := range []string{"", "Bearer wrong", "Basic " + adminTestToken, adminTestToken} {
			req, _ := http.NewRequest(http.MethodGet, e.admin.URL+"/admin/v1/disputes", nil)
			if h != "" {
				req.Header.Set("Authorization", h)
			}
			r := do(t, req)
			assert.Equal(t, http.StatusUnauthorized, r.code, h)
			assert.False(t, r.body.Success)
		}
	})

	t.Run("transfer", func(t *testing.T) {
		r := e.adminDo(t, http.MethodPost, "/admin/v1/disputes", api.TransferRequest{DisputeID: "ADM-1", InstitutionID: "INST-A", DisputeType: "arbitration"})
		require.Equal(t, http.StatusCreated, r.code, string(r.raw))
		var sum api.DisputeSummary
		require.NoError(t, json.Unmarshal(r.raw, &sum))
		assert.Equal(t, "ADM-1", sum.DisputeID)
		assert.Equal(t, "TRANSFERRED", sum.Status)

		r = e.adminDo(t, http.MethodPost, "/admin/v1/disputes", api.TransferRequest{DisputeID: "ADM-1", InstitutionID: "INST-B", DisputeType: "arbitration"})
		assert.Equal(t, http.StatusConflict, r.code)
		assert.Equal(t, "Dispute ADM-1 already exists", r.body.Message)

		r = e.adminDo(t, http.MethodPost, "/admin/v1/disputes", api.TransferRequest{DisputeID: "ADM-2", InstitutionID: "NOBODY", DisputeType: "arbitration"})
		assert.Equal(t, http.StatusBadRequest, r.code)
		assert.Equal(t, `institutionId: unknown institution "NOBODY"`, r.body.Message)

		for _, bad := range []api.TransferRequest{
			{InstitutionID: "INST-A", DisputeType: "x"},
			{DisputeID: "ADM-3", InstitutionID: "INST-A"},
			{DisputeID: "ADM-3' OR 1=1", InstitutionID: "INST-A", DisputeType: "x"},
		} {
			r = e.adminDo(t, http.MethodPost, "/admin/v1/disputes", bad)
			assert.Equal(t, http.StatusBadRequest, r.code, "%+v", bad)
		}
		req, _ := http.NewRequest(http.MethodPost, e.admin.URL+"/admin/v1/disputes", strings.NewReader("{"))
		req.Header.Set("Authorization", "Bearer "+adminTestToken)
		assert.Equal(t, http.StatusBadRequest, do(t, req).code)
	})

	t.Run("show", func(t *testing.T) {
		st := e.state(t, "ADM-1")
		assert.Equal(t, "ADM-1", st.DisputeID)
		assert.Equal(t, "INST-A", st.InstitutionID)
		assert.Equal(t, "arbitration", st.DisputeType)
		assert.Equal(t, dispute.Transferred, st.Status)
		assert.Equal(t, "Transferred to ODR Institution", st.StatusDescription)
		assert.False(t, st.Closed)
		assert.Empty(t, st.History)
		r := e.adminDo(t, http.MethodGet, "/admin/v1/disputes/NOPE-1", nil)
		assert.Equal(t, http.StatusNotFound, r.code)
		assert.Equal(t, "Dispute NOPE-1 not found", r.body.Message)
	})

	t.Run("list with filters and paging", func(t *testing.T) {
		for i := range 5 {
			e.adminDo(t, http.MethodPost, "/admin/v1/disputes", api.TransferRequest{DisputeID: fmt.Sprintf("LST-%d", i), InstitutionID: "INST-B", DisputeType: "listing"})
		}
		e.setStatus(t, e.b, "LST-0", "CON_INIT")
		e.setStatus(t, e.b, "LST-1", "CON_INIT")
		list := func(q string) api.DisputeList {
			r := e.adminDo(t, http.MethodGet, "/admin/v1/disputes?"+q, nil)
			require.Equal(t, http.StatusOK, r.code, string(r.raw))
			var l api.DisputeList
			require.NoError(t, json.Unmarshal(r.raw, &l))
			return l
		}
		eventually(t, 10*time.Second, func() bool {
			return len(list("type=listing&status=con_init").Disputes) == 2
		}, "visibility catches up")
		got := list("type=listing&status=CON_INIT&institution=INST-B")
		ids := []string{got.Disputes[0].DisputeID, got.Disputes[1].DisputeID}
		assert.ElementsMatch(t, []string{"LST-0", "LST-1"}, ids)
		assert.Equal(t, "INST-B", got.Disputes[0].InstitutionID)
		assert.Equal(t, "listing", got.Disputes[0].DisputeType)
		assert.False(t, got.Disputes[0].UpdatedAt.IsZero())

		seen := map[string]bool{}
		q := "type=listing&pageSize=2"
		pages := 0
		for {
			l := list(q)
			pages++
			for _, d := range l.Disputes {
				assert.False(t, seen[d.DisputeID], "listed twice: %s", d.DisputeID)
				seen[d.DisputeID] = true
			}
			if l.NextPageToken == "" {
				break
			}
			q = "type=listing&pageSize=2&pageToken=" + url.QueryEscape(l.NextPageToken)
		}
		assert.Len(t, seen, 5)
		assert.GreaterOrEqual(t, pages, 3)
		assert.Empty(t, list("institution=INST-A&type=listing").Disputes)

		for _, bad := range []string{
			"institution=" + url.QueryEscape("INST-B' OR '1'='1"),
			"type=" + url.QueryEscape("x' OR WorkflowType != '"),
			"status=DONE",
			"pageSize=0", "pageSize=abc", "pageSize=5000",
			"pageToken=" + url.QueryEscape("not base64!"),
			"pageToken=AAAAAAAA",
		} {
			r := e.adminDo(t, http.MethodGet, "/admin/v1/disputes?"+bad, nil)
			assert.Equal(t, http.StatusBadRequest, r.code, bad)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		r := e.adminDo(t, http.MethodGet, "/metrics", nil)
		require.Equal(t, http.StatusOK, r.code)
		assert.Contains(t, string(r.raw), `odr_transitions_accepted_total{from="TRANSFERRED",to="CON_INIT"}`)
		assert.Contains(t, string(r.raw), `odr_http_requests_seconds_count{code="201",route="/admin/v1/disputes"}`)
	})
}

func httptestServer(t *testing.T, h http.Handler) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}
