package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/odrflow/odrflow/registry"
)

// runOdr runs the odr root command with args and returns its standard output.
func runOdr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func writePublicKey(t *testing.T, dir, name string, bits int) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := registry.EncodePublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRegistryCommands(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "institutions.yaml")
	pub1 := writePublicKey(t, dir, "k1.pem", 2048)
	pub2 := writePublicKey(t, dir, "k2.pem", 2048)

	steps := []struct {
		args []string
		want string
	}{
		{[]string{"institution", "add", "--registry", reg, "--id", "DEMO-ODRI", "--name", "Demo ODR Institution",
			"--email", "case.manager@demo-odri.example", "--phone", "+919800000001"}, "added institution DEMO-ODRI\n"},
		{[]string{"institution", "add-user", "--registry", reg, "--id", "DEMO-ODRI",
			"--email", "second@demo-odri.example", "--phone", "9800000002"}, "added user second@demo-odri.example to institution DEMO-ODRI\n"},
		{[]string{"key", "add", "--registry", reg, "--institution", "DEMO-ODRI", "--public-key", pub2, "--key-id", "my-key"}, "my-key\n"},
		{[]string{"key", "revoke", "--registry", reg, "my-key"}, "revoked key my-key\n"},
	}
	for _, s := range steps {
		out, err := runOdr(t, s.args...)
		if err != nil || out != s.want {
			t.Fatalf("odr %v = %q, %v; want %q", s.args, out, err, s.want)
		}
	}

	out, err := runOdr(t, "key", "add", "--registry", reg, "--institution", "DEMO-ODRI", "--public-key", pub1)
	if err != nil || !regexp.MustCompile(`^[0-9a-f]{32}\n$`).MatchString(out) {
		t.Fatalf("key add printed %q, %v; want a 128-bit hex key id", out, err)
	}
	generated := out[:32]

	// ODR_REGISTRY stands in for --registry.
	t.Setenv("ODR_REGISTRY", reg)
	out, err = runOdr(t, "key", "list")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := registry.List(reg)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := registry.WriteKeyTable(&want, keys); err != nil {
		t.Fatal(err)
	}
	if out != want.String() || len(keys) != 2 || keys[0].ID != "my-key" || !keys[0].Revoked || keys[1].ID != generated || keys[1].Revoked {
		t.Errorf("key list printed\n%s\nfor keys %+v", out, keys)
	}
}

func TestRegistryCommandErrors(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "institutions.yaml")
	weak := writePublicKey(t, dir, "weak.pem", 1024)
	if _, err := runOdr(t, "institution", "add", "--registry", reg, "--id", "A", "--name", "A",
		"--email", "a@a.example", "--phone", "9800000001"); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(reg)
	if err != nil {
		t.Fatal(err)
	}

	t.Setenv("ODR_REGISTRY", "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"key", "add", "--registry", reg, "--institution", "A", "--public-key", weak},
			"public key: RSA key has 1024 bits, at least 2048 required"},
		{[]string{"key", "add", "--registry", reg, "--institution", "B", "--public-key", weak},
			"public key: RSA key has 1024 bits, at least 2048 required"},
		{[]string{"key", "add", "--registry", reg, "--institution", "A", "--public-key", filepath.Join(dir, "missing.pem")},
			"read public key: open " + filepath.Join(dir, "missing.pem") + ": no such file or directory"},
		{[]string{"key", "revoke", "--registry", reg, "nope"}, `key "nope": not found`},
		{[]string{"institution", "add-user", "--registry", reg, "--id", "B", "--email", "b@b.example", "--phone", "9800000002"},
			`institution "B": not found`},
		{[]string{"institution", "add", "--registry", reg, "--id", "A", "--name", "A", "--email", "a@a.example"},
			`required flag(s) "phone" not set`},
		{[]string{"key", "list"}, "no registry file: give --registry FILE or set ODR_REGISTRY"},
	}
	for _, tt := range tests {
		if _, err := runOdr(t, tt.args...); err == nil || err.Error() != tt.want {
			t.Errorf("odr %v: error %v, want %s", tt.args, err, tt.want)
		}
	}
	after, err := os.ReadFile(reg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("refused commands changed the registry")
	}
}
