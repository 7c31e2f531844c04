package auth

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSignatureHeaderAccepts(t *testing.T) {
	tests := []struct {
		name, header string
		want         Params
	}{
		{"seed example", `Signature keyId="8c1f|eyJ.eyJ.sig|RS256" algorithm="RS256" type="status"`,
			Params{KeyID: "8c1f|eyJ.eyJ.sig|RS256", Algorithm: "RS256", Type: "status"}},
		{"seed example with its trailing space", `Signature keyId="k|t|RS256" algorithm="RS256" type="status" `,
			Params{KeyID: "k|t|RS256", Algorithm: "RS256", Type: "status"}},
		{"commas, RFC 7235 style", `Signature keyId="k|t|RS256",algorithm="RS256", type="status"`,
			Params{KeyID: "k|t|RS256", Algorithm: "RS256", Type: "status"}},
		{"any order, any case, tokens unquoted", "signature TYPE=status,\tAlgorithm=RS256 KEYID=k|t|RS256",
			Params{KeyID: "k|t|RS256", Algorithm: "RS256", Type: "status"}},
		{"whitespace around =", `Signature keyId = "k" , algorithm= RS256 ,, type =status`,
			Params{KeyID: "k", Algorithm: "RS256", Type: "status"}},
		{"escapes", `Signature keyId="a\"b\\c\d" algorithm="RS256" type="st atus"`,
			Params{KeyID: `a"b\cd`, Algorithm: "RS256", Type: "st atus"}},
		{"unknown parameters kept aside", `Signature keyId="k" Headers="(request-target) date" algorithm="RS256" type="status" created=1700000000`,
			Params{KeyID: "k", Algorithm: "RS256", Type: "status", Extra: map[string]string{"headers": "(request-target) date", "created": "1700000000"}}},
		{"empty values", `Signature keyId="" algorithm="" type=""`, Params{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSignatureHeader(tt.header)
			if err != nil {
				t.Fatalf("ParseSignatureHeader(%q): %v", tt.header, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseSignatureHeader(%q) = %#v, want %#v", tt.header, got, tt.want)
			}
		})
	}
}

func TestParseSignatureHeaderRejects(t *testing.T) {
	tests := []struct {
		name, header, want string
	}{
		{"empty", "", "missing_authorization: no Authorization header; expected Signature keyId=..., algorithm=..., type=..."},
		{"blank", " \t ", "missing_authorization: no Authorization header; expected Signature keyId=..., algorithm=..., type=..."},
		{"other scheme", "Bearer abc.def.ghi", `malformed_authorization: authorization scheme "Bearer" is not Signature`},
		{"scheme glued to params", `Signature,keyId="k"`, "malformed_authorization: expected parameters after Signature"},
		{"scheme only", "Signature", "malformed_authorization: expected parameters after Signature"},
		{"scheme and separators only", "Signature  , ", "malformed_authorization: parameter keyId is missing"},
		{"duplicate keyId", `Signature keyId="a" keyId="b" algorithm="RS256" type="status"`, `malformed_authorization: parameter "keyId" given twice`},
		{"duplicate differing in case", `Signature keyId="a" algorithm="RS256" ALGORITHM="RS256" type="status"`, `malformed_authorization: parameter "ALGORITHM" given twice`},
		{"duplicate unknown", `Signature x=1 keyId="a" X=2 algorithm="RS256" type="status"`, `malformed_authorization: parameter "X" given twice`},
		{"missing keyId", `Signature algorithm="RS256" type="status"`, "malformed_authorization: parameter keyId is missing"},
		{"missing algorithm", `Signature keyId="k" type="status"`, "malformed_authorization: parameter algorithm is missing"},
		{"missing type", `Signature keyId="k" algorithm="RS256"`, "malformed_authorization: parameter type is missing"},
		{"unterminated", `Signature algorithm="RS256" type="status" keyId="k|t|RS256`, `malformed_authorization: parameter "keyId": unterminated quoted string`},
		{"quote swallowing the next parameter", `Signature keyId="k algorithm="RS256" type="status"`, `malformed_authorization: unexpected 'R' after parameter "keyId"`},
		{"escape at end", `Signature keyId="k\`, `malformed_authorization: parameter "keyId": invalid escape in quoted string`},
		{"control character", "Signature keyId=\"k\x01\" algorithm=\"RS256\" type=\"status\"", `malformed_authorization: parameter "keyId": control character in quoted string`},
		{"escaped control character", "Signature keyId=\"k\\\x00\" algorithm=\"RS256\" type=\"status\"", `malformed_authorization: parameter "keyId": invalid escape in quoted string`},
		{"no value", `Signature keyId=`, `malformed_authorization: parameter "keyId" has no value`},
		{"no =", `Signature keyId "k"`, `malformed_authorization: parameter "keyId" has no value`},
		{"token68", `Signature abc==`, `malformed_authorization: parameter "abc" has no value`},
		{"params glued", `Signature keyId="k"algorithm="RS256" type="status"`, `malformed_authorization: unexpected 'a' after parameter "keyId"`},
		{"bad name", `Signature keyId="k" "x"=1`, `malformed_authorization: unexpected '"' where a parameter name should start`},
		{"too many", "Signature keyId=k algorithm=RS256 type=status" + manyParams(30), "malformed_authorization: more than 32 parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseSignatureHeader(tt.header)
			if err == nil {
				t.Fatalf("ParseSignatureHeader(%q) accepted it: %#v", tt.header, p)
			}
			if err.Error() != tt.want {
				t.Errorf("ParseSignatureHeader(%q) error\n%s\nwant\n%s", tt.header, err, tt.want)
			}
			if _, ok := err.(*Error); !ok {
				t.Errorf("error is %T, want *Error", err)
			}
		})
	}
}

func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(" p")
		b.WriteByte(byte('a' + i%26))
		b.WriteByte(byte('a' + i/26))
		b.WriteString("=1")
	}
	return b.String()
}

func TestParamsString(t *testing.T) {
	p := Params{KeyID: `k|t|RS256`, Algorithm: "RS256", Type: "status", Extra: map[string]string{"zeta": `a"b`, "alpha": `c\d`}}
	want := `Signature keyId="k|t|RS256" algorithm="RS256" type="status" alpha="c\\d" zeta="a\"b"`
	if got := p.String(); got != want {
		t.Errorf("String() = %s\nwant       %s", got, want)
	}
	back, err := ParseSignatureHeader(want)
	if err != nil || !reflect.DeepEqual(back, p) {
		t.Errorf("parsing String() gave %#v, %v; want %#v", back, err, p)
	}
}

func TestFormatHeader(t *testing.T) {
	got := FormatHeader("8c1f0e7a6b2d4c39a0e5f1d2c3b4a596", "eyJh.eyJi.c2ln", "status")
	want := `Signature keyId="8c1f0e7a6b2d4c39a0e5f1d2c3b4a596|eyJh.eyJi.c2ln|RS256" algorithm="RS256" type="status"`
	if got != want {
		t.Errorf("FormatHeader = %s\nwant          %s", got, want)
	}
}

// FuzzParseSignatureHeader checks that the parser never panics and that
// whatever it accepts survives a round trip through String.
func FuzzParseSignatureHeader(f *testing.F) {
	for _, seed := range []string{
		`Signature keyId="8c1f0e7a6b2d4c39a0e5f1d2c3b4a596|eyJhbGciOiJSUzI1NiJ9.eyJlbWFpbCI6ImEifQ.c2ln|RS256" algorithm="RS256" type="status"`,
		`Signature keyId="k|t|RS256",algorithm="RS256", type="status" `,
		"signature TYPE=status,\tAlgorithm=RS256 KEYID=k|t|RS256",
		`Signature keyId="a\"b\\c" algorithm="RS256" type="status" headers="(request-target) date"`,
		`Signature keyId="a" keyId="b" algorithm="RS256" type="status"`,
		`Signature keyId="k\`,
		"Signature keyId=\"\xff\xfe\" algorithm=RS256 type=status",
		"Bearer x",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, h string) {
		p, err := ParseSignatureHeader(h)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %v is %T, want *Error", err, err)
			}
			return
		}
		s := p.String()
		back, err := ParseSignatureHeader(s)
		if err != nil {
			t.Fatalf("accepted %q, but not its canonical form %q: %v", h, s, err)
		}
		if !reflect.DeepEqual(back, p) {
			t.Fatalf("round trip of %q via %q: got %#v, want %#v", h, s, back, p)
		}
		if again := back.String(); again != s {
			t.Fatalf("canonical form not stable: %q then %q", s, again)
		}
	})
}
