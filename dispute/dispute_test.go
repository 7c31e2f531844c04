package dispute_test

import (
	"errors"
	"testing"

	"github.com/looplab/fsm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/dispute/spectest"
)

func TestStatusListsAndDescriptions(t *testing.T) {
	assert.Equal(t, []dispute.Status{
		"TRANSFERRED", "WD", "PRECON_RES", "CON_INIT", "CON_PROG", "CON_FAIL", "CON_RES", "ARB_INIT", "ARB_PROG", "ARB_RES",
	}, dispute.AllStatuses())
	assert.Equal(t, []dispute.Status{
		"WD", "PRECON_RES", "CON_INIT", "CON_PROG", "CON_FAIL", "CON_RES", "ARB_INIT", "ARB_PROG", "ARB_RES",
	}, dispute.ReportableStatuses())

	want := map[dispute.Status]string{
		"TRANSFERRED": "Transferred to ODR Institution",
		"WD":          "Dispute Withdrawn",
		"PRECON_RES":  "Dispute Resolved Preconciliation",
		"CON_INIT":    "Conciliation Initiated",
		"CON_PROG":    "Conciliation In Progress",
		"CON_FAIL":    "Conciliation Failed",
		"CON_RES":     "Dispute Resolved Conciliation",
		"ARB_INIT":    "Arbitration Initiated",
		"ARB_PROG":    "Arbitration In Progress",
		"ARB_RES":     "Dispute Resolved Arbitration",
	}
	for _, s := range dispute.AllStatuses() {
		assert.Equal(t, want[s], s.Description(), s)
	}
	assert.Equal(t, "", dispute.Status("con_init").Description(), "descriptions are for canonical values only")

	// Mutating a returned list must not change the package's.
	l := dispute.ReportableStatuses()
	l[0] = "X"
	assert.Equal(t, dispute.WD, dispute.ReportableStatuses()[0])
}

func TestFinal(t *testing.T) {
	final := map[dispute.Status]bool{"WD": true, "PRECON_RES": true, "CON_RES": true, "ARB_RES": true}
	for _, s := range dispute.AllStatuses() {
		assert.Equal(t, final[s], s.Final(), s)
	}
	assert.False(t, dispute.Status("NOPE").Final())
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		in      string
		want    dispute.Status
		wantErr string
	}{
		{"CON_INIT", dispute.ConInit, ""},
		{"con_init", dispute.ConInit, ""},
		{"  Arb_Prog\t", dispute.ArbProg, ""},
		{"wd", dispute.WD, ""},
		{"precon_res", dispute.PreconRes, ""},
		{"", "", "status is empty"},
		{"   ", "", "status is empty"},
		{"transferred", "", `status "transferred" is internal and cannot be reported`},
		{"CLOSED", "", `unknown status "CLOSED" (want one of WD, PRECON_RES, CON_INIT, CON_PROG, CON_FAIL, CON_RES, ARB_INIT, ARB_PROG, ARB_RES)`},
		{"CON INIT", "", `unknown status "CON INIT" (want one of WD, PRECON_RES, CON_INIT, CON_PROG, CON_FAIL, CON_RES, ARB_INIT, ARB_PROG, ARB_RES)`},
	}
	for _, tt := range tests {
		got, err := dispute.ParseStatus(tt.in)
		if tt.wantErr != "" {
			assert.EqualError(t, err, tt.wantErr, "ParseStatus(%q)", tt.in)
			assert.Equal(t, dispute.Status(""), got)
			continue
		}
		assert.NoError(t, err, "ParseStatus(%q)", tt.in)
		assert.Equal(t, tt.want, got, "ParseStatus(%q)", tt.in)
	}
	for _, s := range dispute.ReportableStatuses() {
		got, err := dispute.ParseStatus(string(s))
		require.NoError(t, err)
		assert.Equal(t, s, got)
	}
}

func TestRoles(t *testing.T) {
	assert.Equal(t, []dispute.Role{"MEDIATOR", "ARBITRATOR", "SYSADMIN", "CASEMANAGER", "PETITIONER", "RESPONDENT"}, dispute.Roles())
	assert.Equal(t, "System Administrator", dispute.SysAdmin.Description())
	assert.Equal(t, "Case Manager", dispute.CaseManager.Description())

	tests := []struct {
		in      string
		want    dispute.Role
		wantErr string
	}{
		{"mediator", dispute.Mediator, ""},
		{" CaseManager ", dispute.CaseManager, ""},
		{"RESPONDENT", dispute.Respondent, ""},
		{"", "", "role is empty"},
		{"Administrator", "", `unknown role "Administrator" (want one of MEDIATOR, ARBITRATOR, SYSADMIN, CASEMANAGER, PETITIONER, RESPONDENT)`},
	}
	for _, tt := range tests {
		got, err := dispute.ParseRole(tt.in)
		if tt.wantErr != "" {
			assert.EqualError(t, err, tt.wantErr, "ParseRole(%q)", tt.in)
			continue
		}
		assert.NoError(t, err)
		assert.Equal(t, tt.want, got, "ParseRole(%q)", tt.in)
	}
}

