package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
)

// DeliverWebhookName is the activity type under which Webhook.Deliver is
// registered and scheduled.
const DeliverWebhookName = "DeliverWebhook"

// Types of the ApplicationErrors Deliver returns. The workflow records the
// non-retryable ones in the dispute's state.
const (
	// ErrWebhookRejected: the receiver answered 4xx other than 408 and 429,
	// which says the request itself is wrong (a wrong path, a wrong secret),
	// so retrying cannot help. Non-retryable; its details hold the HTTP
	// status code.
	ErrWebhookRejected = "WebhookRejected"
	// ErrWebhookNotConfigured: the worker that ran the activity has no
	// webhook URL. Non-retryable.
	ErrWebhookNotConfigured = "WebhookNotConfigured"
	// ErrWebhookUnavailable: no 2xx answer for another reason (connection
	// refused, timeout, 3xx, 408, 429, 5xx). Retried; its details hold the
	// HTTP status code when there was one.
	ErrWebhookUnavailable = "WebhookUnavailable"
)

// Headers sent with every webhook besides SignatureHeader, so that a receiver
// can route and deduplicate without parsing the body.
const (
	EventIDHeader   = "X-ODR-Event-Id"
	EventTypeHeader = "X-ODR-Event-Type"
)

const (
	// DefaultWebhookTimeout bounds one delivery attempt when
	// WebhookConfig.Timeout is zero.
	DefaultWebhookTimeout = 10 * time.Second
	// maxRetryAfter caps the delay a receiver can ask for with Retry-After,
	// so a typo on its side cannot park a dispute's notifications for days.
	maxRetryAfter = time.Hour
	// maxSnippet is how much of a refusal's body goes into the error, to
	// say why without copying a whole error page into workflow history.
	maxSnippet = 200
	// maxDrain is how much of a response body is read so the connection
	// can be reused.
	maxDrain  = 64 << 10
	userAgent = "odrflow-webhook/1"
)

// WebhookConfig is where a worker sends webhooks. It belongs to the worker's
// environment, not to a dispute: disputes never record it, and a worker
// restarted with another URL or secret delivers every pending event with the
// new ones.
type WebhookConfig struct {
	// URL receives every event as a POST (--webhook-url). Empty disables
	// webhooks.
	URL string
	// Secret is the HMAC-SHA256 key of SignatureHeader (--webhook-secret).
	Secret string
	// Timeout bounds one delivery attempt; zero means
	// DefaultWebhookTimeout.
	Timeout time.Duration
}

// Enabled reports whether events are to be delivered at all.
func (c WebhookConfig) Enabled() bool { return c.URL != "" }

// Validate reports whether c can configure a worker: an absolute http(s)
// URL and a secret to sign with, or no URL at all.
func (c WebhookConfig) Validate() error {
	if c.Timeout < 0 {
		return fmt.Errorf("webhook timeout %v is negative", c.Timeout)
	}
	if !c.Enabled() {
		return nil
	}
	// The URL may hold credentials, so errors never quote it whole.
	u, err := url.Parse(c.URL)
	if err != nil {
		return errors.New("webhook URL is not a valid URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook URL %s must be an absolute http or https URL", u.Redacted())
	}
	if c.Secret == "" {
		return errors.New("a webhook URL needs a webhook secret to sign the events with")
	}
	return nil
}

// Webhook delivers events to the configured receiver. Register its Deliver
// method under DeliverWebhookName.
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client
}

// NewWebhook returns the activity for cfg; validate cfg first.
func NewWebhook(cfg WebhookConfig) *Webhook {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultWebhookTimeout
	}
	return &Webhook{cfg: cfg, client: &http.Client{
		Timeout: timeout,
		// A redirect of a signed POST is a misconfiguration to surface,
		// not to follow (a 301 or 302 would turn it into a GET).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Deliver POSTs ev as JSON, signed in SignatureHeader, and succeeds on a 2xx
// answer. Anything else fails the attempt: the workflow's retry policy
// retries it with backoff, except a refusal (ErrWebhookRejected) and a worker
// without URL (ErrWebhookNotConfigured), which are not retryable. A
// Retry-After header on the answer sets the delay before the next attempt.
func (w *Webhook) Deliver(ctx context.Context, ev Event) error {
	if !w.cfg.Enabled() {
		return temporal.NewNonRetryableApplicationError(
			"no webhook URL is configured on this worker", ErrWebhookNotConfigured, nil)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		// Only an invalid URL gets here, which Validate refuses; the error
		// is not quoted since it may hold the URL's credentials.
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("build the request of event %s: invalid webhook URL", ev.ID), ErrWebhookRejected, nil)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(SignatureHeader, Sign([]byte(w.cfg.Secret), body))
	req.Header.Set(EventIDHeader, ev.ID)
	req.Header.Set(EventTypeHeader, string(ev.Type))

	resp, err := w.client.Do(req)
	if err != nil {
		// The client's *url.Error has any password in the URL stripped.
		return temporal.NewApplicationErrorWithCause(
			fmt.Sprintf("deliver event %s: %v", ev.ID, err), ErrWebhookUnavailable, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxSnippet))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))

	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	msg := fmt.Sprintf("webhook receiver answered %s to event %s", resp.Status, ev.ID)
	if s := strings.TrimSpace(strings.ToValidUTF8(string(snippet), "")); s != "" {
		msg += ": " + s
	}
	if code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests {
		return temporal.NewNonRetryableApplicationError(msg, ErrWebhookRejected, nil, code)
	}
	return temporal.NewApplicationErrorWithOptions(msg, ErrWebhookUnavailable, temporal.ApplicationErrorOptions{
		Details:        []any{code},
		NextRetryDelay: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
	})
}

// retryAfter reads a Retry-After value, delay-seconds or an HTTP date, as a
// delay from now, capped at maxRetryAfter. Zero, for a missing, malformed or
// past value, leaves the delay to the retry policy.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now)
	}
	return max(0, min(d, maxRetryAfter))
}
