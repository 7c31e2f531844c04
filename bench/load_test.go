package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/odrflow/odrflow/dispute"
)

// TestWalkIsLegalUnderEveryPolicy guards the benchmark against measuring
// refusals: every step must be a legal transition its role may make under
// both role policies, and the walk must end in a final status.
func TestWalkIsLegalUnderEveryPolicy(t *testing.T) {
	require.Len(t, Walk, 6)
	from := dispute.Transferred
	for i, s := range Walk {
		assert.True(t, dispute.Legal(from, s.Status), "step %d: %s -> %s", i, from, s.Status)
		for _, p := range dispute.Policies() {
			assert.True(t, p.Allows(s.Role, s.Status), "step %d: policy %s forbids %s to set %s", i, p, s.Role, s.Status)
		}
		assert.False(t, s.Status.Final() && i < len(Walk)-1, "step %d: %s is final before the walk ends", i, s.Status)
		from = s.Status
	}
	assert.True(t, from.Final(), "the walk ends in %s, which is not final", from)
}

// fakeDeployment records the changes it receives and checks each dispute
// moves along Walk, as the workflow would.
type fakeDeployment struct {
	mu        sync.Mutex
	status    map[string]int // dispute -> steps applied
	transfers int
	refuse    func(id string, step int) error // nil accepts all
}

func newFake() *fakeDeployment { return &fakeDeployment{status: map[string]int{}} }

func (f *fakeDeployment) Transfer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.status[id]; ok {
		return fmt.Errorf("dispute %s transferred twice", id)
	}
	f.status[id] = 0
	f.transfers++
	return nil
}

func (f *fakeDeployment) Change(_ context.Context, id string, s Step) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	step, ok := f.status[id]
	switch {
	case !ok:
		return &httpError{status: 404, code: "dispute_not_found"}
	case step >= len(Walk) || Walk[step] != s:
		return &httpError{status: 409, code: "illegal_transition"}
	}
	if f.refuse != nil {
		if err := f.refuse(id, step); err != nil {
			return err
		}
	}
	f.status[id] = step + 1
	return nil
}

func TestDriveCountedSendsExactlyTheBudgetAlongTheWalk(t *testing.T) {
	f := newFake()
	p := newPool(f, "t", time.Second)
	ids, err := p.fill(context.Background(), 3, 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"t-000001", "t-000002", "t-000003"}, ids)

	tl := drive(context.Background(), f, p, 4, time.Second, newCounted(50))
	s := tl.stats()
	assert.Equal(t, 50, s.Requests)
	assert.Equal(t, 0, s.Errors, "%v", s.ErrorKinds)

	// Every change went to a dispute in Walk order (the fake refuses any
	// other), so the steps applied add up to the budget; disputes whose
	// walk was cut off by the budget went back to the pool.
	applied, finished := 0, 0
	for _, n := range f.status {
		applied += n
		if n == len(Walk) {
			finished++
		}
	}
	assert.Equal(t, 50, applied)
	assert.GreaterOrEqual(t, finished, 50/len(Walk)-4, "at most one unfinished dispute per client")
	assert.Equal(t, int64(f.transfers-3), p.onDemand.Load(), "the pool ran dry, so the rest were transferred on demand")

	// The next window continues the interrupted disputes where they stopped.
	for _, w := range p.ready {
		assert.Equal(t, f.status[w.id], w.step, "dispute %s", w.id)
		assert.Less(t, w.step, len(Walk))
	}
	tl = drive(context.Background(), f, p, 2, time.Second, newCounted(12))
	assert.Equal(t, 0, tl.stats().Errors, "%v", tl.stats().ErrorKinds)
}

func TestDriveAbandonsADisputeAfterAFailure(t *testing.T) {
	f := newFake()
	f.refuse = func(id string, step int) error {
		if id == "t-000001" && step == 2 {
			return &httpError{status: 503, code: "temporal_unavailable"}
		}
		return nil
	}
	p := newPool(f, "t", time.Second)
	tl := drive(context.Background(), f, p, 1, time.Second, newCounted(9))
	s := tl.stats()
	assert.Equal(t, 9, s.Requests)
	assert.Equal(t, map[string]int{"http 503 temporal_unavailable": 1}, s.ErrorKinds)
	assert.Equal(t, 2, f.status["t-000001"], "the failed dispute is left where it was")
	assert.Equal(t, 6, f.status["t-000002"], "the client went on with a new dispute")
	assert.Equal(t, 0, len(p.ready), "a dispute in an unknown state is never handed out again")
}

func TestDriveDeadlineStopsOnTime(t *testing.T) {
	f := newFake()
	slow := &slowChanger{inner: f, delay: 5 * time.Millisecond}
	p := newPool(f, "t", time.Second)
	start := time.Now()
	tl := drive(context.Background(), slow, p, 3, time.Second, deadline(start.Add(100*time.Millisecond)))
	assert.GreaterOrEqual(t, tl.elapsed, 100*time.Millisecond)
	assert.Less(t, tl.elapsed, 100*time.Millisecond+time.Second, "in-flight changes finish, nothing new starts")
	assert.Positive(t, tl.stats().Requests)
	assert.Equal(t, 0, tl.stats().Errors)
}

type slowChanger struct {
	inner Changer
	delay time.Duration
}

func (s *slowChanger) Change(ctx context.Context, id string, st Step) error {
	time.Sleep(s.delay)
	return s.inner.Change(ctx, id, st)
}

func TestErrorKind(t *testing.T) {
	assert.Equal(t, "http 409 illegal_transition", errorKind(fmt.Errorf("wrapped: %w", &httpError{status: 409, code: "illegal_transition"})))
	assert.Equal(t, "http 502", errorKind(&httpError{status: 502}))
	assert.Equal(t, "timeout", errorKind(context.DeadlineExceeded))
	assert.Equal(t, "timeout", errorKind(&transportError{context.DeadlineExceeded}))
	assert.Equal(t, "transport", errorKind(&transportError{errors.New("connection refused")}))
	assert.Equal(t, "error", errorKind(errors.New("something else")))
}

func TestPoolFillReportsTransferFailures(t *testing.T) {
	p := newPool(transferFunc(func(context.Context, string) error { return errors.New("admin API down") }), "t", time.Second)
	_, err := p.fill(context.Background(), 2, 2)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "admin API down")
	assert.Equal(t, 0, p.len())
}

type transferFunc func(context.Context, string) error

func (f transferFunc) Transfer(ctx context.Context, id string) error { return f(ctx, id) }
