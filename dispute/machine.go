package dispute

import (
	"context"
	"fmt"
	"slices"

	"github.com/looplab/fsm"
)

// transitions is the table of legal transitions of SPEC §2, the only place it
// is written down. Everything else (Next, Legal, Final, the FSM) is derived
// from it. It is an ordered slice so that every derivation iterates in a fixed
// order, which the dispute workflow relies on for determinism.
var transitions = []struct {
	from Status
	to   []Status
}{
	{Transferred, []Status{ConInit, ArbInit, PreconRes, WD}},
	{ConInit, []Status{ConProg, ConRes, ConFail, WD}},
	{ConProg, []Status{ConRes, ConFail, WD}},
	{ConFail, []Status{ArbInit, WD}},
	{ArbInit, []Status{ArbProg, ArbRes, WD}},
	{ArbProg, []Status{ArbRes, WD}},
}

// Transitions returns a copy of the transition table: for each status that
// may be left, the statuses that may follow it.
func Transitions() map[Status][]Status {
	m := make(map[Status][]Status, len(transitions))
	for _, t := range transitions {
		m[t.from] = slices.Clone(t.to)
	}
	return m
}

// Next returns the statuses that may follow from, in table order; none for a
// final or unknown status.
func Next(from Status) []Status {
	for _, t := range transitions {
		if t.from == from {
			return slices.Clone(t.to)
		}
	}
	return nil
}

// Legal reports whether the table allows a dispute in from to move to to. A
// repeat of the current status is not a transition and so is not legal; the
// workflow answers it separately.
func Legal(from, to Status) bool {
	return slices.Contains(Next(from), to)
}

// Machine is the state machine of one dispute: a looplab/fsm FSM whose event
// names are the target statuses, built from the transition table. Reporting
// status X fires event X, which is defined exactly from the statuses the table
// lets X follow.
//
// The FSM is built without callbacks and is only ever driven with
// context.Background(): with no callbacks, no transition is asynchronous or
// cancelable, and with a context that is never done, looplab/fsm's internal
// context.WithCancel starts no goroutine. That is what makes it safe inside a
// Temporal workflow (see workflowcheck.config.yaml at the module root).
//
// A Machine is not safe for use by multiple goroutines; a workflow run owns
// its machine.
type Machine struct {
	fsm *fsm.FSM
}

// events is the table inverted into one FSM event per target status, in
// a fixed order: by target in AllStatuses order, sources in table order.
func events() fsm.Events {
	var evs fsm.Events
	for _, to := range AllStatuses() {
		var src []string
		for _, t := range transitions {
			if slices.Contains(t.to, to) {
				src = append(src, string(t.from))
			}
		}
		if len(src) > 0 {
			evs = append(evs, fsm.EventDesc{Name: string(to), Src: src, Dst: string(to)})
		}
	}
	return evs
}

// NewMachine returns the state machine of a dispute currently in status
// current.
func NewMachine(current Status) *Machine {
	return &Machine{fsm: fsm.NewFSM(string(current), events(), nil)}
}

// Current returns the status the machine is in.
func (m *Machine) Current() Status {
	return Status(m.fsm.Current())
}

// Can reports whether the machine may move to status to. It changes nothing,
// which is why the workflow's update validator may call it.
func (m *Machine) Can(to Status) bool {
	return m.fsm.Can(string(to))
}

// Apply moves the machine to status to, or returns an error and stays where
// it is if the table does not allow it.
func (m *Machine) Apply(to Status) error {
	from := m.Current()
	if err := m.fsm.Event(context.Background(), string(to)); err != nil {
		return fmt.Errorf("dispute status %s -> %s: %w", from, to, err)
	}
	return nil
}
