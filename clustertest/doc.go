// Package clustertest runs odrflow in its production topology on one machine
// and breaks it while it works: `make test-cluster`, or
//
//	go test -tags cluster -count=1 -timeout 40m -v ./clustertest
//
// The test needs no Docker. It builds odr, the Temporal server and
// temporal-sql-tool (the last two from the go.temporal.io/server module in
// go.mod), starts PostgreSQL from the machine's binaries on a loopback port
// in a temporary directory, sets up Temporal's schemas the way
// docker-compose.yml does, and starts the server with the same configuration
// template and dynamic config as the compose file's temporal service. Then
// it registers the namespace, runs `odr setup`, and starts two `odr worker`
// and two `odr api` processes.
//
// Under a steady, paced load of signed status changes spread over both APIs,
// it kills -9 a worker and restarts it, kills -9 the Temporal server and
// restarts it, and stops one API with SIGTERM. Clients retry 503s and lost
// connections with the same Idempotency-Key. At the end every change that
// was answered 200 must be in its dispute's history exactly once, every
// history must be a legal chain from TRANSFERRED ending in the dispute's
// status, and the run prints the load it held, the faults and the counts.
//
// PostgreSQL refuses to run as root; run as root (as CI does), the test runs
// it as the postgres user. The files are test files behind the cluster build
// tag, so `go test ./...` only compiles this doc.
package clustertest
