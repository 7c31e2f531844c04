package registry

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gofrs/flock"
	"gopkg.in/yaml.v3"
)

// The write operations behind `odr institution` and `odr key`. Each one
//
//   - holds an exclusive lock on "<file>.lock" from read to rename, so
//     concurrent writers (two CLI calls, or the CLI and `odr dev`) are applied
//     one after the other and none is lost;
//   - edits the YAML node tree, so comments and layout of a hand-edited file
//     survive;
//   - validates the complete result with Parse before writing, so a refused
//     input leaves the file untouched;
//   - replaces the file atomically (temporary file, fsync, rename), so a
//     reader such as a Store never sees half a file.
//
// A missing file is created (mode 0600, as it holds users' contact data);
// an existing file keeps its mode.

// Errors the writers wrap, for callers that map them to exit codes.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

// InstitutionInput describes a new institution and its first user, as given
// to `odr institution add`.
type InstitutionInput struct {
	ID    string
	Name  string
	Email string
	Phone string
}

// AddInstitution registers a new institution with one user.
func AddInstitution(path string, in InstitutionInput) error {
	if err := ValidateInstitutionID(in.ID); err != nil {
		return err
	}
	if in.Name == "" {
		return errors.New("institution name is required")
	}
	if err := validateUser(in.Email, in.Phone); err != nil {
		return err
	}
	return update(path, func(root *yaml.Node, reg *Registry) (bool, error) {
		if _, ok := reg.Institution(in.ID); ok {
			return false, fmt.Errorf("institution %q: %w", in.ID, ErrExists)
		}
		inst := mappingNode(
			field{fieldID, strNode(in.ID)},
			field{fieldName, strNode(in.Name)},
			field{fieldUsers, seqNode(userNode(in.Email, in.Phone))},
			field{fieldKeys, seqNode()},
		)
		appendItem(institutionsNode(root), inst)
		return true, nil
	})
}

// AddUser registers another user (email and phone) for an institution.
func AddUser(path, instID, email, phone string) error {
	if err := validateUser(email, phone); err != nil {
		return err
	}
	return update(path, func(root *yaml.Node, reg *Registry) (bool, error) {
		inst, ok := reg.Institution(instID)
		if !ok {
			return false, fmt.Errorf("institution %q: %w", instID, ErrNotFound)
		}
		if inst.HasUser(email, phone) {
			return false, fmt.Errorf("user %s / %s of institution %q: %w", email, phone, instID, ErrExists)
		}
		n, err := institutionNode(root, instID)
		if err != nil {
			return false, err
		}
		appendItem(listField(n, fieldUsers), userNode(email, phone))
		return true, nil
	})
}

// AddKey registers the PEM-encoded RSA public key pemBytes for an institution
// under keyID, or under a random 128-bit hex id when keyID is "", and returns
// the id. The key is stored in canonical PKIX PEM form.
func AddKey(path, instID string, pemBytes []byte, keyID string) (string, error) {
	pub, err := ParsePublicKey(pemBytes)
	if err != nil {
		return "", fmt.Errorf("public key: %w", err)
	}
	canonical, err := EncodePublicKey(pub)
	if err != nil {
		return "", err
	}
	if keyID == "" {
		if keyID, err = NewKeyID(); err != nil {
			return "", err
		}
	} else if err := ValidateKeyID(keyID); err != nil {
		return "", err
	}
	err = update(path, func(root *yaml.Node, reg *Registry) (bool, error) {
		if _, ok := reg.Institution(instID); !ok {
			return false, fmt.Errorf("institution %q: %w", instID, ErrNotFound)
		}
		if k, ok := reg.Key(keyID); ok {
			return false, fmt.Errorf("key %q (institution %q): %w", keyID, k.InstitutionID, ErrExists)
		}
		for _, inst := range reg.institutions {
			for _, k := range inst.Keys {
				if k.Public.Equal(pub) {
					return false, fmt.Errorf("this public key is already registered as key %q of institution %q: %w", k.ID, k.InstitutionID, ErrExists)
				}
			}
		}
		pemNode := strNode(string(canonical))
		pemNode.Style = yaml.LiteralStyle
		n, err := institutionNode(root, instID)
		if err != nil {
			return false, err
		}
		key := mappingNode(
			field{fieldID, strNode(keyID)},
			field{fieldPublicKey, pemNode},
			field{fieldRevoked, boolNode(false)},
		)
		appendItem(listField(n, fieldKeys), key)
		return true, nil
	})
	if err != nil {
		return "", err
	}
	return keyID, nil
}

// RevokeKey marks a key revoked; tokens it signed are refused from the next
// reload on. Revoking a revoked key succeeds without rewriting the file.
func RevokeKey(path, keyID string) error {
	return update(path, func(root *yaml.Node, reg *Registry) (bool, error) {
		k, ok := reg.Key(keyID)
		if !ok {
			return false, fmt.Errorf("key %q: %w", keyID, ErrNotFound)
		}
		if k.Revoked {
			return false, nil
		}
		n, err := institutionNode(root, k.InstitutionID)
		if err != nil {
			return false, err
		}
		for _, kn := range listField(n, fieldKeys).Content {
			kn = resolve(kn)
			if v := fieldValue(kn, fieldID); v != nil && v.Value == keyID {
				setField(kn, fieldRevoked, boolNode(true))
				return true, nil
			}
		}
		return false, fmt.Errorf("registry: key %q missing from the YAML tree of a valid file", keyID)
	})
}

