package activities

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// SignatureHeader carries the signature of a webhook body.
const SignatureHeader = "X-ODR-Signature"

const signaturePrefix = "sha256="

// Sign returns the value of SignatureHeader for body: "sha256=" and the hex
// HMAC-SHA256 of the raw body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports whether header is the signature of body under
// secret. It compares in constant time, so a receiver using it does not leak
// how much of a forged signature was right.
func VerifySignature(secret, body []byte, header string) bool {
	got, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return false
	}
	sum, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(sum, mac.Sum(nil))
}
