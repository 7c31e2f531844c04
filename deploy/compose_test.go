package deploy

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	composeFile = "../docker-compose.yml"
	adminToken  = "test-admin-token"
)

// loadCompose loads docker-compose.yml the way `docker compose` does
// (interpolation, normalization, schema validation), with env as the whole
// environment so that the result does not depend on the machine's.
func loadCompose(t *testing.T, env ...string) *types.Project {
	t.Helper()
	p, err := loadComposeErr(env...)
	require.NoError(t, err)
	return p
}

func loadComposeErr(env ...string) (*types.Project, error) {
	opts, err := cli.NewProjectOptions([]string{composeFile},
		cli.WithWorkingDirectory(".."),
		cli.WithEnv(env),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	require.NoError(t, err)
	return s
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	return root
}

// goModVersion returns the version go.mod requires of module.
func goModVersion(t *testing.T, module string) string {
	t.Helper()
	b, err := os.ReadFile("../go.mod")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + `\s+(v\S+)`).FindSubmatch(b)
	require.NotNil(t, m, "go.mod requires %s", module)
	return string(m[1])
}

func TestComposeServiceGraph(t *testing.T) {
	p := loadCompose(t, "ODR_ADMIN_TOKEN="+adminToken)
	assert.Equal(t, "odrflow", p.Name)
	names := p.ServiceNames()
	slices.Sort(names)
	assert.Equal(t, []string{
		"odr-api", "odr-setup", "odr-worker", "postgresql", "temporal",
		"temporal-namespace", "temporal-schema", "temporal-ui",
	}, names)

	// The start order: each service waits for exactly these, in this state.
	const (
		healthy   = types.ServiceConditionHealthy
		completed = types.ServiceConditionCompletedSuccessfully
	)
	want := map[string]map[string]string{
		"postgresql":         {},
		"temporal-schema":    {"postgresql": healthy},
		"temporal":           {"temporal-schema": completed},
		"temporal-namespace": {"temporal": healthy},
		"temporal-ui":        {"temporal": healthy},
		"odr-setup":          {"temporal-namespace": completed},
		"odr-api":            {"odr-setup": completed},
		"odr-worker":         {"odr-setup": completed},
	}
	for name, deps := range want {
		got := map[string]string{}
		for dep, d := range service(t, p, name).DependsOn {
			got[dep] = d.Condition
			assert.True(t, d.Required, "%s -> %s is required", name, dep)
		}
		assert.Equal(t, deps, got, "depends_on of %s", name)
	}

	// One-shot jobs retry a bounded number of times and then stay failed, so
	// that what waits on them never starts on a half-set-up cluster; the
	// long-running services come back after a crash.
	restart := map[string]string{
		"temporal-schema": "on-failure:5", "temporal-namespace": "on-failure:10", "odr-setup": "on-failure:10",
		"postgresql": "unless-stopped", "temporal": "unless-stopped", "temporal-ui": "unless-stopped",
		"odr-api": "unless-stopped", "odr-worker": "unless-stopped",
	}
	for name, policy := range restart {
		assert.Equal(t, policy, service(t, p, name).Restart, "restart policy of %s", name)
	}
	worker := service(t, p, "odr-worker")
	assert.Equal(t, 2, worker.GetScale(), "two workers share the task queue")
}

func TestComposeImagesFollowGoMod(t *testing.T) {
	p := loadCompose(t, "ODR_ADMIN_TOKEN="+adminToken)
	server := strings.TrimPrefix(goModVersion(t, "go.temporal.io/server"), "v")
	ui := strings.TrimPrefix(goModVersion(t, "github.com/temporalio/ui-server/v2"), "v")
	want := map[string]string{
		"postgresql":         "postgres:15.18-bookworm",
		"temporal-schema":    "temporalio/admin-tools:" + server,
		"temporal":           "temporalio/server:" + server,
		"temporal-namespace": "temporalio/admin-tools:" + server,
		"temporal-ui":        "temporalio/ui:" + ui,
		"odr-setup":          "odrflow/odr:dev",
		"odr-api":            "odrflow/odr:dev",
		"odr-worker":         "odrflow/odr:dev",
	}
	for name, image := range want {
		assert.Equal(t, image, service(t, p, name).Image, "image of %s", name)
	}
	// odrflow's own services are built from the Dockerfile at the root;
	// ODR_VERSION names the image and stamps the binary.
	p = loadCompose(t, "ODR_ADMIN_TOKEN="+adminToken, "ODR_VERSION=v1.2.3")
	for _, name := range []string{"odr-setup", "odr-api", "odr-worker"} {
		s := service(t, p, name)
		assert.Equal(t, "odrflow/odr:v1.2.3", s.Image)
		require.NotNil(t, s.Build, "%s is built", name)
		assert.Equal(t, repoRoot(t), s.Build.Context)
		assert.Equal(t, "Dockerfile", s.Build.Dockerfile)
		assert.Equal(t, map[string]string{"VERSION": "v1.2.3"}, stringMap(s.Build.Args))
	}
}

