package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/odrflow/odrflow/api"
	"github.com/odrflow/odrflow/api/auth"
	"github.com/odrflow/odrflow/registry"
)

// newClientCmd is the institution side: key generation and signed requests.
func newClientCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "client",
		Short: "Tools for ODR Institutions: generate a key pair, sign and send status changes",
	}
	cmd.AddCommand(newClientKeygenCmd(), newClientHeaderCmd(), newClientStatusCmd())
	return cmd
}

func newClientKeygenCmd() *cobra.Command {
	var out string
	var bits int
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Generate an RSA key pair: private.pem (mode 0600) and public.pem in --out",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			priv, pub, err := writeKeyPair(out, bits)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "private key: %s\npublic key:  %s\nregister it: odr key add --institution <ID> --public-key %s\n", priv, pub, pub)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", ".", "directory for private.pem and public.pem")
	cmd.Flags().IntVar(&bits, "bits", 2048, "RSA key size (2048 or more)")
	return cmd
}

// writeKeyPair creates dir/private.pem (PKCS#8) and dir/public.pem (PKIX).
// It refuses to overwrite an existing private key.
func writeKeyPair(dir string, bits int) (privPath, pubPath string, err error) {
	if bits < 2048 {
		return "", "", fmt.Errorf("--bits %d: RSA keys must have 2048 bits or more", bits)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return "", "", err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	pubPEM, err := registry.EncodePublicKey(&key.PublicKey)
	if err != nil {
		return "", "", err
	}
	privPath, pubPath = filepath.Join(dir, "private.pem"), filepath.Join(dir, "public.pem")
	f, err := os.OpenFile(privPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", "", fmt.Errorf("write private key: %w", err)
	}
	if err := errors.Join(pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), f.Close()); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(pubPath, pubPEM, 0o644); err != nil {
		return "", "", err
	}
	return privPath, pubPath, nil
}

// readPrivateKey reads an RSA private key in PKCS#8 or PKCS#1 PEM.
func readPrivateKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("private key %s: no PEM block", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
	rsaKey, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key %s is not an RSA key", path)
	}
	return rsaKey, nil
}

// signerFlags are the flags that make an Authorization header.
type signerFlags struct {
	keyID, privateKey, email, phone string
	ttl                             time.Duration
}

func (s *signerFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.keyID, "key-id", "", "the unique_key_id registered for the public key")
	f.StringVar(&s.privateKey, "private-key", "", "PEM file of the institution's RSA private key")
	f.StringVar(&s.email, "email", "", "email of a registered user of the institution")
	f.StringVar(&s.phone, "phone", "", "phone of that user")
	f.DurationVar(&s.ttl, "ttl", 5*time.Minute, "lifetime of the signed token")
	for _, name := range []string{"key-id", "private-key", "email", "phone"} {
		_ = cmd.MarkFlagRequired(name)
	}
}

func (s *signerFlags) header() (string, error) {
	key, err := readPrivateKey(s.privateKey)
	if err != nil {
		return "", err
	}
	token, err := auth.SignToken(key, s.keyID, s.email, s.phone, s.ttl, time.Now())
	if err != nil {
		return "", err
	}
	return auth.FormatHeader(s.keyID, token, "status"), nil
}

func newClientHeaderCmd() *cobra.Command {
	var s signerFlags
	cmd := &cobra.Command{
		Use:   "header",
		Short: "Print a signed Authorization header value for POST /status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := s.header()
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), h)
			return nil
		},
	}
	s.register(cmd)
	return cmd
}

func newClientStatusCmd() *cobra.Command {
	var (
		s              signerFlags
		url            string
		body           api.StatusChangeBody
		idempotencyKey string
		timeout        time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Send a signed status change and print the response; exits non-zero unless it succeeded",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := s.header()
			if err != nil {
				return err
			}
			payload, err := json.Marshal(api.StatusRequest{Dispute: body})
			if err != nil {
				return err
			}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, strings.TrimSuffix(url, "/")+"/status", bytes.NewReader(payload))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", h)
			if idempotencyKey != "" {
				req.Header.Set("Idempotency-Key", idempotencyKey)
			}
			resp, err := (&http.Client{Timeout: timeout}).Do(req)
			if err != nil {
				return fmt.Errorf("POST %s: %w", req.URL, err)
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "HTTP %d\n%s\n", resp.StatusCode, bytes.TrimSpace(raw))
			var result api.Response
			if err := json.Unmarshal(raw, &result); err != nil || !result.Success {
				return fmt.Errorf("status change not accepted (HTTP %d)", resp.StatusCode)
			}
			return nil
		},
	}
	s.register(cmd)
	f := cmd.Flags()
	f.StringVar(&url, "url", "http://127.0.0.1:8080", "base URL of the odrflow public API")
	f.StringVar(&body.DisputeID, "dispute", "", "dispute id")
	f.StringVar(&body.DisputeType, "type", "", "dispute type (disputetype)")
	f.StringVar(&body.Role, "role", "", "role of the user: MEDIATOR, ARBITRATOR, SYSADMIN, CASEMANAGER, PETITIONER, RESPONDENT")
	f.StringVar(&body.UserName, "user-name", "", "name of the user making the change")
	f.StringVar(&body.Status, "status", "", "new status, e.g. CON_INIT")
	f.StringVar(&idempotencyKey, "idempotency-key", "", "optional: a retried request with the same key is applied once")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "HTTP timeout")
	for _, name := range []string{"dispute", "type", "role", "user-name", "status"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}
