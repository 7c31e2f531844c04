package workflows_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/dispute/spectest"
	"github.com/odrflow/odrflow/workflows"
)

// specFinal are the final statuses of SPEC §2.
var specFinal = map[dispute.Status]bool{"WD": true, "PRECON_RES": true, "CON_RES": true, "ARB_RES": true}

// pathTo lists the reports that bring a new dispute to each status.
var pathTo = map[dispute.Status][]dispute.Status{
	"TRANSFERRED": nil,
	"WD":          {"WD"},
	"PRECON_RES":  {"PRECON_RES"},
	"CON_INIT":    {"CON_INIT"},
	"CON_PROG":    {"CON_INIT", "CON_PROG"},
	"CON_FAIL":    {"CON_INIT", "CON_FAIL"},
	"CON_RES":     {"CON_INIT", "CON_RES"},
	"ARB_INIT":    {"ARB_INIT"},
	"ARB_PROG":    {"ARB_INIT", "ARB_PROG"},
	"ARB_RES":     {"ARB_INIT", "ARB_RES"},
}

// TestTransitionCrossProduct brings a dispute to each of the 10 statuses and
// reports each of the 9 reportable statuses: exactly SPEC §2's legal pairs
// are applied, repeats are answered without a new history entry, and
// everything else is refused by the validator with the type the API maps.
func TestTransitionCrossProduct(t *testing.T) {
	var applied, repeats, illegal, closed int
	for _, from := range dispute.AllStatuses() {
		for _, to := range dispute.ReportableStatuses() {
			t.Run(fmt.Sprintf("%s->%s", from, to), func(t *testing.T) {
				h := newHarness(t, workflows.DefaultConfig())
				var path []*outcome
				for i, s := range pathTo[from] {
					path = append(path, h.update(time.Duration(i+1)*time.Minute, change(string(s), "CASEMANAGER")))
				}
				at := time.Duration(len(path)+1) * time.Minute
				// Lower case, as the portal's own examples send it.
				got := h.update(at, change(strings.ToLower(string(to)), "sysadmin"))
				st := h.query(at + time.Second)
				h.cancelAt(time.Hour)
				h.runUntilCanceled(transfer())

				for i, o := range path {
					accepted(t, o, string(pathTo[from][i]), false)
				}
				wantHistory := len(path)
				switch {
				case from == to:
					accepted(t, got, string(to), true)
					repeats++
				case spectest.Legal[[2]dispute.Status{from, to}]:
					accepted(t, got, string(to), false)
					assert.Equal(t, string(from), got.res.From)
					wantHistory++
					applied++
					assert.Equal(t, workflows.HistoryEntry{
						From: from, To: to, Role: dispute.SysAdmin, UserName: "Bruce Wayne",
						Email: email, KeyID: keyID, At: t0.Add(at),
					}, st.History[len(st.History)-1])
				case specFinal[from]:
					refused(t, got, dispute.ErrDisputeClosed,
						fmt.Sprintf("Dispute %s is closed (status %s)", disputeID, from))
					closed++
				default:
					refused(t, got, dispute.ErrIllegalTransition,
						fmt.Sprintf("Illegal transition for Dispute %s: %s -> %s", disputeID, from, to))
					illegal++
				}
				assert.Len(t, st.History, wantHistory)
				wantStatus := from
				if spectest.Legal[[2]dispute.Status{from, to}] {
					wantStatus = to
				}
				assert.Equal(t, wantStatus, st.Status)
				assert.Equal(t, wantStatus.Description(), st.StatusDescription)
				assert.Equal(t, specFinal[wantStatus], st.Closed)
			})
		}
	}
	// 18 legal pairs, 9 repeats, 4 final statuses x 8 others closed, and the rest.
	assert.Equal(t, []int{18, 9, 32, 31}, []int{applied, repeats, closed, illegal})
}

