package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Typed search attributes a dispute keeps up to date, so that case managers
// can filter disputes in the Temporal UI and the admin API can list them from
// visibility.
var (
	StatusKey           = temporal.NewSearchAttributeKeyKeyword("DisputeStatus")
	TypeKey             = temporal.NewSearchAttributeKeyKeyword("DisputeType")
	InstitutionKey      = temporal.NewSearchAttributeKeyKeyword("DisputeInstitution")
	DeadlineBreachedKey = temporal.NewSearchAttributeKeyBool("DisputeDeadlineBreached")
	UpdatedAtKey        = temporal.NewSearchAttributeKeyTime("DisputeUpdatedAt")
)

// SearchAttributeTypes returns the custom search attributes with their types,
// as a namespace needs them registered before any dispute starts.
func SearchAttributeTypes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		StatusKey.GetName():           enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		TypeKey.GetName():             enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		InstitutionKey.GetName():      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		DeadlineBreachedKey.GetName(): enumspb.INDEXED_VALUE_TYPE_BOOL,
		UpdatedAtKey.GetName():        enumspb.INDEXED_VALUE_TYPE_DATETIME,
	}
}
