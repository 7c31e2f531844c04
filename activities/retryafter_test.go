package activities

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                  0,
		"0":                 0,
		"-5":                0,
		"30":                30 * time.Second,
		" 30 ":              30 * time.Second,
		"3600":              time.Hour,
		"3601":              time.Hour,
		"99999999999999999": time.Hour,
		"1.5":               0,
		"tomorrow":          0,
		now.Add(45 * time.Second).Format(http.TimeFormat): 45 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
		now.Add(48 * time.Hour).Format(http.TimeFormat):   time.Hour,
	} {
		assert.Equal(t, want, retryAfter(v, now), "Retry-After %q", v)
	}
}
