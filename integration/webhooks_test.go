package integration

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/odrflow/odrflow/activities"
	odrworker "github.com/odrflow/odrflow/worker"
	"github.com/odrflow/odrflow/workflows"
)

const webhookSecret = "integration-webhook-secret"

// hookReceiver is a webhook receiver written the way the README tells
// customers to: it checks X-ODR-Signature over the raw body with the shared
// secret (plain crypto/hmac, not odrflow's helpers), and processes each
// eventId once, answering 200 to repeats. refuse makes it answer an event id
// with an HTTP status instead.
type hookReceiver struct {
	secret []byte
	refuse map[string]int

	mu        sync.Mutex
	requests  []hookRequest      // every request, in arrival order
	processed []activities.Event // the first delivery of each event, in order
	seen      map[string]bool
}

type hookRequest struct {
	event    activities.Event
	headerID string
	signed   bool
	code     int
}

func newHookReceiver() *hookReceiver {
	return &hookReceiver{secret: []byte(webhookSecret), refuse: map[string]int{}, seen: map[string]bool{}}
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	mac := hmac.New(sha256.New, h.secret)
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	signed := hmac.Equal([]byte(r.Header.Get("X-ODR-Signature")), []byte(want))

	var ev activities.Event
	code := http.StatusOK
	if err := json.Unmarshal(body, &ev); err != nil || r.Header.Get("Content-Type") != "application/json" {
		code = http.StatusUnsupportedMediaType
	}
	if !signed {
		code = http.StatusUnauthorized
	}
	h.mu.Lock()
	if c, ok := h.refuse[ev.ID]; ok && code == http.StatusOK {
		code = c
	}
	if code == http.StatusOK && !h.seen[ev.ID] {
		h.seen[ev.ID] = true
		h.processed = append(h.processed, ev)
	}
	h.requests = append(h.requests, hookRequest{event: ev, headerID: r.Header.Get("X-ODR-Event-Id"), signed: signed, code: code})
	h.mu.Unlock()
	http.Error(w, strings.ToLower(http.StatusText(code)), code)
}

// processedFor returns the events of disputeID processed, in order.
func (h *hookReceiver) processedFor(disputeID string) []activities.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []activities.Event
	for _, ev := range h.processed {
		if ev.DisputeID == disputeID {
			out = append(out, ev)
		}
	}
	return out
}

// requestsFor returns every request about disputeID, in arrival order.
func (h *hookReceiver) requestsFor(disputeID string) []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []hookRequest
	for _, r := range h.requests {
		if r.event.DisputeID == disputeID {
			out = append(out, r)
		}
	}
	return out
}

