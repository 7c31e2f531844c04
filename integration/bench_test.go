package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/odrflow/odrflow/bench"
	"github.com/odrflow/odrflow/registry"
)

// runBench runs `odr bench --json` with tiny numbers and decodes its result.
func runBench(t *testing.T, env []string, args ...string) bench.Result {
	t.Helper()
	args = append([]string{"bench", "--json", "--disputes", "10", "--concurrency", "4", "--duration", "2s", "--rounds", "2", "--warmup", "0"}, args...)
	cmd := exec.Command(odrBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "odr bench failed; stderr:\n%s", stderr.String())

	var res bench.Result
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&res), "stdout:\n%s", stdout.String())
	require.False(t, dec.More(), "stdout holds one JSON object")
	return res
}

// assertComparison checks the figures every run must produce.
func assertComparison(t *testing.T, res bench.Result) {
	t.Helper()
	for name, s := range map[string]bench.Stats{"api": res.API, "raw": res.Raw} {
		assert.Zero(t, s.Errors, "%s errors: %v", name, s.ErrorKinds)
		assert.Positive(t, s.Requests, name)
		assert.Positive(t, s.Throughput, name)
		assert.True(t, 0 < s.P50 && s.P50 <= s.P95 && s.P95 <= s.P99, "%s percentiles %v %v %v", name, s.P50, s.P95, s.P99)
	}
	assert.Equal(t, res.API.Requests, res.Raw.Requests, "both sides send the same number of changes")
	assert.InDelta(t, res.API.Throughput/res.Raw.Throughput, res.Ratio, 1e-9)
	assert.Equal(t, 4, res.Run.Concurrency)
	assert.Equal(t, 2, res.Run.Rounds)
	assert.Equal(t, 0, res.Run.InlineSigned)
}

// TestBenchSelfContained runs the whole benchmark against its own embedded
// stack, scale figures included.
func TestBenchSelfContained(t *testing.T) {
	res := runBench(t, nil, "--scale", "20", "--list-calls", "3")
	assertComparison(t, res)
	assert.Equal(t, "embedded", res.Run.Mode)
	assert.Equal(t, "FULL", res.Run.Settings["sqlite.synchronous"], "the durable default is what is measured")

	require.NotNil(t, res.Breakdown, "the embedded stack's metrics explain the latency")
	assert.Equal(t, 1.0, res.Breakdown.API.WorkflowTasksPerChange, "one workflow task per update")
	assert.Positive(t, res.Breakdown.API.UpdateMS)
	assert.Greater(t, res.Breakdown.API.ClientMS, res.Breakdown.API.UpdateMS, "the caller waits for the update and more")
	assert.Positive(t, res.Breakdown.VerifyMS)

	s := res.Scale
	require.NotNil(t, s)
	assert.Equal(t, 20, s.Disputes)
	assert.Zero(t, s.Errors)
	assert.Positive(t, s.StartsPerSecond)
	assert.Positive(t, s.PersistenceBytesPerDispute)
	require.NotNil(t, s.Memory)
	assert.Positive(t, s.Memory.After.HeapInuse)
	l := s.ListByStatus
	assert.Equal(t, bench.ListLatency{Status: "TRANSFERRED", PageSize: 50, Calls: 3, Returned: l.Returned, P50: l.P50, P95: l.P95}, l)
	assert.GreaterOrEqual(t, l.Returned, 20, "the scale disputes are listed as TRANSFERRED")
	assert.Positive(t, l.P50)
}

// TestBenchAgainstRunningDeployment measures a running `odr dev` the way
// an operator measures a deployment: through its URLs, its registry file
// and TEMPORAL_ADDRESS.
func TestBenchAgainstRunningDeployment(t *testing.T) {
	dataDir := t.TempDir()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	temporalPort := freePort(t)
	const token = "bench-admin-token-0123456789"
	dev := startDev(t, dataDir, []string{"ODR_ADMIN_TOKEN=" + token},
		"--http-addr", httpAddr, "--admin-addr", adminAddr, "--temporal-port", fmt.Sprint(temporalPort), "--ui-port", "0",
		// The benchmark's one key would hit the default 100/s per key.
		"--rate-limit", "0")
	dev.waitLine(t, "odr dev ready", 3*time.Minute)

	registryPath := filepath.Join(dataDir, "institutions.yaml")
	res := runBench(t, []string{"ODR_ADMIN_TOKEN=" + token, fmt.Sprintf("TEMPORAL_ADDRESS=127.0.0.1:%d", temporalPort)},
		"--url", "http://"+httpAddr, "--admin-url", "http://"+adminAddr, "--registry", registryPath)
	assertComparison(t, res)
	assert.Equal(t, "remote", res.Run.Mode)
	assert.Nil(t, res.Breakdown, "a remote stack's metrics are not visible")

	keys, err := registry.List(registryPath)
	require.NoError(t, err)
	var benchKeys int
	for _, k := range keys {
		if strings.HasPrefix(k.InstitutionID, "BENCH-") {
			benchKeys++
			assert.True(t, k.Revoked, "the throw-away key %s is revoked after the run", k.ID)
		}
	}
	assert.Equal(t, 1, benchKeys)
	dev.stop(t)
}

func TestBenchRefusesTuningARemoteDeployment(t *testing.T) {
	out, err := exec.Command(odrBinary(t), "bench", "--url", "http://127.0.0.1:1", "--sticky-cache", "10").CombinedOutput()
	require.Error(t, err)
	assert.Equal(t, "odr: --sticky-cache tunes the self-contained stack and cannot be used with --url\n", string(out))
}
