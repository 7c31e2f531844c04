package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/odrflow/odrflow/registry"
)

// The test registry: institution A with two users, its key "ka" and a
// revoked key "ka-old"; institution B with one user and key "kb".
const (
	emailA  = "case.manager@a.example"
	phoneA  = "+919800000001"
	emailA2 = "second@a.example"
	phoneA2 = "9800000002"
	emailB  = "ops@b.example"
	phoneB  = "9800000003"
)

var (
	// now is the fixed clock of the tests.
	now = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

	keysOnce               sync.Once
	privA, privAOld, privB *rsa.PrivateKey
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		for _, k := range []**rsa.PrivateKey{&privA, &privAOld, &privB} {
			var err error
			if *k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				panic(err)
			}
		}
	})
}

// fixture is a registry file, a Store following it and a Verifier on it.
type fixture struct {
	path  string
	store *registry.Store
	v     *Verifier
}

func newFixture(t testing.TB, opts Options) *fixture {
	t.Helper()
	testKeys(t)
	path := filepath.Join(t.TempDir(), "institutions.yaml")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	addKey := func(inst, id string, k *rsa.PrivateKey) {
		t.Helper()
		pemBytes, err := registry.EncodePublicKey(&k.PublicKey)
		must(err)
		_, err = registry.AddKey(path, inst, pemBytes, id)
		must(err)
	}
	must(registry.AddInstitution(path, registry.InstitutionInput{ID: "A", Name: "Institution A", Email: emailA, Phone: phoneA}))
	must(registry.AddUser(path, "A", emailA2, phoneA2))
	addKey("A", "ka", privA)
	addKey("A", "ka-old", privAOld)
	must(registry.RevokeKey(path, "ka-old"))
	must(registry.AddInstitution(path, registry.InstitutionInput{ID: "B", Name: "Institution B", Email: emailB, Phone: phoneB}))
	addKey("B", "kb", privB)

	store, err := registry.Open(path, nil)
	must(err)
	if opts.Now == nil {
		opts.Now = func() time.Time { return now }
	}
	return &fixture{path: path, store: store, v: NewVerifier(store, opts)}
}

// token signs claims with method and key, setting the kid header if kid is
// not "".
func token(t testing.TB, method jwt.SigningMethod, key any, kid string, c testClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, jwt.MapClaims(c))
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testClaims are the claims of a token under test.
type testClaims map[string]any

