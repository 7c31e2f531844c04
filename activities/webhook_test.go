package activities_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/odrflow/odrflow/activities"
)

const secret = "s3cret-for-tests"

var at = time.Date(2024, 1, 15, 10, 1, 0, 0, time.UTC)

func statusChanged() activities.Event {
	return activities.Event{
		ID: "MII-INV-2024-01-781096/1", Type: activities.EventStatusChanged,
		DisputeID: "MII-INV-2024-01-781096", InstitutionID: "DEMO-ODRI",
		From: "TRANSFERRED", To: "CON_INIT", At: at,
	}
}

// received is one request as the test receiver saw it.
type received struct {
	method, contentType, signature, eventID, eventType string
	body                                               []byte
}

// receiver answers every request with code (and header h) and records it.
func receiver(t *testing.T, code int, h http.Header) (string, *[]received) {
	t.Helper()
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		got = append(got, received{
			method: r.Method, contentType: r.Header.Get("Content-Type"),
			signature: r.Header.Get(activities.SignatureHeader),
			eventID:   r.Header.Get(activities.EventIDHeader), eventType: r.Header.Get(activities.EventTypeHeader),
			body: body,
		})
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, http.StatusText(code))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &got
}

func deliver(url string, ev activities.Event) error {
	return activities.NewWebhook(activities.WebhookConfig{URL: url, Secret: secret}).Deliver(context.Background(), ev)
}

func TestDeliverSendsSignedJSON(t *testing.T) {
	url, got := receiver(t, http.StatusNoContent, nil)
	require.NoError(t, deliver(url+"/hooks/odr", statusChanged()))

	require.Len(t, *got, 1)
	r := (*got)[0]
	assert.Equal(t, http.MethodPost, r.method)
	assert.Equal(t, "application/json", r.contentType)
	assert.Equal(t, "MII-INV-2024-01-781096/1", r.eventID)
	assert.Equal(t, "status_changed", r.eventType)
	assert.JSONEq(t, `{"eventId":"MII-INV-2024-01-781096/1","type":"status_changed",
		"disputeId":"MII-INV-2024-01-781096","institutionId":"DEMO-ODRI",
		"from":"TRANSFERRED","to":"CON_INIT","at":"2024-01-15T10:01:00Z"}`, string(r.body))
	assert.Equal(t, activities.Sign([]byte(secret), r.body), r.signature)
	assert.True(t, activities.VerifySignature([]byte(secret), r.body, r.signature))
}

func TestDeadlineMissedBody(t *testing.T) {
	url, got := receiver(t, http.StatusOK, nil)
	deadline := at.Add(-time.Minute)
	ev := activities.Event{
		ID: "D-1/3", Type: activities.EventDeadlineMissed, DisputeID: "D-1", InstitutionID: "I",
		From: "CON_PROG", To: "CON_PROG", At: at, Stage: "conciliation", Deadline: &deadline,
	}
	require.NoError(t, deliver(url, ev))
	require.Len(t, *got, 1)
	assert.JSONEq(t, `{"eventId":"D-1/3","type":"deadline_missed","disputeId":"D-1","institutionId":"I",
		"from":"CON_PROG","to":"CON_PROG","at":"2024-01-15T10:01:00Z",
		"stage":"conciliation","deadline":"2024-01-15T10:00:00Z"}`, string((*got)[0].body))
}

// TestSignatureIsHMACOfRawBody pins the signature to a value computed
// independently (printf '%s' body | openssl dgst -sha256 -hmac secret).
func TestSignatureIsHMACOfRawBody(t *testing.T) {
	body := []byte(`{"eventId":"x/1"}`)
	const want = "sha256=da5a687b3c23bd86bb3ccdec537c2d86c774fe82a0397844a83b3973d234a34d"
	got := activities.Sign([]byte("key"), body)
	assert.Equal(t, want, got)
	assert.True(t, activities.VerifySignature([]byte("key"), body, got))
	assert.False(t, activities.VerifySignature([]byte("other"), body, got), "wrong secret")
	assert.False(t, activities.VerifySignature([]byte("key"), []byte(`{"eventId":"x/2"}`), got), "other body")
	assert.False(t, activities.VerifySignature([]byte("key"), body, got[len("sha256="):]), "no prefix")
	assert.False(t, activities.VerifySignature([]byte("key"), body, "sha256=zz"), "not hex")
}

