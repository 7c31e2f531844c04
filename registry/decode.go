package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// The registry file is decoded by walking the YAML node tree rather than by
// yaml.Unmarshal into structs: that way every problem can name the entry and
// line it concerns in the file's own vocabulary, and a misspelt field
// ("publickey") is an error instead of a silently missing key.

// YAML field names of SPEC §5.
const (
	fieldInstitutions = "institutions"
	fieldID           = "id"
	fieldName         = "name"
	fieldUsers        = "users"
	fieldKeys         = "keys"
	fieldEmail        = "email"
	fieldPhone        = "phone"
	fieldPublicKey    = "publicKey"
	fieldRevoked      = "revoked"
)

type document struct {
	institutions []docInstitution
}

type docInstitution struct {
	line     int
	id, name string
	users    []docUser
	keys     []docKey
}

type docUser struct {
	line         int
	email, phone string
}

type docKey struct {
	line          int
	id, publicKey string
	revoked       bool
}

// decodeDocument parses data and checks the shape of the document; the
// contents of the fields are validated by build.
func decodeDocument(data []byte) (*document, error) {
	root, err := parseNode(data)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, errors.New("registry is empty: expected a mapping with an institutions list")
	}
	var d decoder
	doc := d.document(root)
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	return doc, nil
}

// parseNode parses a single YAML document and returns its top node, or nil
// for a document without content.
func parseNode(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse YAML: the file must hold exactly one YAML document")
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil, nil
	}
	return &root, nil
}

type decoder struct {
	errs []error
}

func (d *decoder) fail(n *yaml.Node, where, format string, args ...any) {
	d.errs = append(d.errs, fmt.Errorf("line %d: %s: %s", n.Line, where, fmt.Sprintf(format, args...)))
}

func (d *decoder) document(root *yaml.Node) *document {
	doc := &document{}
	top := resolve(root.Content[0])
	fields, ok := d.mapping(top, "top level", fieldInstitutions)
	if !ok {
		return doc
	}
	insts, ok := fields[fieldInstitutions]
	if !ok {
		d.fail(top, "top level", "field %q is required", fieldInstitutions)
		return doc
	}
	for i, n := range d.sequence(insts, fieldInstitutions) {
		doc.institutions = append(doc.institutions, d.institution(n, fmt.Sprintf("institutions[%d]", i)))
	}
	return doc
}

func (d *decoder) institution(n *yaml.Node, where string) docInstitution {
	inst := docInstitution{line: n.Line}
	where = withID(where, n)
	fields, ok := d.mapping(n, where, fieldID, fieldName, fieldUsers, fieldKeys)
	if !ok {
		return inst
	}
	inst.id = d.str(fields[fieldID], where+": id")
	inst.name = d.str(fields[fieldName], where+": name")
	for j, un := range d.sequence(fields[fieldUsers], where+": users") {
		uwhere := fmt.Sprintf("%s: users[%d]", where, j)
		u := docUser{line: un.Line}
		if uf, ok := d.mapping(un, uwhere, fieldEmail, fieldPhone); ok {
			u.email = d.str(uf[fieldEmail], uwhere+": email")
			u.phone = d.str(uf[fieldPhone], uwhere+": phone")
		}
		inst.users = append(inst.users, u)
	}
	for j, kn := range d.sequence(fields[fieldKeys], where+": keys") {
		kwhere := withID(fmt.Sprintf("%s: keys[%d]", where, j), kn)
		k := docKey{line: kn.Line}
		if kf, ok := d.mapping(kn, kwhere, fieldID, fieldPublicKey, fieldRevoked); ok {
			k.id = d.str(kf[fieldID], kwhere+": id")
			k.publicKey = d.str(kf[fieldPublicKey], kwhere+": publicKey")
			k.revoked = d.boolean(kf[fieldRevoked], kwhere+": revoked")
		}
		inst.keys = append(inst.keys, k)
	}
	return inst
}

// withID appends the id of entry n to where, if n has a plain id, so that
// messages name entries the way operators know them.
func withID(where string, n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return where
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], resolve(n.Content[i+1]); k.Value == fieldID && v.Kind == yaml.ScalarNode && v.Value != "" {
			return fmt.Sprintf("%s (id %q)", where, v.Value)
		}
	}
	return where
}

// mapping checks that n is a mapping whose keys are all among allowed and
// unique, and returns its values by key.
func (d *decoder) mapping(n *yaml.Node, where string, allowed ...string) (map[string]*yaml.Node, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.fail(n, where, "expected a mapping with fields %s", strings.Join(allowed, ", "))
		return nil, false
	}
	fields := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		known := false
		for _, a := range allowed {
			if k.Value == a {
				known = true
				break
			}
		}
		switch {
		case k.Kind != yaml.ScalarNode || !known:
			d.fail(k, where, "unknown field %q (allowed: %s)", k.Value, strings.Join(allowed, ", "))
		case fields[k.Value] != nil:
			d.fail(k, where, "field %q given twice", k.Value)
		default:
			fields[k.Value] = v
		}
	}
	return fields, true
}

// sequence returns the items of a sequence; an absent or null value is an
// empty sequence.
func (d *decoder) sequence(n *yaml.Node, where string) []*yaml.Node {
	if n == nil {
		return nil
	}
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, where, "expected a list")
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		items[i] = resolve(c)
	}
	return items
}

// str returns a scalar's text; an absent or null value is "". Scalars of any
// tag are accepted as text so that an unquoted phone number such as
// +919800000001 keeps its spelling.
func (d *decoder) str(n *yaml.Node, where string) string {
	if n == nil {
		return ""
	}
	n = resolve(n)
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		d.fail(n, where, "expected a string")
		return ""
	}
	return n.Value
}

func (d *decoder) boolean(n *yaml.Node, where string) bool {
	if n == nil {
		return false
	}
	n = resolve(n)
	if isNull(n) {
		return false
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.fail(n, where, "expected true or false, got %q", n.Value)
		return false
	}
	return b
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}
