package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/odrflow/odrflow/api/auth"
	"github.com/odrflow/odrflow/dispute"
)

func TestDecodeStatusRequest(t *testing.T) {
	ok := `{"dispute":{"disputeId":" D-1 ","disputetype":"conciliation","role":"mediator","userName":"Bruce Wayne","status":"con_init","extra":1},"more":true}`
	v, err := decodeStatusRequest(strings.NewReader(ok))
	require.NoError(t, err)
	assert.Equal(t, validStatusChange{disputeID: "D-1", disputeType: "conciliation", userName: "Bruce Wayne", status: dispute.ConInit, role: dispute.Mediator}, v)

	asString := `{"dispute":"{\"disputeId\":\"D-2\",\"disputetype\":\"c\",\"role\":\"SYSADMIN\",\"userName\":\"u\",\"status\":\"WD\"}"}`
	v, err = decodeStatusRequest(strings.NewReader(asString))
	require.NoError(t, err)
	assert.Equal(t, "D-2", v.disputeID)
	assert.Equal(t, dispute.WD, v.status)

	for body, want := range map[string]string{
		``:                                  "malformed JSON",
		`{`:                                 "malformed JSON",
		`{} {}`:                             "malformed JSON",
		`{}`:                                "dispute: is required",
		`{"dispute":"not json"}`:            "dispute: must be a JSON object",
		`{"dispute":[1]}`:                   "dispute: must be a JSON object",
		`{"dispute":{"disputeId":true}}`:    "dispute.disputeId: must be a string",
		`{"dispute":{"status":"CON_INIT"}}`: "dispute.disputeId: is required",
		`{"dispute":{"disputeId":"a\u0000b","disputetype":"c","role":"MEDIATOR","userName":"u","status":"WD"}}`:                         "dispute.disputeId: contains control characters",
		`{"dispute":{"disputeId":"` + strings.Repeat("x", 201) + `","disputetype":"c","role":"MEDIATOR","userName":"u","status":"WD"}}`: "dispute.disputeId: is longer than 200",
		`{"dispute":{"disputeId":"a","disputetype":"c","role":"MEDIATOR","userName":"u","status":"NOPE"}}`:                              "dispute.status: ",
		`{"dispute":{"disputeId":"a","disputetype":"c","role":"KING","userName":"u","status":"WD"}}`:                                    "dispute.role: ",
	} {
		_, err := decodeStatusRequest(strings.NewReader(body))
		var re *RequestError
		require.ErrorAs(t, err, &re, body)
		assert.Contains(t, re.Error(), want, body)
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
		msg  string
	}{
		{&RequestError{Field: "dispute.status", Message: "unknown"}, 400, "dispute.status: unknown"},
		{&http.MaxBytesError{Limit: 10}, 413, "request body exceeds 10 bytes"},
		{errUnsupportedMediaType, 415, errUnsupportedMediaType.Error()},
		{&auth.Error{Check: "expired", Message: "token expired"}, 401, "expired: token expired"},
		{errRateLimited, 429, errRateLimited.Error()},
		{&notFoundError{"X"}, 404, "Dispute X not found"},
		{dispute.NotFound("X"), 404, "Dispute X not found"},
		{dispute.Closed("X", dispute.WD), 409, "Dispute X is closed (status WD)"},
		{temporal.NewNonRetryableApplicationError("Illegal transition for Dispute X: CON_INIT -> ARB_PROG", dispute.ErrIllegalTransition, nil), 409, "Illegal transition for Dispute X: CON_INIT -> ARB_PROG"},
		{temporal.NewNonRetryableApplicationError("no", dispute.ErrRoleForbidden, nil), 403, "no"},
		{temporal.NewNonRetryableApplicationError("bad", dispute.ErrInvalidRequest, nil), 400, "bad"},
		{temporal.NewNonRetryableApplicationError("?", "Other", nil), 500, "internal error"},
		{serviceerror.NewUnavailable("down"), 503, errUnavailable.Error()},
		{context.DeadlineExceeded, 503, errUnavailable.Error()},
		{errors.New("boom"), 500, "internal error"},
	} {
		o := classify(c.err)
		assert.Equal(t, c.code, o.status, "%v", c.err)
		assert.Equal(t, c.msg, o.message, "%v", c.err)
	}
}

