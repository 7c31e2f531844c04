package workflows_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/odrflow/odrflow/worker"
	"github.com/odrflow/odrflow/workflows"
)

// TestReplayRecordedHistories replays every history recorded from a real
// server under testdata/histories against the current code, so a change that
// would break running disputes (non-determinism) fails the tests.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	// An empty directory fails: replay protection must not silently vanish.
	require.NotEmpty(t, files, "no recorded histories; record them with: go test ./integration -run TestRecordedScenariosReplay -record")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			replayer := sdkworker.NewWorkflowReplayer()
			worker.Register(replayer, workflows.DefaultConfig())
			require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}