func TestRepeatIsIdempotent(t *testing.T) {
	h := newHarness(t, workflows.DefaultConfig())
	first := h.update(time.Minute, change("CON_INIT", "MEDIATOR"))
	again := h.update(2*time.Minute, change("con_init", "mediator"))
	st := h.query(3 * time.Minute)
	h.cancelAt(time.Hour)
	h.runUntilCanceled(transfer())

	accepted(t, first, "CON_INIT", false)
	accepted(t, again, "CON_INIT", true)
	require.Len(t, st.History, 1)
	assert.Equal(t, t0.Add(time.Minute), st.UpdatedAt, "a repeat does not touch the dispute")
	assert.Len(t, h.upserts, 2, "one upsert at start, one for CON_INIT, none for the repeat")
}

func TestWrongInstitution(t *testing.T) {
	h := newHarness(t, workflows.DefaultConfig())
	other := change("CON_INIT", "MEDIATOR")
	other.InstitutionID = "OTHER-ODRI"
	malformed := change("NOT_A_STATUS", "JUDGE")
	malformed.InstitutionID = "OTHER-ODRI"
	none := change("CON_INIT", "MEDIATOR")
	none.InstitutionID = ""

	got := []*outcome{
		h.update(time.Minute, other),
		h.update(2*time.Minute, malformed),
		h.update(3*time.Minute, none),
	}
	st := h.query(4 * time.Minute)
	h.cancelAt(time.Hour)
	h.runUntilCanceled(transfer())

	for _, o := range got {
		refused(t, o, dispute.ErrWrongInstitution, "Dispute "+disputeID+" not found")
	}
	assert.Equal(t, dispute.Transferred, st.Status)
	assert.Empty(t, st.History)
}

func TestInvalidRequest(t *testing.T) {
	h := newHarness(t, workflows.DefaultConfig())
	got := []*outcome{
		h.update(time.Minute, change("bogus", "MEDIATOR")),
		h.update(2*time.Minute, change("transferred", "MEDIATOR")),
		h.update(3*time.Minute, change("CON_INIT", "")),
	}
	h.cancelAt(time.Hour)
	h.runUntilCanceled(transfer())

	refused(t, got[0], dispute.ErrInvalidRequest,
		`unknown status "bogus" (want one of WD, PRECON_RES, CON_INIT, CON_PROG, CON_FAIL, CON_RES, ARB_INIT, ARB_PROG, ARB_RES)`)
	refused(t, got[1], dispute.ErrInvalidRequest, `status "transferred" is internal and cannot be reported`)
	refused(t, got[2], dispute.ErrInvalidRequest, "role is empty")
}

func TestStrictPolicy(t *testing.T) {
	h := newHarness(t, workflows.Config{RolePolicy: dispute.PolicyStrict})
	steps := []struct {
		status, role string
		forbidden    bool
	}{
		{"CON_INIT", "RESPONDENT", true},
		{"CON_INIT", "mediator", false},
		{"CON_FAIL", "ARBITRATOR", true},
		{"CON_FAIL", "MEDIATOR", false},
		{"ARB_INIT", "MEDIATOR", true},
		{"ARB_INIT", "PETITIONER", true},
		{"ARB_INIT", "ARBITRATOR", false},
		{"ARB_PROG", "CASEMANAGER", false},
		{"WD", "ARBITRATOR", true},
		{"WD", "PETITIONER", false},
		{"WD", "RESPONDENT", true}, // even a repeat needs a role allowed to set it
		{"WD", "SYSADMIN", false},
	}
	got := make([]*outcome, len(steps))
	for i, s := range steps {
		got[i] = h.update(time.Duration(i+1)*time.Minute, change(s.status, s.role))
	}
	st := h.query(time.Hour)
	require.NoError(t, h.run(transfer()))

	for i, s := range steps {
		role := strings.ToUpper(s.role)
		if s.forbidden {
			refused(t, got[i], dispute.ErrRoleForbidden,
				fmt.Sprintf("Role %s may not set status %s under the strict policy", role, s.status))
			continue
		}
		accepted(t, got[i], s.status, s.status == "WD" && role == "SYSADMIN")
	}
	var roles []dispute.Role
	for _, e := range st.History {
		roles = append(roles, e.Role)
	}
	assert.Equal(t, []dispute.Role{"MEDIATOR", "MEDIATOR", "ARBITRATOR", "CASEMANAGER", "PETITIONER"}, roles)
	assert.Equal(t, &workflows.Config{
		RolePolicy: "strict", CloseAfter: 7 * 24 * time.Hour, MaxChangesPerRun: 500,
		ConciliationDeadline: 21 * 24 * time.Hour, ConciliationExtensionMax: 10 * 24 * time.Hour, ArbitrationDeadline: 30 * 24 * time.Hour,
	}, st.Config)
}

