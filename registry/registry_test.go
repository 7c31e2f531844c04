package registry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
)

// specDocument is a registry in the layout of SPEC §5 with two institutions.
func specDocument(t testing.TB) string {
	k := testKeys(t)
	return fmt.Sprintf(`# institutions of the test
institutions:
  - id: DEMO-ODRI
    name: Demo ODR Institution
    users:
      - {email: Case.Manager@demo-odri.example, phone: "+919800000001"}
      - {email: second@demo-odri.example, phone: 98000 00002}
    keys:
      - id: 8c1f0e7a6b2d4c39a0e5f1d2c3b4a596      # the unique_key_id
        publicKey: |
%s
        revoked: false
      - id: old-key
        publicKey: |
%s
        revoked: true
  - id: OTHER
    name: Other Institution
    users:
      - email: ops@other.example
        phone: +1 415 555 0100
    keys:
      - id: other-key
        publicKey: |
%s
`, indent(pemOf(t, k[0]), 10), indent(pemOf(t, k[1]), 10), indent(pemOf(t, k[2]), 10))
}

func TestParseLookups(t *testing.T) {
	k := testKeys(t)
	r, err := Parse([]byte(specDocument(t)))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		id, inst string
		revoked  bool
		pub      int
	}{
		{"8c1f0e7a6b2d4c39a0e5f1d2c3b4a596", "DEMO-ODRI", false, 0},
		{"old-key", "DEMO-ODRI", true, 1},
		{"other-key", "OTHER", false, 2},
	}
	for _, tt := range tests {
		got, ok := r.Key(tt.id)
		if !ok {
			t.Fatalf("Key(%q) not found", tt.id)
		}
		if got.ID != tt.id || got.InstitutionID != tt.inst || got.Revoked != tt.revoked || !got.Public.Equal(&k[tt.pub].PublicKey) {
			t.Errorf("Key(%q) = {%s %s revoked=%v}, want {%s %s revoked=%v} with key #%d",
				tt.id, got.ID, got.InstitutionID, got.Revoked, tt.id, tt.inst, tt.revoked, tt.pub)
		}
	}
	if _, ok := r.Key("8C1F0E7A6B2D4C39A0E5F1D2C3B4A596"); ok {
		t.Error("key ids must match exactly, but an upper-cased id was found")
	}

	inst, ok := r.Institution("OTHER")
	if !ok || inst.Name != "Other Institution" || len(inst.Users) != 1 || len(inst.Keys) != 1 {
		t.Fatalf("Institution(OTHER) = %+v, %v", inst, ok)
	}
	if inst.Users[0].Phone != "+1 415 555 0100" {
		t.Errorf("phone read as %q, want the spelling of the file", inst.Users[0].Phone)
	}
	if _, ok := r.Institution("demo-odri"); ok {
		t.Error("institution ids must match exactly")
	}
	var ids []string
	for _, in := range r.Institutions() {
		ids = append(ids, in.ID)
	}
	if got := strings.Join(ids, ","); got != "DEMO-ODRI,OTHER" {
		t.Errorf("Institutions() = %s, want file order DEMO-ODRI,OTHER", got)
	}
}

