// Package spectest holds SPEC §2's table of legal transitions written out a
// second time, by hand, for tests: the dispute rules and the workflow are
// checked against the specification, not against the table they are built
// from.
package spectest

import "github.com/odrflow/odrflow/dispute"

// Legal holds exactly the legal (from, to) pairs of SPEC §2.
var Legal = map[[2]dispute.Status]bool{
	{"TRANSFERRED", "CON_INIT"}: true, {"TRANSFERRED", "ARB_INIT"}: true,
	{"TRANSFERRED", "PRECON_RES"}: true, {"TRANSFERRED", "WD"}: true,
	{"CON_INIT", "CON_PROG"}: true, {"CON_INIT", "CON_RES"}: true,
	{"CON_INIT", "CON_FAIL"}: true, {"CON_INIT", "WD"}: true,
	{"CON_PROG", "CON_RES"}: true, {"CON_PROG", "CON_FAIL"}: true, {"CON_PROG", "WD"}: true,
	{"CON_FAIL", "ARB_INIT"}: true, {"CON_FAIL", "WD"}: true,
	{"ARB_INIT", "ARB_PROG"}: true, {"ARB_INIT", "ARB_RES"}: true, {"ARB_INIT", "WD"}: true,
	{"ARB_PROG", "ARB_RES"}: true, {"ARB_PROG", "WD"}: true,
}
