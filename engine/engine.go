// Package engine connects odrflow to the Temporal service that runs its
// workflows: the client built once per process from flags or the standard
// TEMPORAL_* environment, and the idempotent namespace setup (search
// attributes) shared by `odr dev` and `odr setup`.
package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// Config locates a Temporal frontend and says how to authenticate to it.
type Config struct {
	Address   string // host:port of the frontend
	Namespace string
	TLSCert   string // client certificate file (mTLS)
	TLSKey    string // client key file (mTLS)
	TLSCA     string // CA bundle file to verify the server
	APIKey    string // Temporal Cloud API key; implies TLS
	// ServerName overrides the TLS server name (TEMPORAL_TLS_SERVER_NAME).
	ServerName string
	// Metrics receives the SDK's client and worker metrics (see
	// PrometheusMetrics); nil reports none.
	Metrics client.MetricsHandler
}

// ConfigFromEnv reads the variables the Temporal CLI and SDKs use:
// TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY,
// TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME and TEMPORAL_API_KEY.
func ConfigFromEnv() Config {
	c := Config{
		Address:    os.Getenv("TEMPORAL_ADDRESS"),
		Namespace:  os.Getenv("TEMPORAL_NAMESPACE"),
		TLSCert:    os.Getenv("TEMPORAL_TLS_CERT"),
		TLSKey:     os.Getenv("TEMPORAL_TLS_KEY"),
		TLSCA:      os.Getenv("TEMPORAL_TLS_CA"),
		ServerName: os.Getenv("TEMPORAL_TLS_SERVER_NAME"),
		APIKey:     os.Getenv("TEMPORAL_API_KEY"),
	}
	if c.Address == "" {
		c.Address = client.DefaultHostPort
	}
	if c.Namespace == "" {
		c.Namespace = client.DefaultNamespace
	}
	return c
}

func (c Config) tlsConfig() (*tls.Config, error) {
	if c.TLSCert == "" && c.TLSKey == "" && c.TLSCA == "" && c.APIKey == "" {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if c.TLSCert != "" || c.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load TLS client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	if c.TLSCA != "" {
		pem, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("read TLS CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS CA %s holds no PEM certificate", c.TLSCA)
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

// Dial connects lazily: the process starts even while the cluster is down,
// and /readyz reports when it becomes reachable.
func Dial(cfg Config, logger *slog.Logger) (client.Client, error) {
	tlsConf, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	opts := client.Options{
		HostPort:       cfg.Address,
		Namespace:      cfg.Namespace,
		Logger:         sdklog.NewStructuredLogger(logger.With("component", "temporal-client")),
		MetricsHandler: cfg.Metrics,
		ConnectionOptions: client.ConnectionOptions{
			TLS: tlsConf,
		},
	}
	if cfg.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.APIKey)
	}
	c, err := client.NewLazyClient(opts)
	if err != nil {
		return nil, fmt.Errorf("temporal client for %s: %w", cfg.Address, err)
	}
	return c, nil
}

// Ready reports whether the frontend answers a health check within ctx.
func Ready(ctx context.Context, c client.Client) error {
	_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// WaitReady polls Ready until it succeeds or ctx ends.
func WaitReady(ctx context.Context, c client.Client) error {
	for {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := Ready(attempt, c)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporal not reachable: %w", errors.Join(err, ctx.Err()))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// CheckNamespace verifies that the namespace exists.
func CheckNamespace(ctx context.Context, c client.Client, namespace string) error {
	_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	var notFound *serviceerror.NamespaceNotFound
	if errors.As(err, &notFound) {
		return fmt.Errorf("namespace %q does not exist; create it first (temporal operator namespace create)", namespace)
	}
	if err != nil {
		return fmt.Errorf("describe namespace %q: %w", namespace, err)
	}
	return nil
}

// EnsureSearchAttributes adds the attributes the namespace lacks and returns
// their names, sorted. Attributes that exist with the right type are left
// alone; one that exists with another type is an error, because queries on it
// would silently misbehave.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string, want map[string]enumspb.IndexedValueType) ([]string, error) {
	ops := c.OperatorService()
	have, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("list search attributes of %q: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range want {
		got, ok := have.GetCustomAttributes()[name]
		if !ok {
			missing[name] = typ
			continue
		}
		if got != typ {
			return nil, fmt.Errorf("search attribute %s exists as %s, want %s", name, got, typ)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	_, err = ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return nil, fmt.Errorf("add search attributes to %q: %w", namespace, err)
	}
	names := make([]string, 0, len(missing))
	for name := range missing {
		names = append(names, name)
	}
	slices.Sort(names)
	if err := waitQueryable(ctx, c, namespace, missing); err != nil {
		return names, err
	}
	return names, nil
}

// waitQueryable returns once visibility queries accept the new attributes.
// The frontend learns of them when its namespace cache refreshes (seconds
// later); until then starting a workflow with them, or listing by them,
// fails with InvalidArgument.
func waitQueryable(ctx context.Context, c client.Client, namespace string, attrs map[string]enumspb.IndexedValueType) error {
	clauses := make([]string, 0, len(attrs))
	for name, typ := range attrs {
		literal := "'x'"
		switch typ {
		case enumspb.INDEXED_VALUE_TYPE_BOOL:
			literal = "false"
		case enumspb.INDEXED_VALUE_TYPE_DATETIME:
			literal = "'2000-01-01T00:00:00Z'"
		case enumspb.INDEXED_VALUE_TYPE_INT, enumspb.INDEXED_VALUE_TYPE_DOUBLE:
			literal = "0"
		}
		clauses = append(clauses, name+" = "+literal)
	}
	slices.Sort(clauses)
	query := strings.Join(clauses, " AND ")
	for {
		_, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: namespace, Query: query})
		if err == nil {
			return nil
		}
		var invalid *serviceerror.InvalidArgument
		if !errors.As(err, &invalid) {
			return fmt.Errorf("query new search attributes: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("search attributes of %q not queryable yet: %w", namespace, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
