package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"go.temporal.io/api/serviceerror"

	"github.com/odrflow/odrflow/api"
	"github.com/odrflow/odrflow/registry"
)

// The demo that `odr dev` sets up on first start, so a newcomer can send a
// real signed status change within a minute.
const (
	demoInstitution = "DEMO-ODRI"
	demoName        = "Demo ODR Institution"
	demoEmail       = "case.manager@demo-odri.example"
	demoPhone       = "+919800000001"
	demoDispute     = "MII-INV-2024-01-781096"
	demoType        = "conciliation"
)

// demo is what the printed command needs.
type demo struct {
	keyID      string
	privateKey string
}

// bootstrapDemoRegistry creates the registry with the demo institution and
// a fresh key pair (private key in dataDir/demo/) when the registry file
// does not exist yet. It returns the demo, or nil when the registry existed
// before and holds no demo key.
func bootstrapDemoRegistry(dataDir, registryPath string) (*demo, error) {
	dir := filepath.Join(dataDir, "demo")
	keyIDFile := filepath.Join(dir, "key-id")
	if _, err := os.Stat(registryPath); err == nil {
		b, err := os.ReadFile(keyIDFile)
		if err != nil {
			return nil, nil // a registry of the operator's own: no demo
		}
		return &demo{keyID: strings.TrimSpace(string(b)), privateKey: filepath.Join(dir, "private.pem")}, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("registry: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil { // leftovers of an interrupted bootstrap
		return nil, err
	}
	privPath, pubPath, err := writeKeyPair(dir, 2048)
	if err != nil {
		return nil, fmt.Errorf("demo key pair: %w", err)
	}
	pub, err := os.ReadFile(pubPath)
	if err != nil {
		return nil, err
	}
	if err := registry.AddInstitution(registryPath, registry.InstitutionInput{
		ID: demoInstitution, Name: demoName, Email: demoEmail, Phone: demoPhone,
	}); err != nil {
		return nil, fmt.Errorf("demo institution: %w", err)
	}
	keyID, err := registry.AddKey(registryPath, demoInstitution, pub, "")
	if err != nil {
		return nil, fmt.Errorf("demo key: %w", err)
	}
	if err := os.WriteFile(keyIDFile, []byte(keyID+"\n"), 0o600); err != nil {
		return nil, err
	}
	return &demo{keyID: keyID, privateKey: privPath}, nil
}

// transferDemoDispute transfers the demo dispute unless it exists already.
func transferDemoDispute(ctx context.Context, engine api.Engine) error {
	err := api.Transfer(ctx, engine, api.TransferRequest{DisputeID: demoDispute, InstitutionID: demoInstitution, DisputeType: demoType})
	var exists *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &exists) {
		return nil
	}
	return err
}

// command is the ready-to-paste `odr client status` that moves the demo
// dispute to CON_INIT through the public API at addr.
func (d *demo) command(addr net.Addr) string {
	return strings.Join([]string{
		selfCommand(), "client", "status",
		"--url", "http://" + dialable(addr),
		"--key-id", d.keyID,
		"--private-key", shellQuote(d.privateKey),
		"--email", demoEmail,
		"--phone", shellQuote(demoPhone),
		"--dispute", demoDispute,
		"--type", demoType,
		"--role", "MEDIATOR",
		"--user-name", shellQuote("Bruce Wayne"),
		"--status", "CON_INIT",
	}, " ")
}

// selfCommand is how this binary was invoked, so the printed command runs
// the same binary: ./bin/odr after `make run`, odr when on PATH.
func selfCommand() string {
	if strings.ContainsRune(os.Args[0], os.PathSeparator) {
		if abs, err := filepath.Abs(os.Args[0]); err == nil {
			return shellQuote(abs)
		}
	}
	return "odr"
}

// dialable turns a listener address into one a client can dial: an
// unspecified host (0.0.0.0, ::) becomes loopback.
func dialable(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@+=,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