// NewKeyID returns a random 128-bit unique_key_id in hex.
func NewKeyID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate key id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func validateUser(email, phone string) error {
	return errors.Join(ValidateEmail(email), ValidatePhone(phone))
}

// update applies edit to the registry file under the file lock. edit gets the
// document tree and the validated registry it represents, and reports
// whether it changed anything.
func update(path string, edit func(root *yaml.Node, reg *Registry) (bool, error)) error {
	// Edit the file a symlink points to: renaming over the link would
	// replace it with a regular file and detach it from its target. The
	// lock is the target's too, so writers using either name exclude each
	// other.
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	lock := flock.New(path + ".lock")
	if err := lock.Lock(); err != nil {
		return fmt.Errorf("lock registry: %w", err)
	}
	defer lock.Close()

	mode := fs.FileMode(0o600)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data = nil
	case err != nil:
		return fmt.Errorf("read registry: %w", err)
	default:
		if fi, err := os.Stat(path); err == nil {
			mode = fi.Mode().Perm()
		}
	}

	root, err := parseNode(data)
	if err != nil {
		return fmt.Errorf("registry %s is invalid, fix it first: %w", path, err)
	}
	reg := &Registry{}
	if root == nil {
		root = newDocument()
	} else if reg, err = Parse(data); err != nil {
		return fmt.Errorf("registry %s is invalid, fix it first: %w", path, err)
	}

	changed, err := edit(root, reg)
	if err != nil || !changed {
		return err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("encode registry: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode registry: %w", err)
	}
	if _, err := Parse(buf.Bytes()); err != nil {
		return fmt.Errorf("refusing to write an invalid registry: %w", err)
	}
	return writeAtomic(path, buf.Bytes(), mode)
}

// writeAtomic replaces path with data so that readers see either the old or
// the new content, never a mix, and the new content survives a crash.
func writeAtomic(path string, data []byte, mode fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write registry: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write registry: %w", err)
	}
	if err = f.Chmod(mode); err != nil {
		return fmt.Errorf("write registry: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write registry: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write registry: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write registry: %w", err)
	}
	// Persist the rename itself; failing to is not worth failing the write
	// that other processes can already see.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// YAML tree helpers. They operate on a document Parse has accepted, so the
// shapes they expect are guaranteed.

func newDocument() *yaml.Node {
	return &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{
		mappingNode(field{fieldInstitutions, seqNode()}),
	}}
}

// institutionsNode returns the institutions list of the document, creating
// it if the document has none yet.
func institutionsNode(root *yaml.Node) *yaml.Node {
	return listField(resolve(root.Content[0]), fieldInstitutions)
}

// institutionNode returns the mapping of the institution with the given id.
// Callers have found the institution in the parsed registry, so a miss here
// is an internal inconsistency rather than a user error.
func institutionNode(root *yaml.Node, id string) (*yaml.Node, error) {
	for _, n := range institutionsNode(root).Content {
		n = resolve(n)
		if v := fieldValue(n, fieldID); v != nil && v.Value == id {
			return n, nil
		}
	}
	return nil, fmt.Errorf("registry: institution %q missing from the YAML tree of a valid file", id)
}

// listField returns the list under key in mapping m, turning an absent or
// null value into an empty list.
func listField(m *yaml.Node, key string) *yaml.Node {
	if v := fieldValue(m, key); v != nil && resolve(v).Kind == yaml.SequenceNode {
		return resolve(v)
	}
	seq := seqNode()
	setField(m, key, seq)
	return seq
}

func fieldValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setField(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, strNode(key), v)
}

// appendItem appends to a list, switching an empty flow list ("[]") to
// block style so that entries are written one per line.
func appendItem(seq, item *yaml.Node) {
	seq.Style &^= yaml.FlowStyle
	seq.Content = append(seq.Content, item)
}

func userNode(email, phone string) *yaml.Node {
	n := mappingNode(field{fieldEmail, strNode(email)}, field{fieldPhone, strNode(phone)})
	n.Style = yaml.FlowStyle // one line per user, as in SPEC §5
	return n
}

// field is one key and value of a mapping node under construction.
type field struct {
	key   string
	value *yaml.Node
}

func mappingNode(fields ...field) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, f := range fields {
		n.Content = append(n.Content, strNode(f.key), f.value)
	}
	return n
}

func seqNode(items ...*yaml.Node) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
	if len(items) == 0 {
		n.Style = yaml.FlowStyle
	}
	return n
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func boolNode(b bool) *yaml.Node {
	v := "false"
	if b {
		v = "true"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: v}
}
