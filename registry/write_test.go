package registry

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
)

// writerEnv makes the test binary act as one `odr institution add-user`
// process for TestConcurrentWriterProcesses.
const writerEnv = "REGISTRY_TEST_WRITER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(writerEnv); spec != "" {
		os.Exit(runWriter(spec))
	}
	os.Exit(m.Run())
}

// runWriter adds users "p<proc>u<i>" to the registry at path, as a separate
// process would.
func runWriter(spec string) int {
	var path string
	var proc, n int
	if _, err := fmt.Sscanf(spec, "%d %d %s", &proc, &n, &path); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for i := range n {
		email := fmt.Sprintf("p%du%d@demo-odri.example", proc, i)
		if err := AddUser(path, "DEMO-ODRI", email, fmt.Sprintf("98%02d%06d", proc, i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

var demoInput = InstitutionInput{
	ID:    "DEMO-ODRI",
	Name:  "Demo ODR Institution",
	Email: "case.manager@demo-odri.example",
	Phone: "+919800000001",
}

func TestWritersBuildTheSpecLayout(t *testing.T) {
	k := testKeys(t)
	path := tempPath(t)

	if err := AddInstitution(path, demoInput); err != nil {
		t.Fatal(err)
	}
	if err := AddUser(path, "DEMO-ODRI", "second@demo-odri.example", "9800000002"); err != nil {
		t.Fatal(err)
	}
	// A PKCS #1 PEM is accepted and stored in canonical PKIX form.
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k[0].PublicKey)})
	id1, err := AddKey(path, "DEMO-ODRI", pkcs1, "")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id1) {
		t.Errorf("generated key id %q is not 128 bits of hex", id1)
	}
	id2, err := AddKey(path, "DEMO-ODRI", []byte(pemOf(t, k[1])), "my-key")
	if err != nil || id2 != "my-key" {
		t.Fatalf("AddKey with an explicit id = %q, %v", id2, err)
	}
	if err := RevokeKey(path, id1); err != nil {
		t.Fatal(err)
	}

	want := `institutions:
  - id: DEMO-ODRI
    name: Demo ODR Institution
    users:
      - {email: case.manager@demo-odri.example, phone: "+919800000001"}
      - {email: second@demo-odri.example, phone: "9800000002"}
    keys:
      - id: ` + id1 + `
        publicKey: |
` + indent(pemOf(t, k[0]), 10) + `
        revoked: true
      - id: my-key
        publicKey: |
` + indent(pemOf(t, k[1]), 10) + `
        revoked: false
`
	if got := readFile(t, path); got != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new registry file has mode %v, want 0600", fi.Mode().Perm())
	}
	assertNoTempFiles(t, path)

	r, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if key, ok := r.Key(id1); !ok || !key.Revoked || !key.Public.Equal(&k[0].PublicKey) {
		t.Errorf("Key(%s) = %+v, %v; want the revoked first key", id1, key, ok)
	}
	if key, ok := r.Key("my-key"); !ok || key.Revoked || key.InstitutionID != "DEMO-ODRI" {
		t.Errorf("Key(my-key) = %+v, %v", key, ok)
	}
}

func TestRevokeKeyIsIdempotent(t *testing.T) {
	k := testKeys(t)
	path := tempPath(t)
	if err := AddInstitution(path, demoInput); err != nil {
		t.Fatal(err)
	}
	if _, err := AddKey(path, "DEMO-ODRI", []byte(pemOf(t, k[0])), "k1"); err != nil {
		t.Fatal(err)
	}
	if err := RevokeKey(path, "k1"); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := RevokeKey(path, "k1"); err != nil {
		t.Fatalf("revoking a revoked key: %v", err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("revoking a revoked key rewrote the file")
	}
}

func TestAddKeyRefusesWeakKey(t *testing.T) {
	testKeys(t)
	path := tempPath(t)
	if err := AddInstitution(path, demoInput); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, path)
	_, err := AddKey(path, "DEMO-ODRI", []byte(pemOf(t, weakKey)), "")
	if err == nil || err.Error() != "public key: RSA key has 1024 bits, at least 2048 required" {
		t.Fatalf("AddKey of a 1024-bit key: %v", err)
	}
	if readFile(t, path) != before {
		t.Error("a refused key changed the file")
	}
}

