package registry

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"text/tabwriter"
)

// KeyInfo describes a registered key for `odr key list`.
type KeyInfo struct {
	ID            string
	InstitutionID string
	Bits          int
	// Fingerprint is "SHA256:" and the unpadded base64 SHA-256 of the key's
	// PKIX DER encoding, the form `ssh-keygen -l` prints, so an operator
	// can tell keys apart without comparing PEM blocks.
	Fingerprint string
	Revoked     bool
}

// List returns the keys of the registry file at path in file order.
func List(path string) ([]KeyInfo, error) {
	r, err := Load(path)
	if err != nil {
		return nil, err
	}
	var out []KeyInfo
	for _, inst := range r.institutions {
		for _, k := range inst.Keys {
			fp, err := Fingerprint(k)
			if err != nil {
				return nil, err
			}
			out = append(out, KeyInfo{
				ID:            k.ID,
				InstitutionID: k.InstitutionID,
				Bits:          k.Public.N.BitLen(),
				Fingerprint:   fp,
				Revoked:       k.Revoked,
			})
		}
	}
	return out, nil
}

// Fingerprint returns the SHA-256 fingerprint of a key (see KeyInfo).
func Fingerprint(k Key) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k.Public)
	if err != nil {
		return "", fmt.Errorf("fingerprint key %q: %w", k.ID, err)
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]), nil
}

// WriteKeyTable writes keys as the aligned table `odr key list` prints.
func WriteKeyTable(w io.Writer, keys []KeyInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tINSTITUTION\tBITS\tSTATUS\tFINGERPRINT")
	for _, k := range keys {
		status := "active"
		if k.Revoked {
			status = "revoked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", k.ID, k.InstitutionID, k.Bits, status, k.Fingerprint)
	}
	return tw.Flush()
}