func TestHasUser(t *testing.T) {
	r, err := Parse([]byte(specDocument(t)))
	if err != nil {
		t.Fatal(err)
	}
	demo, _ := r.Institution("DEMO-ODRI")
	other, _ := r.Institution("OTHER")
	tests := []struct {
		inst         Institution
		email, phone string
		want         bool
	}{
		{demo, "case.manager@demo-odri.example", "+919800000001", true},
		{demo, "CASE.MANAGER@Demo-ODRI.example", "9800000001", true},
		{demo, " case.manager@demo-odri.example ", "919800000001", true},
		{demo, "case.manager@demo-odri.example", "+91 98000-00001", true},
		{demo, "case.manager@demo-odri.example", "(+91) 98000.00001", true},
		{demo, "second@demo-odri.example", "+919800000002", true},
		// Email of one user with the phone of another is nobody.
		{demo, "second@demo-odri.example", "9800000001", false},
		{demo, "case.manager@demo-odri.example", "9800000002", false},
		{demo, "case.manager@demo-odri.example", "", false},
		{demo, "", "9800000001", false},
		{demo, "case.manager@demo-odri.example", "98000abc00001", false},
		{demo, "case.manager@demo-odri.example", "0919800000001", false},
		{demo, "case.manager@demo-odri.examplex", "9800000001", false},
		// Users belong to their own institution only.
		{other, "case.manager@demo-odri.example", "9800000001", false},
		{other, "ops@other.example", "14155550100", true},
		{other, "ops@other.example", "4155550100", false},
	}
	for _, tt := range tests {
		if got := tt.inst.HasUser(tt.email, tt.phone); got != tt.want {
			t.Errorf("%s.HasUser(%q, %q) = %v, want %v", tt.inst.ID, tt.email, tt.phone, got, tt.want)
		}
	}
	u, ok := demo.LookupUser("case.manager@demo-odri.example", "9800000001")
	if !ok || u.Email != "Case.Manager@demo-odri.example" || u.Phone != "+919800000001" {
		t.Errorf("LookupUser = %+v, %v; want the spelling on file", u, ok)
	}
}