func TestRefusalIsNotRetried(t *testing.T) {
	for _, code := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusGone, http.StatusUnprocessableEntity} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			url, got := receiver(t, code, nil)
			err := deliver(url, statusChanged())
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, err, &appErr)
			assert.Equal(t, activities.ErrWebhookRejected, appErr.Type())
			assert.True(t, appErr.NonRetryable())
			assert.Equal(t, fmt.Sprintf("webhook receiver answered %d %s to event MII-INV-2024-01-781096/1: %s",
				code, http.StatusText(code), http.StatusText(code)), appErr.Message())
			var status int
			require.NoError(t, appErr.Details(&status))
			assert.Equal(t, code, status)
			assert.Len(t, *got, 1)
		})
	}
}

func TestFailureIsRetried(t *testing.T) {
	for _, tc := range []struct {
		code       int
		retryAfter string
		delay      time.Duration
	}{
		{http.StatusInternalServerError, "", 0},
		{http.StatusBadGateway, "", 0},
		{http.StatusServiceUnavailable, "7", 7 * time.Second},
		{http.StatusTooManyRequests, "120", 2 * time.Minute},
		{http.StatusTooManyRequests, "999999", time.Hour},
		{http.StatusRequestTimeout, "soon", 0},
		{http.StatusFound, "", 0},
		{http.StatusNotModified, "", 0},
	} {
		t.Run(http.StatusText(tc.code)+"/"+tc.retryAfter, func(t *testing.T) {
			h := http.Header{"Location": {"/elsewhere"}}
			if tc.retryAfter != "" {
				h.Set("Retry-After", tc.retryAfter)
			}
			url, got := receiver(t, tc.code, h)
			err := deliver(url, statusChanged())
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, err, &appErr)
			assert.Equal(t, activities.ErrWebhookUnavailable, appErr.Type())
			assert.False(t, appErr.NonRetryable())
			assert.Equal(t, tc.delay, appErr.NextRetryDelay())
			var status int
			require.NoError(t, appErr.Details(&status))
			assert.Equal(t, tc.code, status)
			assert.Len(t, *got, 1, "a redirect is not followed")
		})
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	url, _ := receiver(t, http.StatusServiceUnavailable, http.Header{
		"Retry-After": {time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)},
	})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, deliver(url, statusChanged()), &appErr)
	// The date has one-second resolution and the clock moves on.
	assert.InDelta(t, 90*time.Second, appErr.NextRetryDelay(), float64(2*time.Second))
}

func TestReceiverDownIsRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	err = deliver("http://"+addr+"/hook", statusChanged())
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, activities.ErrWebhookUnavailable, appErr.Type())
	assert.False(t, appErr.NonRetryable())
	assert.False(t, appErr.HasDetails())
	var opErr *net.OpError
	assert.True(t, errors.As(err, &opErr), "the cause is kept: %v", err)
}

func TestTimeoutIsRetried(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	wh := activities.NewWebhook(activities.WebhookConfig{URL: srv.URL, Secret: secret, Timeout: 50 * time.Millisecond})
	err := wh.Deliver(context.Background(), statusChanged())
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, activities.ErrWebhookUnavailable, appErr.Type())
	assert.False(t, appErr.NonRetryable())
}

func TestNotConfigured(t *testing.T) {
	err := activities.NewWebhook(activities.WebhookConfig{}).Deliver(context.Background(), statusChanged())
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, activities.ErrWebhookNotConfigured, appErr.Type())
	assert.True(t, appErr.NonRetryable())
}

func TestWebhookConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  activities.WebhookConfig
		want string
	}{
		{activities.WebhookConfig{}, ""},
		{activities.WebhookConfig{Secret: "only a secret"}, ""},
		{activities.WebhookConfig{URL: "https://hooks.example/odr", Secret: "s"}, ""},
		{activities.WebhookConfig{URL: "http://127.0.0.1:9000", Secret: "s", Timeout: time.Second}, ""},
		{activities.WebhookConfig{URL: "https://hooks.example/odr"}, "a webhook URL needs a webhook secret to sign the events with"},
		{activities.WebhookConfig{URL: "hooks.example/odr", Secret: "s"}, "webhook URL hooks.example/odr must be an absolute http or https URL"},
		{activities.WebhookConfig{URL: "ftp://user:pw@hooks.example/", Secret: "s"}, "webhook URL ftp://user:xxxxx@hooks.example/ must be an absolute http or https URL"},
		{activities.WebhookConfig{URL: "http://user:pw@[::1", Secret: "s"}, "webhook URL is not a valid URL"},
		{activities.WebhookConfig{Timeout: -time.Second}, "webhook timeout -1s is negative"},
	} {
		err := tc.cfg.Validate()
		if tc.want == "" {
			assert.NoError(t, err, "%+v", tc.cfg)
		} else {
			assert.EqualError(t, err, tc.want, "%+v", tc.cfg)
		}
	}
	assert.False(t, activities.WebhookConfig{Secret: "s"}.Enabled())
	assert.True(t, activities.WebhookConfig{URL: "http://x"}.Enabled())
}