func TestLegalMatchesSpec(t *testing.T) {
	n := 0
	for _, from := range dispute.AllStatuses() {
		for _, to := range dispute.AllStatuses() {
			want := spectest.Legal[[2]dispute.Status{from, to}]
			assert.Equal(t, want, dispute.Legal(from, to), "%s -> %s", from, to)
			if dispute.Legal(from, to) {
				n++
			}
		}
	}
	assert.Equal(t, len(spectest.Legal), n)

	table := dispute.Transitions()
	assert.Equal(t, []dispute.Status{"CON_INIT", "ARB_INIT", "PRECON_RES", "WD"}, table[dispute.Transferred])
	table[dispute.Transferred][0] = dispute.ArbRes
	assert.Equal(t, []dispute.Status{"CON_INIT", "ARB_INIT", "PRECON_RES", "WD"}, dispute.Next(dispute.Transferred),
		"Transitions returns a copy")
	assert.Nil(t, dispute.Next(dispute.ArbRes))
}

func TestMachineFollowsTable(t *testing.T) {
	for _, from := range dispute.AllStatuses() {
		for _, to := range dispute.AllStatuses() {
			legal := spectest.Legal[[2]dispute.Status{from, to}]
			m := dispute.NewMachine(from)
			assert.Equal(t, legal, m.Can(to), "Can %s -> %s", from, to)
			assert.Equal(t, from, m.Current(), "Can must not move the machine")

			err := m.Apply(to)
			if legal {
				assert.NoError(t, err, "%s -> %s", from, to)
				assert.Equal(t, to, m.Current())
				continue
			}
			require.Error(t, err, "%s -> %s", from, to)
			assert.Equal(t, from, m.Current(), "a refused event leaves the machine where it was")
			var invalid fsm.InvalidEventError
			var unknown fsm.UnknownEventError
			switch {
			case to == dispute.Transferred:
				// Nothing leads to TRANSFERRED, so the FSM has no such event.
				assert.True(t, errors.As(err, &unknown), "%s -> %s: %v", from, to, err)
			default:
				assert.True(t, errors.As(err, &invalid), "%s -> %s: %v", from, to, err)
			}
		}
	}
}

func TestMachineWalk(t *testing.T) {
	m := dispute.NewMachine(dispute.Transferred)
	for _, s := range []dispute.Status{dispute.ConInit, dispute.ConProg, dispute.ConFail, dispute.ArbInit, dispute.ArbProg, dispute.ArbRes} {
		require.NoError(t, m.Apply(s))
	}
	assert.Equal(t, dispute.ArbRes, m.Current())
	assert.EqualError(t, m.Apply(dispute.WD), "dispute status ARB_RES -> WD: event WD inappropriate in current state ARB_RES")
}

func TestPolicies(t *testing.T) {
	for in, want := range map[string]dispute.Policy{"open": dispute.PolicyOpen, " STRICT ": dispute.PolicyStrict, "Open": dispute.PolicyOpen} {
		got, err := dispute.ParsePolicy(in)
		assert.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := dispute.ParsePolicy("lenient")
	assert.EqualError(t, err, `unknown role policy "lenient" (want one of open, strict)`)

	// strictAllowed is SPEC §2's strict policy, written out per role.
	strictAllowed := map[dispute.Role][]dispute.Status{
		dispute.Mediator:    {"CON_INIT", "CON_PROG", "CON_FAIL", "CON_RES"},
		dispute.Arbitrator:  {"ARB_INIT", "ARB_PROG", "ARB_RES"},
		dispute.Petitioner:  {"WD"},
		dispute.Respondent:  nil,
		dispute.CaseManager: dispute.ReportableStatuses(),
		dispute.SysAdmin:    dispute.ReportableStatuses(),
	}
	for _, r := range dispute.Roles() {
		allowed := map[dispute.Status]bool{}
		for _, s := range strictAllowed[r] {
			allowed[s] = true
		}
		for _, s := range dispute.ReportableStatuses() {
			assert.Equal(t, allowed[s], dispute.PolicyStrict.Allows(r, s), "strict %s %s", r, s)
			assert.True(t, dispute.PolicyOpen.Allows(r, s), "open %s %s", r, s)
			assert.False(t, dispute.Policy("other").Allows(r, s), "unknown policy %s %s", r, s)
		}
	}
	assert.False(t, dispute.PolicyOpen.Allows("JUDGE", dispute.WD))
	assert.False(t, dispute.PolicyOpen.Allows(dispute.SysAdmin, "NOPE"))
}

func TestErrors(t *testing.T) {
	tests := []struct {
		err      *dispute.Error
		wantType string
		wantMsg  string
	}{
		{dispute.Illegal("D1", dispute.ConInit, dispute.ArbProg), "IllegalTransition", "Illegal transition for Dispute D1: CON_INIT -> ARB_PROG"},
		{dispute.Closed("D1", dispute.WD), "DisputeClosed", "Dispute D1 is closed (status WD)"},
		{dispute.NotFound("D1"), "WrongInstitution", "Dispute D1 not found"},
		{dispute.Forbidden(dispute.Mediator, dispute.ArbInit, dispute.PolicyStrict), "RoleForbidden", "Role MEDIATOR may not set status ARB_INIT under the strict policy"},
		{dispute.Invalid("role is empty"), "InvalidRequest", "role is empty"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.wantType, tt.err.Type)
		assert.EqualError(t, tt.err, tt.wantMsg)
	}
}
