// Package registry holds the institution registry of SPEC §5: which ODR
// institutions exist, which users may act for them and which RSA public keys
// they sign their status tokens with.
//
// The registry lives in a YAML file that operators edit with the `odr
// institution` and `odr key` commands (or by hand). A Registry is an
// immutable, validated snapshot of that file with its public keys already
// parsed, so request authentication never touches PEM or ASN.1. A Store keeps
// the current snapshot of a file and replaces it when the file changes.
package registry

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// MinKeyBits is the smallest RSA modulus the registry accepts (SPEC §5).
const MinKeyBits = 2048

// Registry is a validated snapshot of the registry file. It is immutable:
// the slices reachable from it are shared and must not be modified, which is
// what makes it safe to hand to any number of concurrent requests.
type Registry struct {
	institutions []Institution
	byID         map[string]int // institution id -> index in institutions
	keys         map[string]Key // unique_key_id -> key
}

// Institution is an ODR institution with its users and signing keys.
type Institution struct {
	ID    string
	Name  string
	Users []User
	Keys  []Key
}

// User is a person allowed to report status changes for an institution. The
// JWT claims email and phone must name one of them.
type User struct {
	Email string
	Phone string

	emailKey string // NormalizeEmail(Email), computed once at load
	phoneKey string // NormalizePhone(Phone), computed once at load
}

// Key is an institution's RSA public key, addressed by its unique_key_id.
type Key struct {
	ID            string
	InstitutionID string
	Public        *rsa.PublicKey
	Revoked       bool
}

// Key returns the key registered under the unique_key_id keyID, revoked or
// not; callers decide what a revoked key means for them.
func (r *Registry) Key(keyID string) (Key, bool) {
	k, ok := r.keys[keyID]
	return k, ok
}

// Institution returns the institution with the given id.
func (r *Registry) Institution(id string) (Institution, bool) {
	i, ok := r.byID[id]
	if !ok {
		return Institution{}, false
	}
	return r.institutions[i], true
}

// Institutions returns all institutions in file order.
func (r *Registry) Institutions() []Institution {
	return slices.Clone(r.institutions)
}

// HasUser reports whether email and phone, compared as SPEC §5 prescribes,
// belong to one registered user of the institution.
func (inst Institution) HasUser(email, phone string) bool {
	_, ok := inst.LookupUser(email, phone)
	return ok
}

// LookupUser returns the registered user matching email and phone (SPEC §5
// normalisation): the caller gets the spelling on file, not the one sent.
func (inst Institution) LookupUser(email, phone string) (User, bool) {
	e, p := NormalizeEmail(email), NormalizePhone(phone)
	if e == "" || p == "" {
		return User{}, false
	}
	for _, u := range inst.Users {
		if u.emailKey == e && u.phoneKey == p {
			return u, true
		}
	}
	return User{}, false
}

// Load reads and validates the registry file at path.
func Load(path string) (*Registry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read registry: %w", err)
	}
	r, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", path, err)
	}
	return r, nil
}

// Parse validates a registry document and builds a snapshot from it. All
// problems are reported together, each naming the entry (and its line) it
// concerns, so an operator can fix a file in one pass.
func Parse(data []byte) (*Registry, error) {
	doc, err := decodeDocument(data)
	if err != nil {
		return nil, err
	}
	return build(doc)
}