// claimsAt returns valid claims for a user, issued at now and valid for 5
// minutes.
func claimsAt(email, phone string) testClaims {
	return testClaims{
		"email": email, "phone": phone,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
}

// with returns a copy of c with the given claims set, or deleted where the
// value is nil.
func (c testClaims) with(kv ...any) testClaims {
	out := testClaims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func rs256(t testing.TB, key *rsa.PrivateKey, kid string, c testClaims) string {
	return token(t, jwt.SigningMethodRS256, key, kid, c)
}

func TestAuthenticateAccepts(t *testing.T) {
	f := newFixture(t, Options{})
	wantA := Principal{InstitutionID: "A", KeyID: "ka", Email: emailA, Phone: phoneA}
	tests := []struct {
		name   string
		header string
		want   Principal
	}{
		{"token from SignToken", FormatHeader("ka", signToken(t, privA, "ka", emailA, phoneA), "status"), wantA},
		{"email in other case, phone without country code", FormatHeader("ka", rs256(t, privA, "ka", claimsAt("Case.Manager@A.example", "98000 00001")), "status"), wantA},
		{"phone as a JSON number", FormatHeader("ka", rs256(t, privA, "ka", claimsAt(emailA, "x").with("phone", 919800000001)), "status"), wantA},
		{"no kid header", FormatHeader("ka", rs256(t, privA, "", claimsAt(emailA, phoneA)), "status"), wantA},
		{"no time claims", FormatHeader("ka", rs256(t, privA, "ka", testClaims{"email": emailA, "phone": phoneA}), "status"), wantA},
		{"second user", FormatHeader("ka", rs256(t, privA, "ka", claimsAt(emailA2, phoneA2)), "status"),
			Principal{InstitutionID: "A", KeyID: "ka", Email: emailA2, Phone: phoneA2}},
		{"other institution with its own key", FormatHeader("kb", rs256(t, privB, "kb", claimsAt(emailB, phoneB)), "status"),
			Principal{InstitutionID: "B", KeyID: "kb", Email: emailB, Phone: phoneB}},
		{"expired 59 s ago, within leeway", FormatHeader("ka", rs256(t, privA, "ka", claimsAt(emailA, phoneA).with("exp", now.Add(-59*time.Second).Unix())), "status"), wantA},
		{"valid from in 59 s, within leeway", FormatHeader("ka", rs256(t, privA, "ka", claimsAt(emailA, phoneA).with("nbf", now.Add(59*time.Second).Unix())), "status"), wantA},
		{"commas and other order", `Signature type="status", algorithm="RS256", keyId="ka|` + rs256(t, privA, "ka", claimsAt(emailA, phoneA)) + `|RS256", created=1`, wantA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.v.Authenticate(tt.header, "status")
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if got != tt.want {
				t.Errorf("Authenticate = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func signToken(t testing.TB, priv *rsa.PrivateKey, kid, email, phone string) string {
	t.Helper()
	s, err := SignToken(priv, kid, email, phone, 5*time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAuthenticateRefuses covers every 401 cause of SPEC §3 and the attacks
// of issue 4, each with the exact message the caller gets.
func TestAuthenticateRefuses(t *testing.T) {
	f := newFixture(t, Options{})
	valid := rs256(t, privA, "ka", claimsAt(emailA, phoneA))
	hdr := func(tok string) string { return FormatHeader("ka", tok, "status") }

	// A token whose payload is swapped for another user's after signing.
	parts := strings.Split(valid, ".")
	otherPayload := strings.Split(rs256(t, privA, "ka", claimsAt(emailA2, phoneA2)), ".")[1]
	tampered := parts[0] + "." + otherPayload + "." + parts[2]
	// A token whose payload is altered by one bit.
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(payload), "case.manager")
	payload[i] ^= 1 // 'c' becomes 'b': still valid JSON
	flipped := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]

	pubPEM, err := registry.EncodePublicKey(&privA.PublicKey)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, header, endpoint, want string
	}{
		{"no header", "", "status",
			"missing_authorization: no Authorization header; expected Signature keyId=..., algorithm=..., type=..."},
		{"Bearer scheme", "Bearer " + valid, "status", `malformed_authorization: authorization scheme "Bearer" is not Signature`},
		{"unparsable header", `Signature keyId="ka|` + valid, "status", `malformed_authorization: parameter "keyId": unterminated quoted string`},
		{"duplicate parameter", hdr(valid) + ` type="status"`, "status", `malformed_authorization: parameter "type" given twice`},
		{"wrong algorithm parameter", strings.Replace(hdr(valid), `algorithm="RS256"`, `algorithm="HS256"`, 1), "status",
			`bad_algorithm: algorithm "HS256" is not RS256`},
		{"algorithm parameter in lower case", strings.Replace(hdr(valid), `algorithm="RS256"`, `algorithm="rs256"`, 1), "status",
			`bad_algorithm: algorithm "rs256" is not RS256`},
		{"wrong type", hdr(valid), "admin", `bad_type: type "status" is not "admin"`},
		{"keyId without separators", `Signature keyId="ka" algorithm="RS256" type="status"`, "status",
			`malformed_key_id: keyId must have the form "<unique_key_id>|<token>|RS256"`},
		{"keyId with four parts", `Signature keyId="ka|` + valid + `|RS256|x" algorithm="RS256" type="status"`, "status",
			`malformed_key_id: keyId must have the form "<unique_key_id>|<token>|RS256"`},
		{"keyId with empty key id", `Signature keyId="|` + valid + `|RS256" algorithm="RS256" type="status"`, "status",
			"malformed_key_id: keyId has an empty unique_key_id or token"},
		{"keyId naming another algorithm", `Signature keyId="ka|` + valid + `|HS256" algorithm="RS256" type="status"`, "status",
			`bad_algorithm: keyId names algorithm "HS256", not RS256`},
		{"unknown key", FormatHeader("nope", valid, "status"), "status", `unknown_key: no key "nope" is registered`},
		{"revoked key", FormatHeader("ka-old", rs256(t, privAOld, "ka-old", claimsAt(emailA, phoneA)), "status"), "status",
			`revoked_key: key "ka-old" is revoked`},
		{"garbage token", hdr("garbage"), "status", "malformed_token: token is not a well-formed JWT"},
		{"garbage in three parts", hdr("a.b.c"), "status", "malformed_token: token is not a well-formed JWT"},
		{"alg none", hdr(token(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "ka", claimsAt(emailA, phoneA))), "status",
			`bad_token_algorithm: token alg "none" is not RS256`},
		{"HS256 keyed with the public key", hdr(token(t, jwt.SigningMethodHS256, pubPEM, "ka", claimsAt(emailA, phoneA))), "status",
			`bad_token_algorithm: token alg "HS256" is not RS256`},
		{"PS256 by the right key", hdr(token(t, jwt.SigningMethodPS256, privA, "ka", claimsAt(emailA, phoneA))), "status",
			`bad_token_algorithm: token alg "PS256" is not RS256`},
		{"unknown alg", hdr(withHeader(t, valid, `{"alg":"XX256","typ":"JWT"}`)), "status",
			`bad_token_algorithm: token alg "XX256" is not RS256`},
		{"no alg", hdr(withHeader(t, valid, `{"typ":"JWT"}`)), "status",
			"bad_token_algorithm: token has no alg header; RS256 required"},
		{"signed by another institution's key", hdr(rs256(t, privB, "ka", claimsAt(emailA, phoneA))), "status",
			"bad_signature: token signature does not verify with the registered key"},
		{"signed by the institution's revoked key", hdr(rs256(t, privAOld, "ka", claimsAt(emailA, phoneA))), "status",
			"bad_signature: token signature does not verify with the registered key"},
		{"another key's token", hdr(rs256(t, privB, "kb", claimsAt(emailB, phoneB))), "status",
			`kid_mismatch: token kid "kb" does not match key "ka"`},
		{"kid not a string", hdr(withKid(t, privA, 7)), "status",
			`kid_mismatch: token kid "7" does not match key "ka"`},
		{"payload swapped", hdr(tampered), "status", "bad_signature: token signature does not verify with the registered key"},
		{"payload bit flipped", hdr(flipped), "status", "bad_signature: token signature does not verify with the registered key"},
		{"signature cut", hdr(parts[0] + "." + parts[1] + "."), "status", "bad_signature: token signature does not verify with the registered key"},
		{"expired", hdr(rs256(t, privA, "ka", claimsAt(emailA, phoneA).with("exp", now.Add(-61*time.Second).Unix()))), "status",
			"expired: token expired at 2025-03-01T09:58:59Z"},
		{"not yet valid", hdr(rs256(t, privA, "ka", claimsAt(emailA, phoneA).with("nbf", now.Add(61*time.Second).Unix()))), "status",
			"not_yet_valid: token is not valid before 2025-03-01T10:01:01Z"},
		{"issued in the future", hdr(rs256(t, privA, "ka", claimsAt(emailA, phoneA).with("iat", now.Add(2*time.Minute).Unix()))), "status",
			"issued_in_future: token is issued in the future, at 2025-03-01T10:02:00Z"},
		{"exp not a number", hdr(rs256(t, privA, "ka", claimsAt(emailA, phoneA).with("exp", "tomorrow"))), "status",
			"malformed_token: token is not a well-formed JWT"},
		{"nbf beyond year 9999", hdr(rs256(t, privA, "ka", claimsAt(emailA, phoneA).with("nbf", 1e30))), "status",
			"malformed_token: token claim nbf is out of range"},
		{"no email", hdr(rs256(t, privA, "ka", claimsAt(emailA, phoneA).with("email", nil))), "status",
			"missing_claims: token must carry the claims email and phone"},
		{"no phone", hdr(rs256(t, privA, "ka", claimsAt(emailA, phoneA).with("phone", nil))), "status",
			"missing_claims: token must carry the claims email and phone"},
		{"no claims at all", hdr(rs256(t, privA, "ka", testClaims{})), "status",
			"missing_claims: token must carry the claims email and phone"},
		{"user of another institution", hdr(rs256(t, privA, "ka", claimsAt(emailB, phoneB))), "status",
			`unknown_user: email and phone of the token are not a registered user of institution "A"`},
		{"email and phone of two different users", hdr(rs256(t, privA, "ka", claimsAt(emailA, phoneA2))), "status",
			`unknown_user: email and phone of the token are not a registered user of institution "A"`},
		{"unregistered email", hdr(rs256(t, privA, "ka", claimsAt("mallory@a.example", phoneA))), "status",
			`unknown_user: email and phone of the token are not a registered user of institution "A"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.v.Authenticate(tt.header, tt.endpoint)
			if err == nil {
				t.Fatalf("Authenticate accepted it as %+v", p)
			}
			if err.Error() != tt.want {
				t.Errorf("Authenticate error\n%s\nwant\n%s", err, tt.want)
			}
			authErr, ok := err.(*Error)
			if !ok {
				t.Fatalf("error is %T, want *Error", err)
			}
			if check, _, _ := strings.Cut(tt.want, ":"); authErr.Check != check {
				t.Errorf("Check = %q, want %q", authErr.Check, check)
			}
			if p != (Principal{}) {
				t.Errorf("a refused request yields principal %+v", p)
			}
		})
	}
}

// withHeader replaces the JOSE header of a token, keeping payload and
// signature.
func withHeader(t testing.TB, tok, header string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + parts[1] + "." + parts[2]
}

// withKid returns a token for user A signed by key with a kid of any type.
func withKid(t testing.TB, key *rsa.PrivateKey, kid any) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claimsAt(emailA, phoneA)))
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthenticateOptions(t *testing.T) {
	noExp := claimsAt(emailA, phoneA).with("exp", nil)
	tests := []struct {
		name   string
		opts   Options
		claims testClaims
		want   string // "" for success
	}{
		{"exp optional by default", Options{}, noExp, ""},
		{"--require-exp", Options{RequireExp: true}, noExp, "missing_exp: token must carry an exp claim"},
		{"--require-exp with exp", Options{RequireExp: true}, claimsAt(emailA, phoneA), ""},
		{"--max-token-age, fresh token", Options{MaxTokenAge: 5 * time.Minute}, claimsAt(emailA, phoneA), ""},
		{"--max-token-age, old token", Options{MaxTokenAge: 5 * time.Minute},
			claimsAt(emailA, phoneA).with("iat", now.Add(-7*time.Minute).Unix(), "exp", now.Add(time.Minute).Unix()),
			"token_too_old: token was issued 7m0s ago, more than the allowed 5m0s"},
		{"--max-token-age, old token within leeway", Options{MaxTokenAge: 5 * time.Minute},
			claimsAt(emailA, phoneA).with("iat", now.Add(-330*time.Second).Unix(), "exp", now.Add(-30*time.Second).Unix()), ""},
		{"--max-token-age, long-lived token", Options{MaxTokenAge: 5 * time.Minute},
			claimsAt(emailA, phoneA).with("exp", now.Add(time.Hour).Unix()),
			"token_lifetime_too_long: token is valid for 1h0m0s after iat, more than the allowed 5m0s"},
		{"--max-token-age, no iat", Options{MaxTokenAge: 5 * time.Minute}, claimsAt(emailA, phoneA).with("iat", nil),
			"missing_iat: token must carry an iat claim (tokens may be at most 5m0s old)"},
		{"no leeway", Options{Leeway: -1}, claimsAt(emailA, phoneA).with("exp", now.Add(-time.Second).Unix()),
			"expired: token expired at 2025-03-01T09:59:59Z"},
		{"longer leeway", Options{Leeway: 10 * time.Minute}, claimsAt(emailA, phoneA).with("exp", now.Add(-9*time.Minute).Unix()), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.opts)
			_, err := f.v.Authenticate(FormatHeader("ka", rs256(t, privA, "ka", tt.claims), "status"), "status")
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Authenticate: %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("Authenticate error %v, want %s", err, tt.want)
			}
		})
	}
}

// TestRegistryChangesApplyToRunningVerifier revokes and removes keys in the
// file while the verifier runs.
func TestRegistryChangesApplyToRunningVerifier(t *testing.T) {
	f := newFixture(t, Options{})
	hdr := FormatHeader("ka", rs256(t, privA, "ka", claimsAt(emailA, phoneA)), "status")
	hdrB := FormatHeader("kb", rs256(t, privB, "kb", claimsAt(emailB, phoneB)), "status")
	if _, err := f.v.Authenticate(hdr, "status"); err != nil {
		t.Fatal(err)
	}

	if err := registry.RevokeKey(f.path, "ka"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.Authenticate(hdr, "status"); err == nil || err.Error() != `revoked_key: key "ka" is revoked` {
		t.Fatalf("after revocation: %v", err)
	}

	// Remove institution B's key from the file by hand.
	data, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "      - id: kb\n")
	if start < 0 {
		t.Fatalf("key kb not found in\n%s", text)
	}
	if err := os.WriteFile(f.path, []byte(text[:start]+"      []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.Authenticate(hdrB, "status"); err != nil {
		t.Fatalf("before the reload the key is still in force: %v", err)
	}
	if err := f.store.Reload(); err != nil {
		t.Fatalf("reload after removing the key: %v\n%s", err, text[:start])
	}
	if _, err := f.v.Authenticate(hdrB, "status"); err == nil || err.Error() != `unknown_key: no key "kb" is registered` {
		t.Fatalf("after removal: %v", err)
	}
}

func TestMiddleware(t *testing.T) {
	f := newFixture(t, Options{})
	valid := FormatHeader("ka", rs256(t, privA, "ka", claimsAt(emailA, phoneA)), "status")

	var (
		gotPrincipal Principal
		gotOK        bool
		failed       error
	)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPrincipal, gotOK = PrincipalFrom(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
	fail := func(w http.ResponseWriter, r *http.Request, err error) {
		failed = err
		w.WriteHeader(http.StatusTeapot)
	}
	h := Middleware(f.v, "status", fail)(next)

	tests := []struct {
		name    string
		headers []string
		code    int
		want    string // error, or "" for success
	}{
		{"valid", []string{valid}, http.StatusNoContent, ""},
		{"none", nil, http.StatusTeapot, "missing_authorization: no Authorization header; expected Signature keyId=..., algorithm=..., type=..."},
		{"two", []string{valid, valid}, http.StatusTeapot, "malformed_authorization: 2 Authorization headers; send exactly one"},
		{"wrong type", []string{strings.Replace(valid, `type="status"`, `type="other"`, 1)}, http.StatusTeapot, `bad_type: type "other" is not "status"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotPrincipal, gotOK, failed = Principal{}, false, nil
			req := httptest.NewRequest(http.MethodPost, "/status", nil)
			for _, v := range tt.headers {
				req.Header.Add("Authorization", v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Errorf("status %d, want %d", rec.Code, tt.code)
			}
			if tt.want == "" {
				want := Principal{InstitutionID: "A", KeyID: "ka", Email: emailA, Phone: phoneA}
				if failed != nil || !gotOK || gotPrincipal != want {
					t.Errorf("principal %+v (%v), fail %v; want %+v", gotPrincipal, gotOK, failed, want)
				}
				return
			}
			if gotOK {
				t.Error("the next handler ran for a refused request")
			}
			if failed == nil || failed.Error() != tt.want {
				t.Errorf("fail got %v, want %s", failed, tt.want)
			}
		})
	}

	t.Run("default failure response", func(t *testing.T) {
		rec := httptest.NewRecorder()
		Middleware(f.v, "status", nil)(next).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/status", nil))
		if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != "Signature" {
			t.Errorf("status %d, WWW-Authenticate %q; want 401, Signature", rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
	})
}

func TestPrincipalContext(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if _, ok := PrincipalFrom(req.Context()); ok {
		t.Error("principal in a fresh context")
	}
	want := Principal{InstitutionID: "A", KeyID: "ka", Email: emailA, Phone: phoneA}
	if got, ok := PrincipalFrom(WithPrincipal(req.Context(), want)); !ok || got != want {
		t.Errorf("PrincipalFrom = %+v, %v", got, ok)
	}
}

func TestSignTokenClaims(t *testing.T) {
	testKeys(t)
	s := signToken(t, privA, "ka", emailA, phoneA)
	var c claims
	tok, err := jwt.NewParser(jwt.WithTimeFunc(func() time.Time { return now })).ParseWithClaims(s, &c, func(*jwt.Token) (any, error) {
		return &privA.PublicKey, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Method.Alg() != "RS256" || tok.Header["kid"] != "ka" || c.Email != emailA || c.phone() != phoneA ||
		!numericDate(c.Iat).Equal(now) || !numericDate(c.Nbf).Equal(now) || !numericDate(c.Exp).Equal(now.Add(5*time.Minute)) {
		t.Errorf("token header %v, claims %+v", tok.Header, c)
	}
	if _, err := SignToken(privA, "ka", emailA, phoneA, 0, now); err == nil {
		t.Error("SignToken accepted a zero ttl")
	}
}
