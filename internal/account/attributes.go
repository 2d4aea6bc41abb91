package account

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Objects that carry custom attributes.
const (
	ObjectAccount = "account"
	ObjectContact = "contact"
)

// AttrType is the inferred type of a custom attribute column.
type AttrType string

// Attribute types, from narrowest to widest; any two different types widen to text.
const (
	TypeUnknown AttrType = ""
	TypeNumber  AttrType = "number"
	TypeBoolean AttrType = "boolean"
	TypeDate    AttrType = "date"
	TypeText    AttrType = "text"
)

// InferType returns the narrowest type that value fits. Numbers with a leading
// zero ("01234", a postcode) are text, because reading them as numbers loses digits.
func InferType(value string) AttrType {
	v := strings.TrimSpace(value)
	switch {
	case v == "":
		return TypeUnknown
	case strings.EqualFold(v, "true") || strings.EqualFold(v, "false"):
		return TypeBoolean
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) &&
		!hasLeadingZero(strings.TrimLeft(v, "+-")) && !strings.ContainsAny(v, "xXpP_") {
		return TypeNumber
	}
	if _, err := ParseDate(v); err == nil {
		return TypeDate
	}
	return TypeText
}

func hasLeadingZero(v string) bool { return len(v) > 1 && v[0] == '0' && v[1] != '.' }

// Widen returns the type that holds values of both a and b.
func Widen(a, b AttrType) AttrType {
	switch {
	case a == b || b == TypeUnknown:
		return a
	case a == TypeUnknown:
		return b
	}
	return TypeText
}

// ParseDate reads an ISO 8601 date (00:00 UTC) or a date-time with an offset.
func ParseDate(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD or an ISO 8601 date-time with offset)", s)
}

// Value reads a stored attribute value as its column's type: float64, bool,
// time.Time or string.
func Value(t AttrType, s string) any {
	switch t {
	case TypeNumber:
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	case TypeBoolean:
		return strings.EqualFold(s, "true")
	case TypeDate:
		if d, err := ParseDate(s); err == nil {
			return d
		}
	}
	return s
}

func attrTable(object string) (table, key string, err error) {
	switch object {
	case ObjectAccount:
		return "account_attributes", "account_id", nil
	case ObjectContact:
		return "contact_attributes", "contact_id", nil
	}
	return "", "", fmt.Errorf("no custom attributes on %q", object)
}

// AttributeTypes returns the declared type of every custom attribute of object.
func AttributeTypes(ctx context.Context, q store.Querier, object string) (map[string]AttrType, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, type FROM attribute_defs WHERE object = $1`, object)
	if err != nil {
		return nil, fmt.Errorf("attribute types: %w", err)
	}
	defer rows.Close()
	out := map[string]AttrType{}
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			return nil, err
		}
		out[n] = AttrType(t)
	}
	return out, rows.Err()
}

// DefineAttributes records that object's attributes hold values of the given
// types, widening what was declared before.
func DefineAttributes(ctx context.Context, q store.Querier, object string, types map[string]AttrType) error {
	known, err := AttributeTypes(ctx, q, object)
	if err != nil {
		return err
	}
	for name, t := range types {
		w := Widen(known[name], t)
		if w == TypeUnknown || w == known[name] {
			continue
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO attribute_defs (object, name, type) VALUES ($1, $2, $3)
			ON CONFLICT (object, name) DO UPDATE SET type = excluded.type`, object, name, string(w)); err != nil {
			return fmt.Errorf("define attribute %s.%s: %w", object, name, err)
		}
	}
	return nil
}

func formatAttr(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(x)
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case time.Time:
		if x.Equal(x.Truncate(24*time.Hour)) && x.Location() == time.UTC {
			return x.Format("2006-01-02")
		}
		return x.Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

// SetAttributes sets the named custom attributes of one object; a nil or
// empty value removes the attribute.
func SetAttributes(ctx context.Context, q store.Querier, object, id string, attrs map[string]any) error {
	table, key, err := attrTable(object)
	if err != nil {
		return err
	}
	types := map[string]AttrType{}
	for name, v := range attrs {
		s := formatAttr(v)
		if s == "" {
			if _, err := q.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+key+` = $1 AND name = $2`, id, name); err != nil {
				return fmt.Errorf("attribute %s: %w", name, err)
			}
			continue
		}
		types[name] = InferType(s)
		if _, err := q.ExecContext(ctx, `INSERT INTO `+table+` (`+key+`, name, value) VALUES ($1, $2, $3)
			ON CONFLICT (`+key+`, name) DO UPDATE SET value = excluded.value`, id, name, s); err != nil {
			return fmt.Errorf("attribute %s: %w", name, err)
		}
	}
	return DefineAttributes(ctx, q, object, types)
}

// Attributes returns the custom attributes of one object, typed by their column's type.
func Attributes(ctx context.Context, q store.Querier, object, id string) (map[string]any, error) {
	table, key, err := attrTable(object)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT v.name, v.value, COALESCE(d.type, 'text') FROM `+table+` v
		LEFT JOIN attribute_defs d ON d.object = $2 AND d.name = v.name
		WHERE v.`+key+` = $1 ORDER BY v.name`, id, object)
	if err != nil {
		return nil, fmt.Errorf("attributes of %s: %w", id, err)
	}
	defer rows.Close()
	out := map[string]any{}
	for rows.Next() {
		var n, v, t string
		if err := rows.Scan(&n, &v, &t); err != nil {
			return nil, err
		}
		out[n] = Value(AttrType(t), v)
	}
	if len(out) == 0 {
		out = nil
	}
	return out, rows.Err()
}

// StageAttributes is the layout of the staging table MergeAttributes reads
// (after the line column): the object's id, the attribute name, and the raw
// value, empty to remove it.
const StageAttributes = `id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL`

// MergeAttributes applies staged attribute values of object.
func MergeAttributes(ctx context.Context, q store.Querier, object, stage string) error {
	table, key, err := attrTable(object)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM `+table+` WHERE EXISTS (SELECT 1 FROM `+stage+` s
		WHERE s.id = `+table+`.`+key+` AND s.name = `+table+`.name AND s.value = '')`); err != nil {
		return fmt.Errorf("merge %s attributes: %w", object, err)
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO `+table+` (`+key+`, name, value)
		SELECT s.id, s.name, s.value FROM `+stage+` s WHERE s.value <> ''
		ON CONFLICT (`+key+`, name) DO UPDATE SET value = excluded.value
		WHERE `+table+`.value <> excluded.value`); err != nil {
		return fmt.Errorf("merge %s attributes: %w", object, err)
	}
	return nil
}