// build validates the decoded document and turns it into a Registry.
func build(doc *document) (*Registry, error) {
	r := &Registry{
		institutions: make([]Institution, 0, len(doc.institutions)),
		byID:         make(map[string]int, len(doc.institutions)),
		keys:         make(map[string]Key),
	}
	var errs []error
	fail := func(line int, where string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("line %d: %s: %s", line, where, fmt.Sprintf(format, args...)))
	}
	keyLine := make(map[string]int)      // unique_key_id -> line of first use
	modulusOf := make(map[string]string) // public modulus -> key id, to refuse a key shared by two entries

	for i, fi := range doc.institutions {
		where := fmt.Sprintf("institutions[%d]", i)
		if fi.id != "" {
			where += fmt.Sprintf(" (id %q)", fi.id)
		}
		if err := ValidateInstitutionID(fi.id); err != nil {
			fail(fi.line, where, "%v", err)
		} else if _, dup := r.byID[fi.id]; dup {
			fail(fi.line, where, "duplicate institution id")
		}
		if strings.TrimSpace(fi.name) == "" {
			fail(fi.line, where, "name is required")
		}

		inst := Institution{ID: fi.id, Name: fi.name}
		seenUser := make(map[[2]string]bool, len(fi.users))
		for j, fu := range fi.users {
			uwhere := fmt.Sprintf("%s: users[%d]", where, j)
			if fu.email != "" {
				uwhere += fmt.Sprintf(" (%s)", fu.email)
			}
			errE, errP := ValidateEmail(fu.email), ValidatePhone(fu.phone)
			if errE != nil {
				fail(fu.line, uwhere, "%v", errE)
			}
			if errP != nil {
				fail(fu.line, uwhere, "%v", errP)
			}
			if errE != nil || errP != nil {
				continue
			}
			u := User{Email: fu.email, Phone: fu.phone, emailKey: NormalizeEmail(fu.email), phoneKey: NormalizePhone(fu.phone)}
			k := [2]string{u.emailKey, u.phoneKey}
			if seenUser[k] {
				fail(fu.line, uwhere, "duplicate user")
				continue
			}
			seenUser[k] = true
			inst.Users = append(inst.Users, u)
		}

		for j, fk := range fi.keys {
			kwhere := fmt.Sprintf("%s: keys[%d]", where, j)
			if fk.id != "" {
				kwhere += fmt.Sprintf(" (id %q)", fk.id)
			}
			if err := ValidateKeyID(fk.id); err != nil {
				fail(fk.line, kwhere, "%v", err)
				continue
			}
			if first, dup := keyLine[fk.id]; dup {
				fail(fk.line, kwhere, "duplicate key id (first used on line %d)", first)
				continue
			}
			keyLine[fk.id] = fk.line
			pub, err := ParsePublicKey([]byte(fk.publicKey))
			if err != nil {
				fail(fk.line, kwhere, "publicKey: %v", err)
				continue
			}
			// One key pair registered twice would let whoever holds it act
			// under either entry, across institutions too.
			n := string(pub.N.Bytes())
			if other, dup := modulusOf[n]; dup {
				fail(fk.line, kwhere, "publicKey is the same key as key %q", other)
				continue
			}
			modulusOf[n] = fk.id
			k := Key{ID: fk.id, InstitutionID: fi.id, Public: pub, Revoked: fk.revoked}
			inst.Keys = append(inst.Keys, k)
			r.keys[k.ID] = k
		}

		if _, dup := r.byID[fi.id]; !dup {
			r.byID[fi.id] = len(r.institutions)
		}
		r.institutions = append(r.institutions, inst)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// ParsePublicKey decodes one PEM-encoded RSA public key ("PUBLIC KEY" as
// written by openssl, or PKCS #1 "RSA PUBLIC KEY") and checks that it is at
// least MinKeyBits long. A private key is refused outright so that it never
// ends up in a registry file.
func ParsePublicKey(pemBytes []byte) (*rsa.PublicKey, error) {
	block, rest := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, errors.New("unexpected data after the PEM block")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		if strings.Contains(block.Type, "PRIVATE KEY") {
			return nil, fmt.Errorf("PEM block %q holds a private key; register the public key only", block.Type)
		}
		return nil, fmt.Errorf("PEM block type %q is not a public key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want an RSA key", key)
	}
	if bits := pub.N.BitLen(); bits < MinKeyBits {
		return nil, fmt.Errorf("RSA key has %d bits, at least %d required", bits, MinKeyBits)
	}
	return pub, nil
}

// EncodePublicKey returns the canonical PEM form ("PUBLIC KEY", PKIX) in
// which the registry stores a key.
func EncodePublicKey(pub *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}