func TestComposeCommands(t *testing.T) {
	p := loadCompose(t, "ODR_ADMIN_TOKEN="+adminToken)
	assert.Equal(t, types.ShellCommand{"setup"}, service(t, p, "odr-setup").Command)
	assert.Equal(t, types.ShellCommand{"worker", "--metrics-addr", "0.0.0.0:9464"}, service(t, p, "odr-worker").Command)
	assert.Equal(t, types.ShellCommand{
		"api", "--http-addr=0.0.0.0:8080", "--admin-addr=0.0.0.0:8081",
		"--registry=/etc/odr/institutions/institutions.yaml",
	}, service(t, p, "odr-api").Command)

	// The schema job creates both databases and migrates them with the
	// schemas compiled into temporal-sql-tool ($$ is compose's escape for $).
	schema := service(t, p, "temporal-schema")
	assert.Equal(t, types.ShellCommand{"/bin/sh", "-euc"}, schema.Entrypoint)
	require.Len(t, schema.Command, 1)
	script := schema.Command[0]
	for _, line := range []string{
		`for schema in temporal visibility; do`,
		`db=temporal; [ "$schema" = visibility ] && db=temporal_visibility`,
		`temporal-sql-tool --db "$db" create-database`,
		`temporal-sql-tool --db "$db" setup-schema -v 0.0`,
		`temporal-sql-tool --db "$db" update-schema --schema-name "postgresql/v12/$schema"`,
	} {
		assert.Contains(t, script, line+"\n")
	}
	ns := service(t, p, "temporal-namespace")
	assert.Equal(t, types.ShellCommand{"/bin/sh", "-euc"}, ns.Entrypoint)
	assert.Equal(t, types.ShellCommand{
		"temporal operator namespace describe --namespace default >/dev/null 2>&1 ||\n" +
			"  temporal operator namespace create --namespace default --retention 720h\n",
	}, ns.Command)
}

func TestComposeHealthChecks(t *testing.T) {
	p := loadCompose(t, "ODR_ADMIN_TOKEN="+adminToken)
	want := map[string][]string{
		"postgresql":  {"CMD", "pg_isready", "--username", "temporal", "--dbname", "postgres"},
		"temporal":    {"CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:7243/api/v1/cluster-info"},
		"temporal-ui": {"CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"},
		"odr-api":     {"CMD", "/usr/local/bin/healthcheck", "http://127.0.0.1:8080/readyz"},
		"odr-worker":  {"CMD", "/usr/local/bin/healthcheck", "http://127.0.0.1:9464/healthz"},
	}
	for _, name := range p.ServiceNames() {
		hc := service(t, p, name).HealthCheck
		test, ok := want[name]
		if !ok {
			assert.Nil(t, hc, "%s is a one-shot job: what waits on it waits for it to complete", name)
			continue
		}
		require.NotNil(t, hc, "%s has a health check", name)
		assert.Equal(t, types.HealthCheckTest(test), hc.Test, "health check of %s", name)
		assert.False(t, hc.Disable)
		require.NotNil(t, hc.Interval)
		require.NotNil(t, hc.Timeout)
		require.NotNil(t, hc.Retries)
		assert.LessOrEqual(t, time.Duration(*hc.Timeout), time.Duration(*hc.Interval), "%s: timeout within the interval", name)
	}
	// Stopping waits for the graceful drain: the API's shutdown gives
	// in-flight requests 30 s.
	for name, grace := range map[string]time.Duration{"odr-api": 40 * time.Second, "odr-worker": 30 * time.Second} {
		s := service(t, p, name)
		require.NotNil(t, s.StopGracePeriod, name)
		assert.Equal(t, grace, time.Duration(*s.StopGracePeriod), "stop_grace_period of %s", name)
	}
}

