package auth

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// BenchmarkVerify measures the full check of one request: header parsing,
// registry lookup, JWT decoding and RS256 verification, claim validation and
// the user lookup. Compare it with BenchmarkBareRSAVerify, run in the same
// `go test -bench` invocation: issue 4 bounds the ratio at 1.3.
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b, Options{})
	header := FormatHeader("ka", signToken(b, privA, "ka", emailA, phoneA), "status")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.v.Authenticate(header, "status"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareRSAVerify measures rsa.VerifyPKCS1v15 alone on the same key
// and signature as BenchmarkVerify, with the digest computed beforehand: the
// floor no implementation of the check can go below.
func BenchmarkBareRSAVerify(b *testing.B) {
	testKeys(b)
	tok := signToken(b, privA, "ka", emailA, phoneA)
	dot := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte(tok[:dot]))
	b.ReportAllocs()
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(&privA.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}
