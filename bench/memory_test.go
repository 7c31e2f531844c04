package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseVmRSS(t *testing.T) {
	status := []byte("Name:\todr\nVmPeak:\t  999 kB\nVmRSS:\t  123456 kB\nThreads:\t12\n")
	rss, err := parseVmRSS(status)
	require.NoError(t, err)
	assert.Equal(t, uint64(123456*1024), rss)

	_, err = parseVmRSS([]byte("Name:\todr\n"))
	assert.EqualError(t, err, "no VmRSS line in process status")
	_, err = parseVmRSS([]byte("VmRSS:\t12 MB\n"))
	assert.Error(t, err)
}

func TestParseLoadAvg(t *testing.T) {
	assert.Equal(t, 2.25, parseLoadAvg([]byte("2.25 1.50 0.75 3/456 7890\n")))
	assert.Equal(t, 0.0, parseLoadAvg([]byte("")))
	assert.Equal(t, 0.0, parseLoadAvg([]byte("x y")))
}

func TestProcessMemory(t *testing.T) {
	m, err := ProcessMemory()
	require.NoError(t, err)
	assert.Positive(t, m.HeapAlloc)
	assert.GreaterOrEqual(t, m.HeapInuse, m.HeapAlloc)
	assert.GreaterOrEqual(t, m.Sys, m.HeapInuse)
}

func TestConfigValidate(t *testing.T) {
	assert.NoError(t, DefaultConfig().Validate())
	c := DefaultConfig()
	c.Concurrency, c.Rounds, c.RequestTimeout = 0, 0, 0
	assert.EqualError(t, c.Validate(), "concurrency 0: want at least 1\nrounds 0: want at least 1\nrequest timeout must be positive")
	c = DefaultConfig()
	c.Duration, c.Scale = 0, 0
	assert.EqualError(t, c.Validate(), "nothing to measure: duration and scale are both 0")
	c.Scale = 10
	c.Rounds = 0
	assert.NoError(t, c.Validate(), "a scale-only run needs no rounds")
	c.Warmup = -time.Second
	assert.EqualError(t, c.Validate(), "duration and warm-up must not be negative")
}