// TestConfigIsFrozen changes the worker's Config while a dispute runs: the
// dispute keeps the one it started with.
func TestConfigIsFrozen(t *testing.T) {
	wf := &workflows.Workflows{Config: workflows.Config{RolePolicy: dispute.PolicyOpen}}
	h := newHarnessWith(t, func(env *testsuite.TestWorkflowEnvironment) {
		env.RegisterWorkflowWithOptions(wf.DisputeWorkflow, workflow.RegisterOptions{Name: workflows.WorkflowName})
	})
	h.env.RegisterDelayedCallback(func() { wf.Config.RolePolicy = dispute.PolicyStrict }, time.Minute)
	got := h.update(2*time.Minute, change("CON_INIT", "RESPONDENT"))
	h.cancelAt(time.Hour)
	h.runUntilCanceled(transfer())

	accepted(t, got, "CON_INIT", false)
}

func TestInvalidConfigFailsLoudly(t *testing.T) {
	h := newHarness(t, workflows.Config{RolePolicy: "lenient", CloseAfter: -time.Hour})
	err := h.run(transfer())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `invalid dispute workflow config: unknown role policy "lenient" (want one of open, strict)`)
	assert.Contains(t, err.Error(), "close-after -1h0m0s is negative")
	assert.EqualError(t, workflows.Config{MaxChangesPerRun: -1}.Validate(),
		"invalid dispute workflow config: max changes per run -1 is negative")
	assert.NoError(t, workflows.Config{RolePolicy: "STRICT"}.Validate())
	assert.NoError(t, workflows.DefaultConfig().Validate())
}

func TestTransferNeedsIDs(t *testing.T) {
	h := newHarness(t, workflows.DefaultConfig())
	err := h.run(workflows.Input{DisputeID: disputeID})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, dispute.ErrInvalidRequest, appErr.Type())
	assert.Equal(t, "a dispute needs a disputeId and an institutionId", appErr.Message())
}