func TestComposePorts(t *testing.T) {
	p := loadCompose(t, "ODR_ADMIN_TOKEN="+adminToken)
	type port struct {
		host, published string
		target          uint32
	}
	want := map[string][]port{
		"temporal":    {{"127.0.0.1", "7233", 7233}},
		"temporal-ui": {{"127.0.0.1", "8233", 8080}},
		"odr-api":     {{"127.0.0.1", "8080", 8080}, {"127.0.0.1", "8081", 8081}},
	}
	for _, name := range p.ServiceNames() {
		var got []port
		for _, pc := range service(t, p, name).Ports {
			assert.Equal(t, "tcp", pc.Protocol)
			got = append(got, port{pc.HostIP, pc.Published, pc.Target})
		}
		assert.Equal(t, want[name], got, "published ports of %s (loopback only)", name)
	}
}

func TestComposeEnvironment(t *testing.T) {
	p := loadCompose(t, "ODR_ADMIN_TOKEN="+adminToken, "POSTGRES_PASSWORD=s3cret")
	env := func(name string) map[string]string { return stringMap(service(t, p, name).Environment) }

	assert.Equal(t, map[string]string{"POSTGRES_USER": "temporal", "POSTGRES_PASSWORD": "s3cret"}, env("postgresql"))
	assert.Equal(t, map[string]string{
		"SQL_PLUGIN": "postgres12", "SQL_HOST": "postgresql", "SQL_PORT": "5432",
		"SQL_USER": "temporal", "SQL_PASSWORD": "s3cret",
	}, env("temporal-schema"))
	assert.Equal(t, map[string]string{
		"DB": "postgres12", "DB_PORT": "5432", "POSTGRES_SEEDS": "postgresql",
		"POSTGRES_USER": "temporal", "POSTGRES_PWD": "s3cret",
		"BIND_ON_IP": "0.0.0.0", "NUM_HISTORY_SHARDS": "4",
		"DYNAMIC_CONFIG_FILE_PATH": "/etc/temporal/config/dynamicconfig/odrflow.yaml",
	}, env("temporal"))
	assert.Equal(t, map[string]string{"TEMPORAL_ADDRESS": "temporal:7233"}, env("temporal-namespace"))

	client := map[string]string{"TEMPORAL_ADDRESS": "temporal:7233", "TEMPORAL_NAMESPACE": "default"}
	assert.Equal(t, client, env("odr-setup"))
	assert.Equal(t, merge(client, map[string]string{"ODR_ADMIN_TOKEN": adminToken}), env("odr-api"))
	assert.Equal(t, merge(client, map[string]string{"ODR_ROLE_POLICY": "open"}), env("odr-worker"))
	p = loadCompose(t, "ODR_ADMIN_TOKEN="+adminToken, "ODR_ROLE_POLICY=strict")
	assert.Equal(t, "strict", stringMap(service(t, p, "odr-worker").Environment)["ODR_ROLE_POLICY"])
}

// The admin API refuses to start without its token; compose says so before
// anything starts.
func TestComposeRequiresAdminToken(t *testing.T) {
	_, err := loadComposeErr()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "set ODR_ADMIN_TOKEN, the admin API's bearer token")
}

// Every write action the UI version in go.mod can disable is disabled: the
// list comes from ui-server's own docker config template, so a UI upgrade
// that adds an action fails here until compose disables it too.
func TestComposeUIIsReadOnly(t *testing.T) {
	p := loadCompose(t, "ODR_ADMIN_TOKEN="+adminToken)
	env := stringMap(service(t, p, "temporal-ui").Environment)

	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/temporalio/ui-server/v2").Output()
	require.NoError(t, err, "locate ui-server in the module cache")
	template, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "config", "docker.yaml"))
	require.NoError(t, err)
	var flags []string
	for _, m := range regexp.MustCompile(`env "(TEMPORAL_[A-Z_]*_DISABLED|TEMPORAL_DISABLE_WRITE_ACTIONS)"`).FindAllSubmatch(template, -1) {
		flags = append(flags, string(m[1]))
	}
	require.Contains(t, flags, "TEMPORAL_DISABLE_WRITE_ACTIONS")
	require.Contains(t, flags, "TEMPORAL_WORKFLOW_TERMINATE_DISABLED")
	for _, f := range flags {
		if f == "TEMPORAL_REFRESH_WORKFLOW_COUNTS_DISABLED" {
			continue // a read, not a write
		}
		assert.Equal(t, "true", env[f], "temporal-ui sets %s", f)
	}
	assert.Equal(t, "temporal:7233", env["TEMPORAL_ADDRESS"])
	assert.Equal(t, "default", env["TEMPORAL_DEFAULT_NAMESPACE"])
	assert.Equal(t, "8080", env["TEMPORAL_UI_PORT"])
}

