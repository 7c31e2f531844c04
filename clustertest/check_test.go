//go:build cluster

package clustertest

import (
	"strings"
	"testing"

	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/workflows"
)

// The end-of-run check catches each way a dispute's state can disagree with
// what its client was told.
func TestDisputeRecordCheck(t *testing.T) {
	s := signer{keyID: "kid", email: "load@cluster-odri.example"}
	entry := func(from, to dispute.Status) workflows.HistoryEntry {
		return workflows.HistoryEntry{From: from, To: to, KeyID: s.keyID, Email: s.email}
	}
	walked := &disputeRecord{id: "D1", transferred: true, accepted: []transition{
		{dispute.Transferred, dispute.ConInit}, {dispute.ConInit, dispute.ConRes},
	}}
	good := workflows.State{
		DisputeID: "D1", InstitutionID: institution, Status: dispute.ConRes, Closed: true,
		History: []workflows.HistoryEntry{entry(dispute.Transferred, dispute.ConInit), entry(dispute.ConInit, dispute.ConRes)},
	}
	tests := []struct {
		name  string
		rec   *disputeRecord
		state func(st *workflows.State)
		want  []string // substrings of the problems, in order
	}{
		{"agrees", walked, func(*workflows.State) {}, nil},
		{"a 200 recorded twice", walked, func(st *workflows.State) {
			st.History = []workflows.HistoryEntry{entry(dispute.Transferred, dispute.ConInit), entry(dispute.ConInit, dispute.ConInit), entry(dispute.ConInit, dispute.ConRes)}
		}, []string{"history[1] CON_INIT->CON_INIT is not a legal transition", "history [TRANSFERRED->CON_INIT CON_INIT->CON_INIT CON_INIT->CON_RES]"}},
		{"a 200 lost", walked, func(st *workflows.State) {
			st.History = st.History[:1]
			st.Status, st.Closed = dispute.ConInit, false
		}, []string{"CON_INIT->CON_RES was answered 200 and is in the history 0 times", "history [TRANSFERRED->CON_INIT], answered 200"}},
		{"a change nobody was told of", &disputeRecord{id: "D1", transferred: true, accepted: walked.accepted[:1]}, func(*workflows.State) {},
			[]string{"history [TRANSFERRED->CON_INIT CON_INIT->CON_RES], answered 200: [TRANSFERRED->CON_INIT]"}},
		{"status off the history", walked, func(st *workflows.State) { st.Status = dispute.ArbInit },
			[]string{"status ARB_INIT, but the history ends in CON_RES"}},
		{"open after a final status", walked, func(st *workflows.State) { st.Closed = false },
			[]string{"closed=false in status CON_RES"}},
		{"broken chain", walked, func(st *workflows.State) { st.History[1].From = dispute.ConProg },
			[]string{"history[1] CON_PROG->CON_RES starts from CON_PROG, the dispute was in CON_INIT",
				"CON_INIT->CON_RES was answered 200 and is in the history 0 times", "history [TRANSFERRED->CON_INIT CON_PROG->CON_RES], answered 200"}},
		{"someone else's change", walked, func(st *workflows.State) { st.History[0].KeyID = "other" },
			[]string{`history[0] attributed to key "other"`}},
		{"another dispute's state", walked, func(st *workflows.State) { st.InstitutionID = "ELSEWHERE" },
			[]string{`state is of dispute "D1" of "ELSEWHERE"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := good
			st.History = append([]workflows.HistoryEntry(nil), good.History...)
			tt.state(&st)
			got := tt.rec.check(st, institution, s)
			if len(got) != len(tt.want) {
				t.Fatalf("check found %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], "D1: ") || !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to name D1 and contain %q", i, got[i], w)
				}
			}
		})
	}
}