func TestSignalPath(t *testing.T) {
	h := newHarness(t, workflows.DefaultConfig())
	wrong := change("CON_PROG", "MEDIATOR")
	wrong.InstitutionID = "OTHER-ODRI"
	h.signal(1*time.Minute, change("con_init", "Mediator"))
	h.signal(2*time.Minute, change("ARB_PROG", "MEDIATOR"))
	h.signal(3*time.Minute, wrong)
	h.signal(4*time.Minute, change("CON_INIT", "MEDIATOR")) // repeat: nothing recorded
	h.signal(5*time.Minute, change("", "MEDIATOR"))
	viaUpdate := h.update(6*time.Minute, change("CON_PROG", "MEDIATOR"))
	h.signal(7*time.Minute, change("WD", "PETITIONER"))
	h.signal(8*time.Minute, change("CON_RES", "MEDIATOR"))
	st := h.query(9 * time.Minute)
	h.cancelAt(time.Hour)
	h.runUntilCanceled(transfer())

	accepted(t, viaUpdate, "CON_PROG", false)
	entry := func(from, to dispute.Status, role dispute.Role, at time.Duration) workflows.HistoryEntry {
		return workflows.HistoryEntry{From: from, To: to, Role: role, UserName: "Bruce Wayne", Email: email, KeyID: keyID, At: t0.Add(at)}
	}
	assert.Equal(t, []workflows.HistoryEntry{
		entry("TRANSFERRED", "CON_INIT", "MEDIATOR", time.Minute),
		entry("CON_INIT", "CON_PROG", "MEDIATOR", 6*time.Minute),
		entry("CON_PROG", "WD", "PETITIONER", 7*time.Minute),
	}, st.History)
	rejection := func(c workflows.StatusChange, reason string, at time.Duration) workflows.Rejection {
		return workflows.Rejection{Status: c.Status, Role: c.Role, UserName: c.UserName, Email: c.Email, KeyID: c.KeyID, Reason: reason, At: t0.Add(at)}
	}
	assert.Equal(t, []workflows.Rejection{
		rejection(change("ARB_PROG", "MEDIATOR"), "Illegal transition for Dispute "+disputeID+": CON_INIT -> ARB_PROG", 2*time.Minute),
		rejection(wrong, "Dispute "+disputeID+" not found", 3*time.Minute),
		rejection(change("", "MEDIATOR"), "status is empty", 5*time.Minute),
		rejection(change("CON_RES", "MEDIATOR"), "Dispute "+disputeID+" is closed (status WD)", 8*time.Minute),
	}, st.Rejected)
	assert.Equal(t, dispute.WD, st.Status)
	assert.True(t, st.Closed)
}

func TestRejectedIsBounded(t *testing.T) {
	h := newHarness(t, workflows.Config{MaxChangesPerRun: 1000})
	const n = workflows.MaxRejected + 5
	for i := range n {
		h.signal(time.Duration(i+1)*time.Second, change("ARB_PROG", fmt.Sprintf("role-%d", i)))
	}
	st := h.query(time.Hour)
	h.cancelAt(2 * time.Hour)
	h.runUntilCanceled(transfer())

	require.Len(t, st.Rejected, workflows.MaxRejected)
	assert.Equal(t, "role-5", st.Rejected[0].Role, "the oldest are dropped")
	assert.Equal(t, fmt.Sprintf("role-%d", n-1), st.Rejected[workflows.MaxRejected-1].Role)
}