// listenOn serves h on addr until the test ends.
func (h *hookReceiver) listenOn(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// serve serves h on a free port and returns its URL.
func (h *hookReceiver) serve(t *testing.T) string {
	t.Helper()
	addr := freeAddr(t)
	h.listenOn(t, addr)
	return "http://" + addr + "/odr/events"
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func webhookWorker(url string) odrworker.Options {
	return odrworker.Options{Webhook: activities.WebhookConfig{URL: url, Secret: webhookSecret}}
}

// statusEvents returns the status_changed events a dispute's history must
// have produced, numbered from 1.
func statusEvents(st workflows.State) []activities.Event {
	var out []activities.Event
	for i, h := range st.History {
		out = append(out, activities.Event{
			ID: fmt.Sprintf("%s/%d", st.DisputeID, i+1), Type: activities.EventStatusChanged,
			DisputeID: st.DisputeID, InstitutionID: st.InstitutionID,
			From: string(h.From), To: string(h.To), At: h.At,
		})
	}
	return out
}

// TestWebhooksThroughAnOutage changes two disputes through the public API
// while the webhook receiver is down: every call is answered at once. When
// the receiver comes back, every change arrives signed, in order per
// dispute, and each event id is processed once.
func TestWebhooksThroughAnOutage(t *testing.T) {
	addr := freeAddr(t) // nothing listens there yet
	rec := newHookReceiver()
	e := newAPIEnv(t, apiOptions{stackOptions: stackOptions{worker: webhookWorker("http://" + addr + "/odr/events")}})
	e.transferTo(t, e.a, "WH-1")
	e.transferTo(t, e.a, "WH-2")
	steps := []struct{ id, status string }{
		{"WH-1", "CON_INIT"}, {"WH-2", "ARB_INIT"}, {"WH-1", "CON_PROG"},
		{"WH-2", "ARB_PROG"}, {"WH-1", "CON_RES"}, {"WH-2", "ARB_RES"},
	}
	for _, s := range steps {
		started := time.Now()
		e.setStatus(t, e.a, s.id, s.status)
		assert.Less(t, time.Since(started), 5*time.Second, "%s %s waited for the receiver", s.id, s.status)
	}
	r := e.post(t, &e.a, statusBody("WH-1", "CON_RES", "MEDIATOR")) // a repeat makes no event
	require.Equal(t, http.StatusOK, r.code)

	down := e.state(t, "WH-1")
	assert.Equal(t, statusEvents(down), down.PendingWebhooks, "queued while the receiver is down")
	time.Sleep(2 * time.Second)
	rec.listenOn(t, addr) // the receiver comes back

	for _, id := range []string{"WH-1", "WH-2"} {
		eventually(t, time.Minute, func() bool { return len(rec.processedFor(id)) == 3 }, id+" events delivered")
		st := e.state(t, id)
		require.Len(t, st.History, 3)
		assert.Equal(t, statusEvents(st), rec.processedFor(id))
		seq := 0
		for _, req := range rec.requestsFor(id) {
			assert.True(t, req.signed, "signature of %s", req.event.ID)
			assert.Equal(t, req.event.ID, req.headerID)
			var n int
			_, err := fmt.Sscanf(strings.TrimPrefix(req.event.ID, id+"/"), "%d", &n)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, n, seq, "%s arrived after %s/%d", req.event.ID, id, seq)
			seq = n
		}
		eventually(t, 10*time.Second, func() bool { return len(e.state(t, id).PendingWebhooks) == 0 }, id+" queue drained")
		st = e.state(t, id)
		assert.Equal(t, 3, st.EventSeq)
		assert.Empty(t, st.WebhookFailures)
	}
}

// TestRefusedWebhookIsRecorded: the receiver refuses one event with 410; it
// is not retried, the dispute's state records it, and the next event is
// delivered.
func TestRefusedWebhookIsRecorded(t *testing.T) {
	rec := newHookReceiver()
	rec.refuse["WH-REFUSED/1"] = http.StatusGone
	e := newAPIEnv(t, apiOptions{stackOptions: stackOptions{worker: webhookWorker(rec.serve(t))}})
	e.transferTo(t, e.a, "WH-REFUSED")
	e.setStatus(t, e.a, "WH-REFUSED", "CON_INIT")
	e.setStatus(t, e.a, "WH-REFUSED", "CON_FAIL")

	eventually(t, 30*time.Second, func() bool { return len(rec.processedFor("WH-REFUSED")) == 1 }, "second event delivered")
	st := e.state(t, "WH-REFUSED")
	require.Len(t, st.WebhookFailures, 1)
	f := st.WebhookFailures[0]
	assert.Equal(t, workflows.WebhookFailure{
		EventID: "WH-REFUSED/1", Type: activities.EventStatusChanged, StatusCode: http.StatusGone,
		Reason: "webhook receiver answered 410 Gone to event WH-REFUSED/1: gone", At: f.At,
	}, f)
	assert.False(t, f.At.Before(st.History[0].At))
	assert.Equal(t, statusEvents(st)[1:], rec.processedFor("WH-REFUSED"))
	var codes []int
	for _, r := range rec.requestsFor("WH-REFUSED") {
		codes = append(codes, r.code)
	}
	assert.Equal(t, []int{http.StatusGone, http.StatusOK}, codes, "the refusal is not retried")
}