func TestVisibilityQueryOnlyFromValidatedValues(t *testing.T) {
	q, err := ListFilter{Status: "con_init", Institution: "INST-A", Type: "conciliation"}.visibilityQuery()
	require.NoError(t, err)
	assert.Equal(t, "WorkflowType = 'DisputeWorkflow' AND DisputeStatus = 'CON_INIT' AND DisputeInstitution = 'INST-A' AND DisputeType = 'conciliation'", q)
	q, err = ListFilter{}.visibilityQuery()
	require.NoError(t, err)
	assert.Equal(t, "WorkflowType = 'DisputeWorkflow'", q)
	for _, f := range []ListFilter{
		{Status: "CON_INIT' OR '1'='1"},
		{Institution: "A' OR '1'='1"},
		{Institution: `A" OR 1=1`},
		{Type: "x\\' OR 1=1"},
		{Type: "a) OR (b"},
		{Institution: strings.Repeat("a", 129)},
	} {
		_, err := f.visibilityQuery()
		var re *RequestError
		assert.ErrorAs(t, err, &re, "%+v", f)
	}
}

func TestMiddlewareRejections(t *testing.T) {
	h := NewPublic(PublicConfig{Logger: discardLogger(), Ready: func(context.Context) error { return nil }})
	for _, c := range []struct {
		name, ct string
		body     string
		code     int
	}{
		{"text/plain", "text/plain", "{}", 415},
		{"form", "application/x-www-form-urlencoded", "a=b", 415},
		{"garbage content type", ";;", "{}", 415},
		{"too large", "application/json", strings.Repeat(" ", MaxBodyBytes+1), 413},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/status", strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.ct)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, c.code, rec.Code)
			assert.Equal(t, Version, rec.Header().Get("API-Version"))
			assert.Contains(t, rec.Body.String(), `"success":false`)
		})
	}
}

func TestAdminBearer(t *testing.T) {
	h := NewAdmin(AdminConfig{Logger: discardLogger(), Token: "s3cret"})
	for auth, code := range map[string]int{"": 401, "Bearer": 401, "Bearer s3cre": 401, "Bearer s3cret2": 401, "bearer s3cret": 401, "Bearer s3cret": 200} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, code, rec.Code, auth)
	}
	// An empty configured token never admits anyone.
	h = NewAdmin(AdminConfig{Logger: discardLogger(), Token: ""})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Authorization", "Bearer ")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, 401, rec.Code)
}

func TestKeyLimiter(t *testing.T) {
	l := newKeyLimiter(0.001, 2)
	assert.True(t, l.Allow("a"))
	assert.True(t, l.Allow("a"))
	assert.False(t, l.Allow("a"))
	assert.True(t, l.Allow("b"))
	assert.True(t, newKeyLimiter(0, 0).Allow("a"), "0 disables")
}

func TestPageTokensAreSealed(t *testing.T) {
	p := newPageTokens("admin-token")
	sealed := p.seal([]byte(`{"offset":50}`))
	got, ok := p.open(sealed)
	require.True(t, ok)
	assert.Equal(t, `{"offset":50}`, string(got))
	assert.Equal(t, "", p.seal(nil), "no next page")

	_, ok = newPageTokens("another deployment").open(sealed)
	assert.False(t, ok, "sealed under another key")
	raw := []byte(sealed)
	raw[2] ^= 1
	_, ok = p.open(string(raw))
	assert.False(t, ok, "tampered")
	for _, bad := range []string{"", "!!!", "AAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		_, ok = p.open(bad)
		assert.False(t, ok, bad)
	}
}

// A refused request leaves no trace in workflow history, so it must leave
// one audit line in the log.
func TestRejectedRequestIsAudited(t *testing.T) {
	var logs strings.Builder
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	h := NewPublic(PublicConfig{Logger: logger, Ready: func(context.Context) error { return nil }})
	req := httptest.NewRequest(http.MethodPost, "/status", strings.NewReader(`{"dispute":{"disputeId":"D-9","disputetype":"c","role":"MEDIATOR","userName":"u","status":"NOPE"}}`))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	var audit map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		if m["msg"] == "status change rejected" {
			require.Nil(t, audit, "one audit line")
			audit = m
		}
	}
	require.NotNil(t, audit)
	assert.Equal(t, float64(400), audit["http_status"])
	assert.Equal(t, "invalid_request", audit["code"])
	assert.Contains(t, audit["reason"], "dispute.status")
	assert.NotEmpty(t, audit["request_id"])
	assert.Equal(t, "D-9", audit["dispute_id"])
}
