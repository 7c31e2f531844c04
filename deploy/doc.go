// Package deploy keeps odrflow's deployment files honest. It has no code of
// its own: its tests load docker-compose.yml and the Dockerfile at the module
// root, since no Docker daemon runs where the tests do, and check what
// `docker compose up` depends on: the service graph and start order, the
// images and that their versions follow go.mod, health checks, published
// ports, environment and volumes.
//
// Beside the tests live what the deployment files use: temporal/, the
// Temporal server's dynamic config (which `make test-cluster` also runs
// with), and healthcheck/, the probe the distroless image's health checks
// run.
package deploy