func TestComposeVolumes(t *testing.T) {
	p := loadCompose(t, "ODR_ADMIN_TOKEN="+adminToken)
	root := repoRoot(t)
	type mount struct {
		typ, source, target string
		readOnly            bool
	}
	mounts := func(name string) []mount {
		var out []mount
		for _, v := range service(t, p, name).Volumes {
			out = append(out, mount{v.Type, v.Source, v.Target, v.ReadOnly})
		}
		return out
	}
	// PostgreSQL keeps its data in a named volume, which outlives containers.
	assert.Equal(t, []mount{{"volume", "pgdata", "/var/lib/postgresql/data", false}}, mounts("postgresql"))
	require.Contains(t, p.Volumes, "pgdata")

	temporal := service(t, p, "temporal")
	dc := filepath.Join(root, "deploy", "temporal", "dynamicconfig.yaml")
	assert.Equal(t, []mount{{"bind", dc, *temporal.Environment["DYNAMIC_CONFIG_FILE_PATH"], true}}, mounts("temporal"))
	assert.FileExists(t, dc)

	// The API's --registry is inside the mounted directory.
	assert.Equal(t, []mount{{"bind", filepath.Join(root, "institutions"), "/etc/odr/institutions", true}}, mounts("odr-api"))
	p = loadCompose(t, "ODR_ADMIN_TOKEN="+adminToken, "ODR_REGISTRY_DIR=/srv/odr/registry")
	assert.Equal(t, "/srv/odr/registry", p.Services["odr-api"].Volumes[0].Source)
}

// The image builds with the toolchain the Makefile and CI pin, statically,
// and runs as a non-root user; compose runs the paths it installs.
func TestDockerfile(t *testing.T) {
	df := readDockerfile(t, "../Dockerfile")
	toolchain := makefileToolchain(t)
	assert.Equal(t, "go"+df.args["GO_VERSION"], toolchain, "Dockerfile GO_VERSION matches the Makefile's GOTOOLCHAIN")
	ci, err := os.ReadFile("../.ci/run")
	require.NoError(t, err)
	assert.Contains(t, string(ci), "export GOTOOLCHAIN="+toolchain+"\n")

	assert.Equal(t, []string{"golang:${GO_VERSION} AS build", "gcr.io/distroless/static-debian12:nonroot"}, df.from)
	assert.Equal(t, []string{"nonroot:nonroot"}, df.user)
	assert.Contains(t, df.env, "GOTOOLCHAIN=local CGO_ENABLED=0")
	assert.Equal(t, `["/usr/local/bin/odr"]`, df.entrypoint)
	assert.Contains(t, df.run, `-o /out/odr ./cmd/odr`)
	assert.Contains(t, df.run, `-o /out/healthcheck ./deploy/healthcheck`)
	assert.Contains(t, df.copy, "--from=build /out/odr /out/healthcheck /usr/local/bin/")

	ignore, err := os.ReadFile("../.dockerignore")
	require.NoError(t, err)
	for _, pattern := range []string{".git", ".odr", "bin", "institutions", "**/*.pem"} {
		assert.Contains(t, strings.Split(string(ignore), "\n"), pattern, ".dockerignore keeps %s out of the build context", pattern)
	}
}

// dockerfile is the instructions of a Dockerfile that the test checks,
// continuation lines joined.
type dockerfile struct {
	args                       map[string]string
	from, user                 []string
	env, run, copy, entrypoint string
}

func readDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	df := dockerfile{args: map[string]string{}}
	var logical string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && logical == "") {
			continue
		}
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			logical += strings.TrimSpace(rest) + " "
			continue
		}
		logical += line
		instr, rest, _ := strings.Cut(logical, " ")
		logical = ""
		switch strings.ToUpper(instr) {
		case "ARG":
			k, v, _ := strings.Cut(rest, "=")
			df.args[k] = v
		case "FROM":
			df.from = append(df.from, rest)
		case "USER":
			df.user = append(df.user, rest)
		case "ENV":
			df.env += rest + "\n"
		case "RUN":
			df.run += rest + "\n"
		case "COPY":
			df.copy += rest + "\n"
		case "ENTRYPOINT":
			df.entrypoint = rest
		}
	}
	require.NoError(t, sc.Err())
	return df
}

func makefileToolchain(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../Makefile")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^export GOTOOLCHAIN := (go\S+)$`).FindSubmatch(b)
	require.NotNil(t, m, "the Makefile pins GOTOOLCHAIN")
	return string(m[1])
}

func stringMap[M ~map[string]*string](m M) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

func merge(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