func TestNormalize(t *testing.T) {
	phones := map[string]string{
		"+919800000001":         "9800000001",
		"91 98000 00001":        "9800000001",
		"9800000001":            "9800000001",
		"919800000001":          "9800000001",
		"+1 (415) 555-0100":     "14155550100",
		"9198000000011":         "9198000000011", // 13 digits: not a +91 mobile number
		"98000x00001":           "",
		"":                      "",
		"++--":                  "",
		strings.Repeat("1", 33): "",
	}
	for in, want := range phones {
		if got := NormalizePhone(in); got != want {
			t.Errorf("NormalizePhone(%q) = %q, want %q", in, got, want)
		}
	}
	if got := NormalizeEmail("  Case.Manager@Demo.EXAMPLE\t"); got != "case.manager@demo.example" {
		t.Errorf("NormalizeEmail = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	k := testKeys(t)
	strong := indent(pemOf(t, k[0]), 10)
	weak := indent(pemOf(t, weakKey), 10)
	privDER := x509.MarshalPKCS1PrivateKey(k[1])
	private := indent(string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: privDER})), 10)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ecPEM := indent(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER})), 10)

	// oneKey is an institution A with one user and key k1 whose PEM block
	// (line 9 on) is given; the key entry is on line 7.
	oneKey := func(pemBlock string) string {
		return `institutions:
  - id: A
    name: Institution A
    users:
      - {email: a@a.example, phone: "9800000001"}
    keys:
      - id: k1
        publicKey: |
` + pemBlock + "\n"
	}

	tests := []struct {
		name, doc, want string
	}{
		{"empty file", "", "registry is empty: expected a mapping with an institutions list"},
		{"comments only", "# nothing yet\n", "registry is empty: expected a mapping with an institutions list"},
		{"two documents", "institutions: []\n---\ninstitutions: []\n", "parse YAML: the file must hold exactly one YAML document"},
		{"not a mapping", "- a\n- b\n", "line 1: top level: expected a mapping with fields institutions"},
		{"misspelt top level", "institution: []\n",
			"line 1: top level: unknown field \"institution\" (allowed: institutions)\n" +
				"line 1: top level: field \"institutions\" is required"},
		{"institutions not a list", "institutions: A\n", "line 1: institutions: expected a list"},
		{"weak key", oneKey(weak),
			"line 7: institutions[0] (id \"A\"): keys[0] (id \"k1\"): publicKey: RSA key has 1024 bits, at least 2048 required"},
		{"private key", oneKey(private),
			"line 7: institutions[0] (id \"A\"): keys[0] (id \"k1\"): publicKey: PEM block \"RSA PRIVATE KEY\" holds a private key; register the public key only"},
		{"EC key", oneKey(ecPEM),
			"line 7: institutions[0] (id \"A\"): keys[0] (id \"k1\"): publicKey: key is *ecdsa.PublicKey, want an RSA key"},
		{"garbage key", oneKey("          not a key"),
			"line 7: institutions[0] (id \"A\"): keys[0] (id \"k1\"): publicKey: no PEM block found"},
		// Shape errors are reported before contents are looked at, so the
		// missing publicKey is not reported on top of the misspelt one.
		{"misspelt publicKey", `institutions:
  - id: A
    name: Institution A
    keys:
      - id: k1
        publickey: |
` + strong + "\n",
			"line 6: institutions[0] (id \"A\"): keys[0] (id \"k1\"): unknown field \"publickey\" (allowed: id, publicKey, revoked)"},
		{"revoked not a boolean", `institutions:
  - id: A
    name: Institution A
    keys:
      - id: k1
        revoked: maybe
`, "line 6: institutions[0] (id \"A\"): keys[0] (id \"k1\"): revoked: expected true or false, got \"maybe\""},
		{"user without phone and bad email", `institutions:
  - id: A
    name: Institution A
    users:
      - {email: a@a.example}
      - {email: nobody, phone: "12"}
`,
			"line 5: institutions[0] (id \"A\"): users[0] (a@a.example): phone is required\n" +
				"line 6: institutions[0] (id \"A\"): users[1] (nobody): email \"nobody\" is not an address of the form name@domain\n" +
				"line 6: institutions[0] (id \"A\"): users[1] (nobody): phone \"12\" must have 10 to 15 digits"},
		{"duplicate user", `institutions:
  - id: A
    name: Institution A
    users:
      - {email: a@a.example, phone: "9800000001"}
      - {email: A@A.example, phone: "+91 98000 00001"}
`,
			"line 6: institutions[0] (id \"A\"): users[1] (A@A.example): duplicate user"},
		{"duplicate institution and missing name", `institutions:
  - id: A
    name: Institution A
  - id: A
  - name: nameless
`,
			"line 4: institutions[1] (id \"A\"): duplicate institution id\n" +
				"line 4: institutions[1] (id \"A\"): name is required\n" +
				"line 5: institutions[2]: institution id is required"},
		{"duplicate key id across institutions", `institutions:
  - id: A
    name: Institution A
    keys:
      - id: k1
        publicKey: |
` + strong + `
  - id: B
    name: Institution B
    keys:
      - id: k1
        publicKey: |
` + indent(pemOf(t, k[1]), 10) + "\n",
			"line 19: institutions[1] (id \"B\"): keys[0] (id \"k1\"): duplicate key id (first used on line 5)"},
		{"same public key under two ids", `institutions:
  - id: A
    name: Institution A
    keys:
      - id: k1
        publicKey: |
` + strong + `
  - id: B
    name: Institution B
    keys:
      - id: k2
        publicKey: |
` + strong + "\n",
			"line 19: institutions[1] (id \"B\"): keys[0] (id \"k2\"): publicKey is the same key as key \"k1\""},
		{"bad ids", `institutions:
  - id: A B
    name: Institution A
    keys:
      - id: "a|b"
        publicKey: x
`,
			"line 2: institutions[0] (id \"A B\"): institution id \"A B\" must be 1-64 characters of A-Z a-z 0-9 - _ .\n" +
				"line 5: institutions[0] (id \"A B\"): keys[0] (id \"a|b\"): key id \"a|b\" must be 1-128 characters of A-Z a-z 0-9 - _ ."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse accepted the document: %+v", r)
			}
			if err.Error() != tt.want {
				t.Errorf("Parse error:\n%s\nwant:\n%s", err, tt.want)
			}
		})
	}
}

func TestParseAcceptsEmptyAndNullLists(t *testing.T) {
	for _, doc := range []string{"institutions: []\n", "institutions:\n", "institutions:\n  - id: A\n    name: A\n    users:\n    keys: []\n"} {
		r, err := Parse([]byte(doc))
		if err != nil {
			t.Errorf("Parse(%q): %v", doc, err)
			continue
		}
		if _, ok := r.Key("k1"); ok {
			t.Errorf("Parse(%q) found a key in a document without keys", doc)
		}
	}
}

func TestParseYAMLSyntaxError(t *testing.T) {
	_, err := Parse([]byte("institutions: [\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "parse YAML: yaml: line ") {
		t.Fatalf("Parse of broken YAML: %v, want a YAML syntax error with its line", err)
	}
}