func TestRefusedInputsChangeNothing(t *testing.T) {
	k := testKeys(t)
	path := tempPath(t)
	if err := AddInstitution(path, demoInput); err != nil {
		t.Fatal(err)
	}
	if _, err := AddKey(path, "DEMO-ODRI", []byte(pemOf(t, k[0])), "k1"); err != nil {
		t.Fatal(err)
	}
	privPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k[1])})

	tests := []struct {
		name    string
		do      func() error
		want    string
		wantErr error
	}{
		{"existing institution", func() error { return AddInstitution(path, demoInput) },
			`institution "DEMO-ODRI": already exists`, ErrExists},
		{"institution without name", func() error {
			return AddInstitution(path, InstitutionInput{ID: "B", Email: "a@b.example", Phone: "9800000009"})
		}, "institution name is required", nil},
		{"institution with bad id", func() error {
			return AddInstitution(path, InstitutionInput{ID: "B/C", Name: "B", Email: "a@b.example", Phone: "9800000009"})
		}, `institution id "B/C" must be 1-64 characters of A-Z a-z 0-9 - _ .`, nil},
		{"institution with bad user", func() error {
			return AddInstitution(path, InstitutionInput{ID: "B", Name: "B", Email: "ab.example", Phone: "98"})
		}, "email \"ab.example\" is not an address of the form name@domain\nphone \"98\" must have 10 to 15 digits", nil},
		{"user of unknown institution", func() error { return AddUser(path, "NOPE", "a@b.example", "9800000009") },
			`institution "NOPE": not found`, ErrNotFound},
		{"user already registered", func() error {
			return AddUser(path, "DEMO-ODRI", "Case.Manager@demo-odri.example", "98000 00001")
		}, `user Case.Manager@demo-odri.example / 98000 00001 of institution "DEMO-ODRI": already exists`, ErrExists},
		{"user without phone", func() error { return AddUser(path, "DEMO-ODRI", "a@b.example", "") },
			"phone is required", nil},
		{"key of unknown institution", func() error {
			_, err := AddKey(path, "NOPE", []byte(pemOf(t, k[1])), "")
			return err
		}, `institution "NOPE": not found`, ErrNotFound},
		{"key id taken", func() error {
			_, err := AddKey(path, "DEMO-ODRI", []byte(pemOf(t, k[1])), "k1")
			return err
		}, `key "k1" (institution "DEMO-ODRI"): already exists`, ErrExists},
		{"key registered twice", func() error {
			_, err := AddKey(path, "DEMO-ODRI", []byte(pemOf(t, k[0])), "k2")
			return err
		}, `this public key is already registered as key "k1" of institution "DEMO-ODRI": already exists`, ErrExists},
		{"private key", func() error {
			_, err := AddKey(path, "DEMO-ODRI", privPEM, "")
			return err
		}, `public key: PEM block "RSA PRIVATE KEY" holds a private key; register the public key only`, nil},
		{"key id with separator", func() error {
			_, err := AddKey(path, "DEMO-ODRI", []byte(pemOf(t, k[1])), "a|b")
			return err
		}, `key id "a|b" must be 1-128 characters of A-Z a-z 0-9 - _ .`, nil},
		{"revoke unknown key", func() error { return RevokeKey(path, "k9") }, `key "k9": not found`, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := readFile(t, path)
			err := tt.do()
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error %q, want %q", err, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
			if readFile(t, path) != before {
				t.Error("a refused input changed the file")
			}
			assertNoTempFiles(t, path)
		})
	}
}

func TestWritersRefuseToEditABrokenFile(t *testing.T) {
	path := tempPath(t)
	const broken = "institutions:\n  - id: A\n    nme: typo\n"
	writeFile(t, path, broken)
	err := AddUser(path, "A", "a@b.example", "9800000009")
	want := "registry " + path + ` is invalid, fix it first: line 3: institutions[0] (id "A"): unknown field "nme" (allowed: id, name, users, keys)`
	if err == nil || err.Error() != want {
		t.Fatalf("AddUser on a broken file: %v\nwant: %s", err, want)
	}
	if readFile(t, path) != broken {
		t.Error("the broken file was changed")
	}
}

func TestWritersKeepCommentsAndMode(t *testing.T) {
	path := tempPath(t)
	const hand = `# Registry of ODR institutions. Edited by hand and by odr.
institutions:
  # The demo institution.
  - id: DEMO-ODRI
    name: Demo ODR Institution # from the SMART ODR portal
    users:
      - {email: case.manager@demo-odri.example, phone: "+919800000001"}
    keys: []
`
	writeFile(t, path, hand)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := AddUser(path, "DEMO-ODRI", "second@demo-odri.example", "9800000002"); err != nil {
		t.Fatal(err)
	}
	want := `# Registry of ODR institutions. Edited by hand and by odr.
institutions:
  # The demo institution.
  - id: DEMO-ODRI
    name: Demo ODR Institution # from the SMART ODR portal
    users:
      - {email: case.manager@demo-odri.example, phone: "+919800000001"}
      - {email: second@demo-odri.example, phone: "9800000002"}
    keys: []
`
	if got := readFile(t, path); got != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want the file's 0644 kept", fi.Mode().Perm())
	}
}

func TestWritersFollowSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.yaml")
	link := filepath.Join(dir, "institutions.yaml")
	if err := AddInstitution(target, demoInput); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.yaml", link); err != nil {
		t.Fatal(err)
	}
	if err := AddUser(link, "DEMO-ODRI", "second@demo-odri.example", "9800000002"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(link)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the symlink was replaced by a regular file")
	}
	r, err := Load(target)
	if err != nil {
		t.Fatal(err)
	}
	if inst, _ := r.Institution("DEMO-ODRI"); !inst.HasUser("second@demo-odri.example", "9800000002") {
		t.Error("the user did not reach the link's target")
	}
}

// TestConcurrentWriters runs many writers at once in one process; each holds
// its own lock file descriptor, exactly like separate CLI processes.
func TestConcurrentWriters(t *testing.T) {
	path := tempPath(t)
	if err := AddInstitution(path, demoInput); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = AddUser(path, "DEMO-ODRI", fmt.Sprintf("u%d@demo-odri.example", i), fmt.Sprintf("97000000%02d", i))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	r, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	inst, _ := r.Institution("DEMO-ODRI")
	if len(inst.Users) != n+1 {
		t.Fatalf("%d users after %d concurrent additions to 1, want %d", len(inst.Users), n, n+1)
	}
	for i := range n {
		if !inst.HasUser(fmt.Sprintf("u%d@demo-odri.example", i), fmt.Sprintf("97000000%02d", i)) {
			t.Errorf("user %d lost", i)
		}
	}
}

// TestConcurrentWriterProcesses runs writers as separate processes, the way
// two operators' `odr institution add-user` calls meet.
func TestConcurrentWriterProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := tempPath(t)
	if err := AddInstitution(path, demoInput); err != nil {
		t.Fatal(err)
	}
	const procs, each = 4, 5
	cmds := make([]*exec.Cmd, procs)
	outs := make([]bytes.Buffer, procs)
	for p := range procs {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), writerEnv+"="+strconv.Itoa(p)+" "+strconv.Itoa(each)+" "+path)
		cmd.Stderr = &outs[p]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[p] = cmd
	}
	for p, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("writer %d: %v: %s", p, err, outs[p].String())
		}
	}
	r, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	inst, _ := r.Institution("DEMO-ODRI")
	if len(inst.Users) != procs*each+1 {
		t.Fatalf("%d users after %d process writes to 1, want %d", len(inst.Users), procs*each, procs*each+1)
	}
	for p := range procs {
		for i := range each {
			if !inst.HasUser(fmt.Sprintf("p%du%d@demo-odri.example", p, i), fmt.Sprintf("98%02d%06d", p, i)) {
				t.Errorf("user p%du%d lost", p, i)
			}
		}
	}
}

func TestListAndKeyTable(t *testing.T) {
	k := testKeys(t)
	path := tempPath(t)
	if err := AddInstitution(path, demoInput); err != nil {
		t.Fatal(err)
	}
	other := InstitutionInput{ID: "OTHER", Name: "Other", Email: "ops@other.example", Phone: "9800000005"}
	if err := AddInstitution(path, other); err != nil {
		t.Fatal(err)
	}
	for _, add := range []struct {
		inst, id string
		key      int
	}{{"DEMO-ODRI", "k1", 0}, {"OTHER", "k2", 1}} {
		if _, err := AddKey(path, add.inst, []byte(pemOf(t, k[add.key])), add.id); err != nil {
			t.Fatal(err)
		}
	}
	if err := RevokeKey(path, "k2"); err != nil {
		t.Fatal(err)
	}

	keys, err := List(path)
	if err != nil {
		t.Fatal(err)
	}
	fp := func(i int) string {
		s, err := Fingerprint(Key{ID: "x", Public: &k[i].PublicKey})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	want := []KeyInfo{
		{ID: "k1", InstitutionID: "DEMO-ODRI", Bits: 2048, Fingerprint: fp(0)},
		{ID: "k2", InstitutionID: "OTHER", Bits: 2048, Fingerprint: fp(1), Revoked: true},
	}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("List = %+v\nwant %+v", keys, want)
	}
	if fp(0) == fp(1) || len(fp(0)) != len("SHA256:")+43 {
		t.Errorf("fingerprints %q, %q are not distinct SHA-256 fingerprints", fp(0), fp(1))
	}

	var buf bytes.Buffer
	if err := WriteKeyTable(&buf, keys); err != nil {
		t.Fatal(err)
	}
	wantTable := "KEY ID  INSTITUTION  BITS  STATUS   FINGERPRINT\n" +
		"k1      DEMO-ODRI    2048  active   " + fp(0) + "\n" +
		"k2      OTHER        2048  revoked  " + fp(1) + "\n"
	if buf.String() != wantTable {
		t.Errorf("table:\n%s\nwant:\n%s", buf.String(), wantTable)
	}
}

func assertNoTempFiles(t *testing.T, path string) {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) > 0 {
		t.Errorf("temporary files left behind: %v", matches)
	}
}
