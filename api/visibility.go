package api

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/workflows"
)

// disputeAttributes are a dispute's search attributes as visibility returns them.
type disputeAttributes struct {
	Status        string
	InstitutionID string
	DisputeType   string
	UpdatedAt     time.Time
}

func decodeDisputeAttributes(sa *commonpb.SearchAttributes) (disputeAttributes, error) {
	var a disputeAttributes
	dc := converter.GetDefaultDataConverter()
	fields := sa.GetIndexedFields()
	for name, dst := range map[string]any{
		workflows.StatusKey.GetName():      &a.Status,
		workflows.InstitutionKey.GetName(): &a.InstitutionID,
		workflows.TypeKey.GetName():        &a.DisputeType,
		workflows.UpdatedAtKey.GetName():   &a.UpdatedAt,
	} {
		p, ok := fields[name]
		if !ok {
			continue
		}
		if err := dc.FromPayload(p, dst); err != nil {
			return disputeAttributes{}, fmt.Errorf("decode search attribute %s: %w", name, err)
		}
	}
	return a, nil
}

// visibilityValue admits institution ids and dispute types that can be put
// into a visibility query between single quotes without any escaping: the
// query is built only from values that cannot change its structure.
var visibilityValue = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._:@/+-]{0,127}$`)

// ListFilter selects disputes for the admin list.
type ListFilter struct {
	Status      string
	Institution string
	Type        string
}

// visibilityQuery builds the list query from validated filter values.
func (f ListFilter) visibilityQuery() (string, error) {
	clauses := []string{fmt.Sprintf("WorkflowType = '%s'", workflows.WorkflowName)}
	if f.Status != "" {
		s := dispute.Status(strings.ToUpper(strings.TrimSpace(f.Status)))
		if !s.Known() {
			return "", &RequestError{Field: "status", Message: fmt.Sprintf("unknown status %q", f.Status)}
		}
		clauses = append(clauses, fmt.Sprintf("%s = '%s'", workflows.StatusKey.GetName(), s))
	}
	for _, c := range []struct{ field, key, val string }{
		{"institution", workflows.InstitutionKey.GetName(), f.Institution},
		{"type", workflows.TypeKey.GetName(), f.Type},
	} {
		if c.val == "" {
			continue
		}
		if !visibilityValue.MatchString(c.val) {
			return "", &RequestError{Field: c.field, Message: "must be 1-128 letters, digits, spaces or . _ : @ / + -"}
		}
		clauses = append(clauses, fmt.Sprintf("%s = '%s'", c.key, c.val))
	}
	return strings.Join(clauses, " AND "), nil
}