// TestQueryShape checks the state query's JSON, field by field, against
// SPEC §6.
func TestQueryShape(t *testing.T) {
	h := newHarness(t, workflows.DefaultConfig())
	h.update(time.Minute, change("CON_INIT", "mediator"))
	h.update(2*time.Minute, change("CON_PROG", "MEDIATOR"))
	h.signal(3*time.Minute, change("ARB_RES", "ARBITRATOR"))
	var raw map[string]any
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.QueryState)
		require.NoError(t, err)
		require.NoError(t, v.Get(&raw))
	}, 4*time.Minute)
	h.cancelAt(time.Hour)
	h.runUntilCanceled(transfer())

	got, err := json.Marshal(raw)
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"disputeId": "MII-INV-2024-01-781096",
		"institutionId": "DEMO-ODRI",
		"disputetype": "conciliation",
		"status": "CON_PROG",
		"statusDescription": "Conciliation In Progress",
		"closed": false,
		"transferredAt": "2024-01-15T10:00:00Z",
		"updatedAt": "2024-01-15T10:02:00Z",
		"deadline": "2024-02-05T10:01:00Z",
		"deadlineStage": "conciliation",
		"deadlineBreached": false,
		"extensions": [],
		"missedDeadlines": [],
		"history": [
			{"from": "TRANSFERRED", "to": "CON_INIT", "role": "MEDIATOR", "userName": "Bruce Wayne",
			 "email": "case.manager@demo-odri.example", "keyId": "8c1f0e7a6b2d4c39a0e5f1d2c3b4a596",
			 "at": "2024-01-15T10:01:00Z"},
			{"from": "CON_INIT", "to": "CON_PROG", "role": "MEDIATOR", "userName": "Bruce Wayne",
			 "email": "case.manager@demo-odri.example", "keyId": "8c1f0e7a6b2d4c39a0e5f1d2c3b4a596",
			 "at": "2024-01-15T10:02:00Z"}
		],
		"rejected": [
			{"status": "ARB_RES", "role": "ARBITRATOR", "userName": "Bruce Wayne",
			 "email": "case.manager@demo-odri.example", "keyId": "8c1f0e7a6b2d4c39a0e5f1d2c3b4a596",
			 "reason": "Illegal transition for Dispute MII-INV-2024-01-781096: CON_PROG -> ARB_RES",
			 "at": "2024-01-15T10:03:00Z"}
		],
		"pendingWebhooks": [],
		"webhookFailures": [],
		"eventSeq": 0,
		"config": {"rolePolicy": "open", "closeAfter": 604800000000000, "maxChangesPerRun": 500,
			"conciliationDeadline": 1814400000000000, "conciliationExtensionMax": 864000000000000,
			"arbitrationDeadline": 2592000000000000}
	}`, string(got))
}

func TestSearchAttributeUpserts(t *testing.T) {
	h := newHarness(t, workflows.DefaultConfig())
	h.update(time.Minute, change("CON_INIT", "MEDIATOR"))
	h.update(2*time.Minute, change("CON_INIT", "MEDIATOR")) // repeat
	h.update(3*time.Minute, change("ARB_PROG", "MEDIATOR")) // refused
	h.signal(4*time.Minute, change("CON_FAIL", "MEDIATOR"))
	h.signal(5*time.Minute, change("CON_RES", "MEDIATOR")) // refused
	h.cancelAt(time.Hour)
	h.runUntilCanceled(transfer())

	require.Len(t, h.upserts, 3)

	start := h.upserts[0]
	assert.Equal(t, t0, start.at)
	assert.Equal(t, 5, start.attrs.Size())
	assertKeyword(t, start.attrs, workflows.StatusKey, "TRANSFERRED")
	assertKeyword(t, start.attrs, workflows.TypeKey, "conciliation")
	assertKeyword(t, start.attrs, workflows.InstitutionKey, "DEMO-ODRI")
	breached, ok := start.attrs.GetBool(workflows.DeadlineBreachedKey)
	assert.True(t, ok)
	assert.False(t, breached)
	assertTime(t, start.attrs, t0)

	for i, want := range []struct {
		status string
		at     time.Duration
	}{{"CON_INIT", time.Minute}, {"CON_FAIL", 4 * time.Minute}} {
		u := h.upserts[i+1]
		assert.Equal(t, t0.Add(want.at), u.at)
		assert.Equal(t, 2, u.attrs.Size())
		assertKeyword(t, u.attrs, workflows.StatusKey, want.status)
		assertTime(t, u.attrs, t0.Add(want.at))
	}
}

func assertKeyword(t *testing.T, sa temporal.SearchAttributes, key temporal.SearchAttributeKeyKeyword, want string) {
	t.Helper()
	got, ok := sa.GetKeyword(key)
	assert.True(t, ok, key.GetName())
	assert.Equal(t, want, got, key.GetName())
}

func assertTime(t *testing.T, sa temporal.SearchAttributes, want time.Time) {
	t.Helper()
	got, ok := sa.GetTime(workflows.UpdatedAtKey)
	assert.True(t, ok)
	assert.True(t, want.Equal(got), "DisputeUpdatedAt %v, want %v", got, want)
}

func TestSearchAttributeTypes(t *testing.T) {
	got := map[string]string{}
	for name, typ := range workflows.SearchAttributeTypes() {
		got[name] = typ.String()
	}
	assert.Equal(t, map[string]string{
		"DisputeStatus":           "Keyword",
		"DisputeType":             "Keyword",
		"DisputeInstitution":      "Keyword",
		"DisputeDeadlineBreached": "Bool",
		"DisputeUpdatedAt":        "Datetime",
	}, got)
}

func TestWorkflowID(t *testing.T) {
	assert.Equal(t, "dispute/MII-INV-2024-01-781096", workflows.WorkflowID(disputeID))
}
