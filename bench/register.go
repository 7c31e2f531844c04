package bench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/odrflow/odrflow/registry"
)

// newRunID returns a short random id that names this run's institution and
// disputes, so runs against the same deployment never collide.
func newRunID() (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// registerInstitution adds a throw-away institution with one user and a new
// 2048-bit key to the registry file the API follows.
func registerInstitution(registryPath, runID string) (principal, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return principal{}, fmt.Errorf("generate key: %w", err)
	}
	pub, err := registry.EncodePublicKey(&key.PublicKey)
	if err != nil {
		return principal{}, err
	}
	p := principal{
		institutionID: "BENCH-" + strings.ToUpper(runID),
		key:           key,
		email:         "bench-" + runID + "@odrflow.example",
		phone:         "+919800000000",
	}
	if err := registry.AddInstitution(registryPath, registry.InstitutionInput{
		ID: p.institutionID, Name: "odr bench " + runID, Email: p.email, Phone: p.phone,
	}); err != nil {
		return principal{}, fmt.Errorf("register benchmark institution: %w", err)
	}
	if p.keyID, err = registry.AddKey(registryPath, p.institutionID, pub, ""); err != nil {
		return principal{}, fmt.Errorf("register benchmark key: %w", err)
	}
	return p, nil
}

// awaitKey waits until the API accepts the new key: it reloads the registry
// within 2 s (SPEC §5). The probe names a dispute that does not exist, so an
// authenticated request is answered 404 and changes nothing; 401 means the
// key is not loaded yet.
func awaitKey(ctx context.Context, ch *apiChanger, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	probe := "bench-probe-" + ch.tokens.p.keyID[:8]
	for {
		err := ch.Change(ctx, probe, Walk[0])
		var he *httpError
		switch {
		case errors.As(err, &he) && he.status == http.StatusNotFound:
			return nil
		case errors.As(err, &he) && he.status == http.StatusUnauthorized:
		case err == nil:
			return fmt.Errorf("probe dispute %s unexpectedly exists", probe)
		default:
			return fmt.Errorf("probe the public API: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the API did not load the benchmark key within %s (is --registry the file it follows?): %w", limit, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
